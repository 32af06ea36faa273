//! Beyond the contract suite: a key may not take a hash that another key still accepts
//! as its retired secret, or `find_by_hash` would match two keys.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyward_domain::CustomerId;
use keyward_domain::keys::{ApiKey, RetiredSecret};
use keyward_domain::ports::{ActiveKeyCap, ApiKeyRepository, KeyWriteError, StorageError};
use keyward_domain::testing::NOW;
use keyward_domain::testing::api_keys::sample_key;
use keyward_store_diesel::testing::TestDatabase;
use time::Duration;

const CAP: ActiveKeyCap = ActiveKeyCap { max: 10, now: NOW };

async fn new_key_cannot_reuse_another_keys_retired_hash(store: &dyn ApiKeyRepository) {
    // Arrange: a rotated key whose old secret is still accepted.
    let customer = CustomerId::generate();
    let original = sample_key(customer, NOW);
    let mut parts = original.clone().into_parts();
    parts.retired = Some(RetiredSecret {
        hash: original.hash(),
        valid_until: NOW + Duration::hours(1),
    });
    parts.hash = sample_key(customer, NOW).hash();
    let rotated = ApiKey::from_parts(parts);
    store.insert(&rotated, CAP).await.unwrap();

    // Act: another key arrives carrying the retired hash as its current one.
    let mut parts = sample_key(customer, NOW).into_parts();
    parts.hash = original.hash();
    let impostor = ApiKey::from_parts(parts);
    let err = store.insert(&impostor, CAP).await.unwrap_err();

    // Assert
    assert!(
        matches!(
            err,
            KeyWriteError::Storage(StorageError::Conflict("key_hash"))
        ),
        "{err:?}"
    );
    assert_eq!(
        store.find_by_hash(original.hash()).await.unwrap(),
        Some(rotated)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_new_key_cannot_reuse_another_keys_retired_hash() {
    let db = TestDatabase::sqlite();
    new_key_cannot_reuse_another_keys_retired_hash(&db.migrated_store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_new_key_cannot_reuse_another_keys_retired_hash() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    new_key_cannot_reuse_another_keys_retired_hash(&db.migrated_store().await).await;
}
