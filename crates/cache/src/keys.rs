//! The verification cache: which key a key hash belongs to, and that key as last read.
//!
//! Two maps, so that a change named by key id (all a change announcement carries — never a
//! hash) drops exactly one entry:
//! - `by_hash`: a presented key's hash → the id of the key it belongs to, or "no such key".
//!   That a hash belongs to a key never stops being true (secrets are random and never
//!   reused), so these entries need no dropping when a key changes; "no such key" is dropped
//!   when a key with that hash is written here.
//! - `by_id`: key id → the key as read, with its version. Dropped on every change to the
//!   key; a change announced with a version keeps a copy that is at least that new.
//!
//! A lookup whose `by_id` entry is missing, or no longer lists the presented hash (the
//! secret was rotated out), is a miss and reads the database. Validity — active, expiry,
//! grace period — is judged by the service at read time, so a cached key expires on time.

use std::sync::Arc;

use async_trait::async_trait;
use keyward_domain::keys::{ApiKey, KeyHash, KeyVersion};
use keyward_domain::ports::{
    ActiveKeyCap, ApiKeyRepository, KeyFilter, KeyWriteError, LastUseMoved, Page, PageRequest,
    StorageError,
};
use keyward_domain::{CustomerId, KeyId};
use moka::ops::compute::Op;
use moka::sync::Cache;
use time::OffsetDateTime;

use crate::freshness::Freshness;
use crate::near::Near;
use crate::stats::{CacheStats, Counters};
use crate::{CacheOptions, Caches};

/// What the cache knows of a presented hash.
#[derive(Debug)]
enum Lookup {
    /// The key it belongs to, as last read.
    Known(ApiKey),
    /// No key has it.
    NoSuchKey,
    /// Nothing usable: ask the database.
    Miss,
}

/// What a key hash was found to be.
#[derive(Debug, Clone, Copy)]
enum Owner {
    Key(KeyId),
    NoSuchKey,
}

/// Remembered answers of `find_by_hash`; see the module docs. Shared by [`CachedKeys`]
/// and the change feed (through [`Caches`]).
pub struct KeyCache {
    /// Keyed by what a client presents (hashed): std's keyed SipHash, which a client
    /// cannot aim collisions at.
    by_hash: Cache<KeyHash, Owner>,
    /// Keyed by ids keyward generated (random UUIDs): the faster foldhash is enough.
    by_id: Cache<KeyId, ApiKey, foldhash::fast::RandomState>,
    /// Each thread's copies of the keys it verified last (see [`crate::near`]).
    near: Near<KeyHash, ApiKey>,
    freshness: Freshness,
    counters: Counters,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("hashes", &self.by_hash.entry_count())
            .field("keys", &self.by_id.entry_count())
            .finish_non_exhaustive()
    }
}

fn holds(key: &ApiKey, hash: KeyHash) -> bool {
    key.hash() == hash || key.retired().is_some_and(|retired| retired.hash == hash)
}

impl KeyCache {
    /// An empty cache sized by `options`, not usable until the feed reports healthy.
    pub fn new(options: CacheOptions) -> Self {
        Self {
            by_hash: Cache::builder()
                .max_capacity(options.max_keys)
                .time_to_live(options.time_to_live)
                .build(),
            by_id: Cache::builder()
                .max_capacity(options.max_keys)
                .time_to_live(options.time_to_live)
                .build_with_hasher(foldhash::fast::RandomState::default()),
            near: Near::default(),
            freshness: Freshness::default(),
            counters: Counters::default(),
        }
    }

    /// Hits, misses and size so far, for `/metrics`. `entries` counts remembered key
    /// hashes (known and unknown keys).
    pub fn stats(&self) -> CacheStats {
        let (hits, misses) = self.counters.totals();
        CacheStats {
            hits,
            misses,
            entries: self.by_hash.entry_count(),
            answering: self.freshness.usable(),
        }
    }

    /// The remembered answer for `hash`: this thread's copy when it has a current one,
    /// else the shared maps (a known key is then copied for this thread).
    fn lookup(&self, hash: KeyHash) -> Lookup {
        if !self.freshness.usable() {
            return Lookup::Miss;
        }
        let generation = self.freshness.generation();
        if let Some(key) = self.near.get(&hash, generation) {
            return Lookup::Known(key);
        }
        match self.by_hash.get(&hash) {
            None => Lookup::Miss,
            Some(Owner::NoSuchKey) => Lookup::NoSuchKey,
            Some(Owner::Key(id)) => match self.by_id.get(&id) {
                Some(key) if holds(&key, hash) => {
                    // A copy of its own, so that this thread's clones never touch the
                    // reference count the other threads' copies share.
                    let own = ApiKey::from_parts(key.parts().clone());
                    self.near.put(hash, own, generation);
                    Lookup::Known(key)
                }
                _ => Lookup::Miss,
            },
        }
    }

    /// Remembers what the database answered for `hash` (a read that took `ticket` before
    /// it started), unless something was dropped meanwhile.
    fn remember(&self, hash: KeyHash, found: Option<&ApiKey>, ticket: crate::freshness::Ticket) {
        match found {
            None => self.by_hash.insert(hash, Owner::NoSuchKey),
            Some(key) => {
                self.by_hash.insert(hash, Owner::Key(key.id()));
                let loaded = key.clone();
                self.by_id
                    .entry(key.id())
                    .and_compute_with(|current| match current {
                        Some(entry) if entry.value().version() >= loaded.version() => Op::Nop,
                        _ => Op::Put(loaded),
                    });
            }
        }
        if !self.freshness.still_current(ticket) {
            // Taken back as a drop: another thread may have copied it meanwhile.
            self.freshness.dropping(|| match found {
                None => self.by_hash.invalidate(&hash),
                Some(key) => self.drop_older_than(key.id(), key.version().next()),
            });
        }
    }

    /// Drops the copy of key `id` if it is older than `version`.
    fn drop_older_than(&self, id: KeyId, version: KeyVersion) {
        self.by_id
            .entry(id)
            .and_compute_with(|current| match current {
                Some(entry) if entry.value().version() < version => Op::Remove,
                _ => Op::Nop,
            });
    }

    /// Key `id` changed: it now has `version`, or was deleted (`None`). Drops any older
    /// copy at once.
    pub fn forget_key(&self, id: KeyId, version: Option<KeyVersion>) {
        self.freshness.dropping(|| match version {
            Some(version) => self.drop_older_than(id, version),
            None => self.by_id.invalidate(&id),
        });
    }

    /// A key with these secrets was just written: "no such key" is no longer true of them.
    fn forget_hashes(&self, key: &ApiKey) {
        self.freshness.dropping(|| {
            self.by_hash.invalidate(&key.hash());
            if let Some(retired) = key.retired() {
                self.by_hash.invalidate(&retired.hash);
            }
        });
    }

    /// Drops everything (the change feed missed changes, or many keys changed at once).
    pub fn forget_everything(&self) {
        self.freshness.dropping(|| {
            self.by_hash.invalidate_all();
            self.by_id.invalidate_all();
        });
    }

    /// See [`keyward_domain::ports::ChangeSink::set_feed_healthy`].
    pub fn set_feed_healthy(&self, healthy: bool) {
        self.freshness
            .set_feed_healthy(healthy, || self.forget_everything());
    }
}

/// An [`ApiKeyRepository`] that answers `find_by_hash` from a [`KeyCache`] when it can and
/// passes everything else to the store it wraps, dropping what each write changes.
///
/// `last_used_at` of a key returned by `find_by_hash` may lag behind the store (the cache
/// is for verification; `get` and `list` always read the store).
pub struct CachedKeys {
    store: Arc<dyn ApiKeyRepository>,
    cache: Arc<KeyCache>,
}

impl std::fmt::Debug for CachedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedKeys")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl CachedKeys {
    /// `store` behind the key cache of `caches`.
    pub fn new(store: Arc<dyn ApiKeyRepository>, caches: &Caches) -> Self {
        Self {
            store,
            cache: caches.keys().clone(),
        }
    }

    /// After a write to `key` (whatever its outcome: a write that failed to answer may
    /// still have committed), nothing remembered about it or its secrets survives.
    fn written(&self, key: &ApiKey) {
        self.cache.forget_hashes(key);
        self.cache.forget_key(key.id(), None);
    }
}

#[async_trait]
impl ApiKeyRepository for CachedKeys {
    async fn insert(&self, key: &ApiKey, cap: ActiveKeyCap) -> Result<(), KeyWriteError> {
        let result = self.store.insert(key, cap).await;
        self.written(key);
        result
    }

    async fn get(&self, customer: CustomerId, id: KeyId) -> Result<Option<ApiKey>, StorageError> {
        self.store.get(customer, id).await
    }

    async fn find_by_id(&self, id: KeyId) -> Result<Option<ApiKey>, StorageError> {
        self.store.find_by_id(id).await
    }

    async fn find_by_hash(&self, hash: KeyHash) -> Result<Option<ApiKey>, StorageError> {
        match self.cache.lookup(hash) {
            Lookup::Known(key) => {
                self.cache.counters.hit();
                return Ok(Some(key));
            }
            Lookup::NoSuchKey => {
                self.cache.counters.hit();
                return Ok(None);
            }
            Lookup::Miss => self.cache.counters.miss(),
        }
        let ticket = self.cache.freshness.ticket();
        let found = self.store.find_by_hash(hash).await?;
        if let Some(ticket) = ticket {
            self.cache.remember(hash, found.as_ref(), ticket);
        }
        Ok(found)
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
        let result = self.store.update(key, cap).await;
        self.written(key);
        result
    }

    async fn delete(&self, customer: CustomerId, id: KeyId) -> Result<bool, StorageError> {
        let result = self.store.delete(customer, id).await;
        self.cache.forget_key(id, None);
        result
    }

    async fn delete_expired_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<Vec<(CustomerId, KeyId)>, StorageError> {
        let result = self.store.delete_expired_before(cutoff).await;
        if !matches!(&result, Ok(deleted) if deleted.is_empty()) {
            self.cache.forget_everything();
        }
        result
    }

    async fn record_last_used(
        &self,
        uses: &[(KeyId, OffsetDateTime)],
    ) -> Result<Vec<LastUseMoved>, StorageError> {
        self.store.record_last_used(uses).await
    }
}
