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
