//! keyward's hot paths answered from memory (ADR 0050): key verification
//! (`ApiKeyRepository::find_by_hash`) and the OpenKJ serial
//! (`SerialRepository::current_serial`), each as a decorator that implements the same port
//! as the store it wraps, so the services do not change.
//!
//! Freshness (SPEC §7): a write through a decorator drops what it changed before the write
//! returns; writes by other instances and processes arrive through the store's
//! [`ChangeFeed`](keyward_domain::ports::ChangeFeed), delivered to [`Caches`]; while the
//! feed cannot vouch for seeing every change, the caches are empty and bypassed. A time to
//! live bounds every entry as a backstop.
//!
//! ```
//! # use std::sync::Arc;
//! # use keyward_cache::{CacheOptions, Caches, CachedKeys, CachedOpenKj};
//! # use keyward_domain::ports::{ApiKeyRepository, ChangeFeed, OpenKjStore};
//! # use keyward_store_memory::MemoryStore;
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let store = Arc::new(MemoryStore::new());
//! let caches = Caches::new(CacheOptions::default());
//! let _subscription = store.subscribe(Arc::new(caches.clone()));
//! let keys: Arc<dyn ApiKeyRepository> = Arc::new(CachedKeys::new(store.clone(), &caches));
//! let openkj: Arc<dyn OpenKjStore> = Arc::new(CachedOpenKj::new(store, &caches));
//! # }
//! ```

mod freshness;
mod keys;
mod near;
mod serials;
mod stats;

use std::sync::Arc;
use std::time::Duration;

use keyward_domain::ports::{Change, ChangeSink};

pub use keys::{CachedKeys, KeyCache};
pub use serials::{CachedOpenKj, SerialCache};
pub use stats::CacheStats;

/// Sizes and lifetimes of the caches (`cache.*` settings, docs/OPERATIONS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheOptions {
    /// Most key-hash lookups remembered (answers about unknown keys included); the keys
    /// they found are remembered up to the same number.
    pub max_keys: u64,
    /// Most customers whose OpenKJ serial is remembered.
    pub max_serials: u64,
    /// Longest any entry is kept, whatever the change feed says (a backstop).
    pub time_to_live: Duration,
}

impl Default for CacheOptions {
    /// 100 000 keys, 10 000 serials, 60 s.
    fn default() -> Self {
        Self {
            max_keys: 100_000,
            max_serials: 10_000,
            time_to_live: Duration::from_secs(60),
        }
    }
}

/// Both caches of one instance, and the [`ChangeSink`] that keeps them fresh. Cheap to
/// clone (the caches are shared).
#[derive(Debug, Clone)]
pub struct Caches {
    keys: Arc<KeyCache>,
    serials: Arc<SerialCache>,
}

impl Caches {
    /// Empty caches that answer nothing from memory until the change feed reports healthy
    /// (`ChangeSink::set_feed_healthy(true)`).
    pub fn new(options: CacheOptions) -> Self {
        Self {
            keys: Arc::new(KeyCache::new(options)),
            serials: Arc::new(SerialCache::new(options)),
        }
    }

    /// The verification cache.
    pub fn keys(&self) -> &Arc<KeyCache> {
        &self.keys
    }

    /// The serial cache.
    pub fn serials(&self) -> &Arc<SerialCache> {
        &self.serials
    }
}

impl ChangeSink for Caches {
    fn apply(&self, change: Change) {
        match change {
            Change::Key { id, version } => self.keys.forget_key(id, version),
            Change::Serial { customer } => self.serials.forget(customer),
            Change::Everything => {
                self.keys.forget_everything();
                self.serials.forget_everything();
            }
        }
    }

    fn set_feed_healthy(&self, healthy: bool) {
        self.keys.set_feed_healthy(healthy);
        self.serials.set_feed_healthy(healthy);
    }
}
