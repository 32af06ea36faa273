//! The verification cache over the memory store: what it answers from memory, and that
//! no change — through it, through another instance, or racing a read — leaves it stale.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use keyward_cache::{CacheOptions, CachedKeys, Caches};
use keyward_domain::keys::{ApiKey, ApiKeyParts, KeyHash, RetiredSecret};
use keyward_domain::ports::{
    ActiveKeyCap, ApiKeyRepository, Change, ChangeFeed, ChangeSink, ChangeSubscription, KeyFilter,
    KeyWriteError, LastUseMoved, Page, PageRequest, StorageError,
};
use keyward_domain::testing::NOW;
use keyward_domain::testing::api_keys::sample_key;
use keyward_domain::{CustomerId, KeyId};
use keyward_store_memory::MemoryStore;
use time::{Duration, OffsetDateTime};

/// The memory store, counting the lookups that reach it. `during_lookup` runs after the
/// store answered and before the answer is returned (to play a change racing the read).
struct Counting {
    store: Arc<MemoryStore>,
    lookups: AtomicUsize,
    during_lookup: std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl Counting {
    fn new(store: Arc<MemoryStore>) -> Arc<Self> {
        Arc::new(Self {
            store,
            lookups: AtomicUsize::new(0),
            during_lookup: std::sync::Mutex::new(None),
        })
    }

    fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl ApiKeyRepository for Counting {
    async fn insert(&self, key: &ApiKey, cap: ActiveKeyCap) -> Result<(), KeyWriteError> {
        self.store.insert(key, cap).await
    }
    async fn get(&self, customer: CustomerId, id: KeyId) -> Result<Option<ApiKey>, StorageError> {
        self.store.get(customer, id).await
    }
    async fn find_by_id(&self, id: KeyId) -> Result<Option<ApiKey>, StorageError> {
        self.store.find_by_id(id).await
    }
    async fn find_by_hash(&self, hash: KeyHash) -> Result<Option<ApiKey>, StorageError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let found = self.store.find_by_hash(hash).await;
        let hook = self.during_lookup.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
        found
    }
    async fn list(
        &self,
        customer: CustomerId,
        filter: KeyFilter,
        page: PageRequest,
    ) -> Result<Page<ApiKey>, StorageError> {
        self.store.list(customer, filter, page).await
    }
    async fn update(&self, key: &ApiKey, cap: Option<ActiveKeyCap>) -> Result<(), KeyWriteError> {
        self.store.update(key, cap).await
    }
    async fn delete(&self, customer: CustomerId, id: KeyId) -> Result<bool, StorageError> {
        self.store.delete(customer, id).await
    }
    async fn delete_expired_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<Vec<(CustomerId, KeyId)>, StorageError> {
        self.store.delete_expired_before(cutoff).await
    }
    async fn record_last_used(
        &self,
        uses: &[(KeyId, OffsetDateTime)],
    ) -> Result<Vec<LastUseMoved>, StorageError> {
        self.store.record_last_used(uses).await
    }
}

/// One keyward instance: its caches, subscribed to the shared store's feed.
struct Instance {
    counting: Arc<Counting>,
    caches: Caches,
    keys: CachedKeys,
    _subscription: ChangeSubscription,
}

fn instance(store: &Arc<MemoryStore>) -> Instance {
    let counting = Counting::new(store.clone());
    let caches = Caches::new(CacheOptions::default());
    let subscription = store.subscribe(Arc::new(caches.clone()));
    let keys = CachedKeys::new(counting.clone(), &caches);
    Instance {
        counting,
        caches,
        keys,
        _subscription: subscription,
    }
}

const CAP: ActiveKeyCap = ActiveKeyCap { max: 100, now: NOW };

async fn stored_key(store: &MemoryStore) -> ApiKey {
    let key = sample_key(CustomerId::generate(), NOW);
    store.insert(&key, CAP).await.unwrap();
    key
}

/// `key` as read, changed by `change` (same version: what a service writes back).
fn changed(key: &ApiKey, change: impl FnOnce(&mut ApiKeyParts)) -> ApiKey {
    let mut parts = key.clone().into_parts();
    change(&mut parts);
    ApiKey::from_parts(parts)
}

/// A hash nobody holds.
fn unknown_hash() -> KeyHash {
    sample_key(CustomerId::generate(), NOW).hash()
}

#[tokio::test]
async fn stats_count_what_memory_answered_and_what_the_store_did() {
    let store = Arc::new(MemoryStore::new());
    let key = stored_key(&store).await;
    let app = instance(&store);

    for _ in 0..3 {
        app.keys.find_by_hash(key.hash()).await.unwrap();
    }
    let unknown = unknown_hash();
    for _ in 0..2 {
        app.keys.find_by_hash(unknown).await.unwrap();
    }
    let answering = app.caches.keys().stats();
    app.caches.set_feed_healthy(false);
    app.keys.find_by_hash(key.hash()).await.unwrap();
    let bypassed = app.caches.keys().stats();

    assert_eq!(app.counting.lookups(), 3);
    assert_eq!((answering.hits, answering.misses), (3, 2));
    assert!(answering.answering);
    assert_eq!((bypassed.hits, bypassed.misses), (3, 3));
    assert!(!bypassed.answering);
}

#[tokio::test]
async fn second_lookup_of_a_key_is_answered_from_memory() {
    let store = Arc::new(MemoryStore::new());
    let key = stored_key(&store).await;
    let app = instance(&store);

    let first = app.keys.find_by_hash(key.hash()).await.unwrap();
    let second = app.keys.find_by_hash(key.hash()).await.unwrap();

    assert_eq!(first.as_ref().map(ApiKey::id), Some(key.id()));
    assert_eq!(second, first);
    assert_eq!(app.counting.lookups(), 1);
}

#[tokio::test]
async fn unknown_hash_is_remembered_as_unknown() {
    let store = Arc::new(MemoryStore::new());
    let app = instance(&store);
    let hash = unknown_hash();

    assert_eq!(app.keys.find_by_hash(hash).await.unwrap(), None);
    assert_eq!(app.keys.find_by_hash(hash).await.unwrap(), None);

    assert_eq!(app.counting.lookups(), 1);
}

#[tokio::test]
async fn inserting_a_key_forgets_that_its_hash_was_unknown() {
    let store = Arc::new(MemoryStore::new());
    let app = instance(&store);
    let key = sample_key(CustomerId::generate(), NOW);
    assert_eq!(app.keys.find_by_hash(key.hash()).await.unwrap(), None);

    app.keys.insert(&key, CAP).await.unwrap();

    let found = app.keys.find_by_hash(key.hash()).await.unwrap();
    assert_eq!(found.map(|k| k.id()), Some(key.id()));
}

#[tokio::test]
async fn deactivation_through_the_cache_is_seen_by_the_next_lookup() {
    let store = Arc::new(MemoryStore::new());
    let key = stored_key(&store).await;
    let app = instance(&store);
    assert!(
        app.keys
            .find_by_hash(key.hash())
            .await
            .unwrap()
            .unwrap()
            .is_active()
    );

    app.keys
        .update(&changed(&key, |parts| parts.active = false), None)
        .await
        .unwrap();

    let found = app.keys.find_by_hash(key.hash()).await.unwrap().unwrap();
    assert!(!found.is_active());
    assert_eq!(found.version(), key.version().next());
}

#[tokio::test]
async fn a_change_made_by_another_instance_is_seen() {
    let store = Arc::new(MemoryStore::new());
    let key = stored_key(&store).await;
    let (one, other) = (instance(&store), instance(&store));
    assert!(
        other
            .keys
            .find_by_hash(key.hash())
            .await
            .unwrap()
            .unwrap()
            .is_active()
    );

    one.keys
        .update(&changed(&key, |parts| parts.active = false), None)
        .await
        .unwrap();

    let seen = other.keys.find_by_hash(key.hash()).await.unwrap().unwrap();
    assert!(!seen.is_active());
}

#[tokio::test]
async fn a_change_elsewhere_is_seen_by_a_thread_holding_its_own_copy() {
    // Arrange: the second lookup copies the key for this thread; the third is that copy.
    let store = Arc::new(MemoryStore::new());
    let key = stored_key(&store).await;
    let (one, other) = (instance(&store), instance(&store));
    for _ in 0..3 {
        assert!(other.keys.find_by_hash(key.hash()).await.unwrap().is_some());
    }
    assert_eq!(
        other.counting.lookups(),
        1,
        "answered from memory after the first"
    );

    // Act: deactivated through the other instance, then deleted.
    one.keys
        .update(&changed(&key, |parts| parts.active = false), None)
        .await
        .unwrap();
    let seen = other.keys.find_by_hash(key.hash()).await.unwrap().unwrap();
    let again = other.keys.find_by_hash(key.hash()).await.unwrap().unwrap();
    assert!(one.keys.delete(key.customer_id(), key.id()).await.unwrap());

    // Assert
    assert!(!seen.is_active());
    assert!(!again.is_active());
    assert_eq!(other.keys.find_by_hash(key.hash()).await.unwrap(), None);
}

#[tokio::test]
async fn deletion_by_another_instance_is_seen() {
    let store = Arc::new(MemoryStore::new());
    let key = stored_key(&store).await;
    let (one, other) = (instance(&store), instance(&store));
    assert!(other.keys.find_by_hash(key.hash()).await.unwrap().is_some());

    assert!(one.keys.delete(key.customer_id(), key.id()).await.unwrap());

    assert_eq!(other.keys.find_by_hash(key.hash()).await.unwrap(), None);
}

#[tokio::test]
async fn a_secret_rotated_out_elsewhere_is_no_longer_found() {
    // Arrange: the other instance holds the key under its first secret.
    let store = Arc::new(MemoryStore::new());
    let key = stored_key(&store).await;
    let (one, other) = (instance(&store), instance(&store));
    other.keys.find_by_hash(key.hash()).await.unwrap().unwrap();
    let replacement = sample_key(key.customer_id(), NOW);

    // Act: two rotations with a grace period; the first secret is now two back.
    let rotated = changed(&key, |parts| {
        parts.retired = Some(RetiredSecret {
            hash: parts.hash,
            valid_until: NOW + Duration::hours(1),
        });
        parts.hash = replacement.hash();
    });
    one.keys.update(&rotated, None).await.unwrap();
    let newest = sample_key(key.customer_id(), NOW);
    let rotated_again = changed(&rotated, |parts| {
        parts.version = parts.version.next();
        parts.retired = Some(RetiredSecret {
            hash: parts.hash,
            valid_until: NOW + Duration::hours(1),
        });
        parts.hash = newest.hash();
    });
    one.keys.update(&rotated_again, None).await.unwrap();

    // Assert
    assert_eq!(other.keys.find_by_hash(key.hash()).await.unwrap(), None);
    let by_previous = other.keys.find_by_hash(replacement.hash()).await.unwrap();
    assert_eq!(by_previous.map(|k| k.hash()), Some(newest.hash()));
}

#[tokio::test]
async fn own_change_heard_back_keeps_the_newer_copy() {
    let store = Arc::new(MemoryStore::new());
    let key = stored_key(&store).await;
    let app = instance(&store);
    app.keys
        .update(&changed(&key, |parts| parts.active = false), None)
        .await
        .unwrap();
    app.keys.find_by_hash(key.hash()).await.unwrap();
    let lookups = app.counting.lookups();

    app.caches.apply(Change::Key {
        id: key.id(),
        version: Some(key.version().next()),
    });
    app.keys.find_by_hash(key.hash()).await.unwrap();

    assert_eq!(
        app.counting.lookups(),
        lookups,
        "the copy was already that new"
    );
}

#[tokio::test]
async fn a_read_racing_a_change_does_not_leave_the_old_key_behind() {
    // Arrange: the lookup reads the active key; before it returns, another instance
    // deactivates the key and the change arrives here.
    let store = Arc::new(MemoryStore::new());
    let key = stored_key(&store).await;
    let app = instance(&store);
    let (writer, stale) = (store.clone(), key.clone());
    let caches = app.caches.clone();
    *app.counting.during_lookup.lock().unwrap() = Some(Box::new(move || {
        let deactivated = changed(&stale, |parts| parts.active = false);
        futures_executor_block_on(writer.update(&deactivated, None)).unwrap();
        // The memory feed already told every subscriber; tell ours once more, as a
        // notification arriving late would.
        caches.apply(Change::Key {
            id: stale.id(),
            version: Some(stale.version().next()),
        });
    }));

    // Act
    let raced = app.keys.find_by_hash(key.hash()).await.unwrap().unwrap();
    let after = app.keys.find_by_hash(key.hash()).await.unwrap().unwrap();

    // Assert: the racing read answered what it read, but did not keep it.
    assert!(raced.is_active());
    assert!(!after.is_active());
    assert_eq!(app.counting.lookups(), 2);
}

#[tokio::test]
async fn nothing_is_answered_from_memory_while_the_feed_is_down() {
    let store = Arc::new(MemoryStore::new());
    let key = stored_key(&store).await;
    let app = instance(&store);
    app.keys.find_by_hash(key.hash()).await.unwrap();

    app.caches.set_feed_healthy(false);
    app.keys.find_by_hash(key.hash()).await.unwrap();
    app.keys.find_by_hash(key.hash()).await.unwrap();
    let while_down = app.counting.lookups();
    app.caches.set_feed_healthy(true);
    app.keys.find_by_hash(key.hash()).await.unwrap();
    app.keys.find_by_hash(key.hash()).await.unwrap();

    assert_eq!(
        while_down, 3,
        "every lookup reached the store while the feed was down"
    );
    assert_eq!(
        app.counting.lookups(),
        4,
        "emptied when the feed came back, then cached"
    );
}

#[tokio::test]
async fn caches_start_unusable_until_a_feed_vouches_for_them() {
    let store = Arc::new(MemoryStore::new());
    let key = stored_key(&store).await;
    let counting = Counting::new(store.clone());
    let caches = Caches::new(CacheOptions::default());
    let keys = CachedKeys::new(counting.clone(), &caches);

    keys.find_by_hash(key.hash()).await.unwrap();
    keys.find_by_hash(key.hash()).await.unwrap();

    assert_eq!(counting.lookups(), 2);
}

#[tokio::test]
async fn a_cached_key_is_still_judged_at_read_time() {
    // The cache returns the stored key; whether it is expired is the service's call with
    // its clock, so the cached copy carries the expiry unchanged.
    let store = Arc::new(MemoryStore::new());
    let key = stored_key(&store).await;
    let app = instance(&store);
    app.keys.find_by_hash(key.hash()).await.unwrap();

    let cached = app.keys.find_by_hash(key.hash()).await.unwrap().unwrap();

    assert_eq!(cached.expires_at(), key.expires_at());
    assert!(cached.is_expired_at(key.expires_at().unwrap()));
}

/// Runs a memory-store future (which never waits) to completion on this thread.
fn futures_executor_block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}
