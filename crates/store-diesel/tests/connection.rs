//! Opening a store: URL handling, error messages that never show a password, `ping`,
//! and a PostgreSQL outage while running (`Unavailable`, then recovery without a
//! restart).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use keyward_domain::CustomerId;
use keyward_domain::ports::{ActiveKeyCap, ApiKeyRepository, StorageError};
use keyward_domain::testing::NOW;
use keyward_domain::testing::api_keys::sample_key;
use keyward_store_diesel::testing::TestDatabase;
use keyward_store_diesel::{Backend, ConnectError, DieselStore, PoolOptions};

mod proxy;

use proxy::Proxy;

const PASSWORD: &str = "hunter2-very-secret";

fn quick() -> PoolOptions {
    PoolOptions {
        max_size: 2,
        connect_timeout: Duration::from_secs(2),
        ..PoolOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_creates_its_file_and_parent_directories_and_answers_ping() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested/deeper/keyward.db");
    let url = format!("sqlite://{}", file.display());

    // Act
    let store = DieselStore::connect(&url, PoolOptions::default())
        .await
        .unwrap();

    // Assert
    assert_eq!(store.backend(), Backend::Sqlite);
    assert!(file.exists());
    store.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_path_that_cannot_be_created_is_a_connect_error_naming_the_path() {
    // Arrange: the "directory" is a regular file.
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, b"").unwrap();
    let url = format!("sqlite://{}/keyward.db", blocker.display());

    // Act
    let err = DieselStore::connect(&url, quick()).await.unwrap_err();

    // Assert
    let shown = err.to_string();
    assert!(
        matches!(
            err,
            ConnectError::Unreachable {
                backend: Backend::Sqlite,
                ..
            }
        ),
        "{shown}"
    );
    assert!(shown.contains("not-a-directory"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_scheme_is_refused_without_echoing_the_url() {
    let err = DieselStore::connect(&format!("mysql://root:{PASSWORD}@db/keyward"), quick())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectError::UnsupportedScheme { .. }));
    assert!(!format!("{err} {err:?}").contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_postgres_is_a_one_line_connect_error_naming_host_but_not_password() {
    // Arrange: nothing listens on port 1.
    let url = format!("postgres://keyward:{PASSWORD}@127.0.0.1:1/keyward");

    // Act
    let err = DieselStore::connect(&url, quick()).await.unwrap_err();

    // Assert
    let shown = err.to_string();
    assert!(
        matches!(
            err,
            ConnectError::Unreachable {
                backend: Backend::Postgres,
                ..
            }
        ),
        "{shown}"
    );
    assert!(shown.contains("PostgreSQL"), "{shown}");
    assert!(shown.contains("127.0.0.1:1"), "{shown}");
    assert!(!shown.contains('\n'), "{shown}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(!format!("{err:?}").contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_answers_ping() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let store = DieselStore::connect(db.url(), quick()).await.unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    store.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_is_unavailable_and_the_pool_recovers_when_it_returns() {
    // Arrange: a store reaching PostgreSQL through a proxy we can cut, with one key.
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let proxy = Proxy::start(db.url()).await;
    let store = DieselStore::connect(&proxy.url(), quick()).await.unwrap();
    store.migrate().await.unwrap();
    let key = sample_key(CustomerId::generate(), NOW);
    store
        .insert(&key, ActiveKeyCap { max: 10, now: NOW })
        .await
        .unwrap();

    // Act + Assert: while the database is gone, every call is Unavailable.
    proxy.cut().await;
    let during = store.get(key.customer_id(), key.id()).await.unwrap_err();
    assert!(matches!(during, StorageError::Unavailable(_)), "{during:?}");
    let ping = store.ping().await.unwrap_err();
    assert!(matches!(ping, StorageError::Unavailable(_)), "{ping:?}");

    // Act + Assert: once it is back, the same store works again.
    proxy.restore();
    store.ping().await.unwrap();
    assert_eq!(
        store.get(key.customer_id(), key.id()).await.unwrap(),
        Some(key)
    );
}
