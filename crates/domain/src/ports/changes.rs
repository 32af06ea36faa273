//! Announcements of committed changes, so that what an instance holds in memory (the
//! verification cache, the OpenKJ serial) can be dropped when another instance, another
//! process or another request changes the database (SPEC §7: a change is visible on every
//! instance within 1 s).
//!
//! A storage adapter announces every committed change to a key or a serial through its
//! [`ChangeFeed`]; caches implement [`ChangeSink`] and subscribe. The feed also tells the
//! sink when it cannot vouch for having seen every change (its connection to the database
//! is lost): from then until it is back, the sink must answer from the database.

use std::fmt;

use crate::ids::{CustomerId, KeyId};
use crate::keys::KeyVersion;

/// One committed change that a cache may hold an older copy of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// An API key was created or updated (`version` is the version it has now), or deleted
    /// (`version` is `None`).
    Key {
        id: KeyId,
        version: Option<KeyVersion>,
    },
    /// The customer's OpenKJ serial moved.
    Serial { customer: CustomerId },
    /// Changes that cannot be named one by one: drop everything held in memory.
    Everything,
}

/// Where a [`ChangeFeed`] delivers. Called from the feed's own task or, for local writes,
/// from the writer; implementations must be quick and must not block.
pub trait ChangeSink: Send + Sync {
    /// A change was committed. Delivered at least once per change; possibly also for
    /// changes this instance made itself, and possibly more than once.
    fn apply(&self, change: Change);

    /// The feed can (`true`) or cannot (`false`) vouch for delivering every change from now
    /// on. A sink starts out not vouched for; after `false` it must not answer from memory
    /// until the next `true`, and on `true` it must forget what it held (changes made while
    /// the feed was down were not delivered).
    fn set_feed_healthy(&self, healthy: bool);
}

/// A running subscription; dropping it stops the delivery (the feed's task ends, its
/// database connection closes).
pub struct ChangeSubscription {
    _guard: Box<dyn Send + Sync>,
}

impl ChangeSubscription {
    /// Wraps whatever keeps the delivery running (a task handle that aborts on drop, a
    /// registration that unregisters on drop).
    pub fn new(guard: impl Send + Sync + 'static) -> Self {
        Self {
            _guard: Box::new(guard),
        }
    }
}

impl fmt::Debug for ChangeSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChangeSubscription")
    }
}

/// The changes committed to one database, by any instance or process using it.
pub trait ChangeFeed: Send + Sync {
    /// Starts delivering to `sink` every change committed from now on, and tells it when
    /// the feed is healthy (`set_feed_healthy(true)` once it is listening). Adapters that
    /// need a background task spawn it on the current tokio runtime, so call this from
    /// inside one.
    ///
    /// The bound the feed keeps: a change committed anywhere reaches `sink`, or the sink
    /// is told the feed is unhealthy, within 1 s.
    fn subscribe(&self, sink: std::sync::Arc<dyn ChangeSink>) -> ChangeSubscription;
}
