//! Every migration applies, reverts and re-applies cleanly on both backends, and a
//! migrated store is immediately usable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyward_domain::CustomerId;
use keyward_domain::ports::{ActiveKeyCap, ApiKeyRepository, KeyFilter, PageRequest, StorageError};
use keyward_domain::testing::NOW;
use keyward_domain::testing::api_keys::sample_key;
use keyward_store_diesel::testing::TestDatabase;
use keyward_store_diesel::{DieselStore, PoolOptions};

async fn migrations_apply_revert_and_reapply(db: &TestDatabase) {
    // Arrange
    let store = DieselStore::connect(db.url(), PoolOptions::default())
        .await
        .unwrap();
    let customer = CustomerId::generate();
    let listing = || store.list(customer, KeyFilter::default(), PageRequest::default());

    // Act + Assert: up, up again (nothing pending), down, up.
    let applied = store.migrate().await.unwrap();
    assert!(applied > 0, "a fresh database has pending migrations");
    assert_eq!(store.migrate().await.unwrap(), 0);

    assert_eq!(store.revert_all_migrations().await.unwrap(), applied);
    let without_tables = listing().await.unwrap_err();
    assert!(
        matches!(without_tables, StorageError::Other(_)),
        "the tables are gone after reverting: {without_tables:?}"
    );

    assert_eq!(store.migrate().await.unwrap(), applied);
    let key = sample_key(customer, NOW);
    store
        .insert(&key, ActiveKeyCap { max: 10, now: NOW })
        .await
        .unwrap();
    assert_eq!(listing().await.unwrap().items, vec![key]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_migrations_apply_revert_and_reapply() {
    migrations_apply_revert_and_reapply(&TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrations_apply_revert_and_reapply() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    migrations_apply_revert_and_reapply(&db).await;
}

/// A PostgreSQL role that may create tables but not extensions gets a start-up error that
/// names `pg_trgm` and says what to do (issue #9), not just PostgreSQL's message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refused_pg_trgm_is_named_at_migrate() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let admin = DieselStore::connect(db.url(), PoolOptions::default())
        .await
        .unwrap();
    admin
        .execute_sql(
            "DO $$ BEGIN \
             IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'keyward_no_extensions') \
             THEN CREATE ROLE keyward_no_extensions LOGIN; END IF; END $$",
        )
        .await
        .unwrap();
    admin
        .execute_sql("GRANT USAGE, CREATE ON SCHEMA public TO keyward_no_extensions")
        .await
        .unwrap();
    // The same URL with the user swapped: scheme://user[:password]@rest.
    let url = db.url();
    let (scheme, rest) = url.split_once("://").unwrap();
    let (_, host_and_database) = rest.split_once('@').unwrap();
    let limited_url = format!("{scheme}://keyward_no_extensions@{host_and_database}");

    let limited = DieselStore::connect(&limited_url, PoolOptions::default())
        .await
        .unwrap();
    let failure = limited.migrate().await.unwrap_err();
    // What start-up prints: the error and its causes.
    let mut err = failure.to_string();
    let mut cause = std::error::Error::source(&failure);
    while let Some(inner) = cause {
        err = format!("{err}: {inner}");
        cause = inner.source();
    }
    drop(limited);
    drop(admin);

    assert!(
        err.contains("refused the pg_trgm extension") && err.contains("CREATE EXTENSION pg_trgm"),
        "{err}"
    );
    assert!(
        err.contains("permission denied"),
        "PostgreSQL's own reason stays: {err}"
    );
}
