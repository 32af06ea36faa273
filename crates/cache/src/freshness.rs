//! Whether a value read from the database may still be remembered once the read is done.
//!
//! The race every cache in front of a database has: a reader loads a key, a writer changes
//! it and drops the cached copy, then the reader stores what it loaded — the old value —
//! after the drop. Every drop here first moves a generation counter; a reader takes a
//! [`Ticket`] (the generation) before it loads and, after storing, checks that the
//! generation has not moved, taking back what it stored otherwise. Whichever order the two
//! interleave in, the stale value does not survive: either the drop comes after the store
//! and removes it, or the reader sees the moved generation.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub(crate) struct Freshness {
    generation: AtomicU64,
    /// Whether the change feed vouches for delivering every change (see
    /// `ChangeSink::set_feed_healthy`); nothing is answered or stored while it does not.
    feed_healthy: AtomicBool,
}

/// The generation a read started in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

impl Freshness {
    /// Whether the cache may be answered from.
    pub(crate) fn usable(&self) -> bool {
        self.feed_healthy.load(Ordering::SeqCst)
    }

    /// A ticket for a read about to start, or `None` when its result must not be stored.
    pub(crate) fn ticket(&self) -> Option<Ticket> {
        if !self.usable() {
            return None;
        }
        Some(Ticket(self.generation.load(Ordering::SeqCst)))
    }

    /// Whether nothing was dropped since `ticket` was taken. Call after storing.
    pub(crate) fn still_current(&self, ticket: Ticket) -> bool {
        self.generation.load(Ordering::SeqCst) == ticket.0 && self.usable()
    }

    /// The current generation, for a per-thread copy of what is about to be read from
    /// the cache ([`crate::near`]).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Runs `drop`, which drops entries, announcing it before (for readers of the
    /// database, see the module docs) and after (for per-thread copies made from the
    /// cache while `drop` ran, which must not outlive it).
    pub(crate) fn dropping(&self, drop: impl FnOnce()) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        drop();
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Records whether the feed vouches for the cache, emptying it with `forget_everything`
    /// on either change: before answering from it again (changes made while the feed was
    /// down were not delivered), and after it stops being answered from.
    pub(crate) fn set_feed_healthy(&self, healthy: bool, forget_everything: impl Fn()) {
        if healthy {
            forget_everything();
            self.feed_healthy.store(true, Ordering::SeqCst);
        } else {
            self.feed_healthy.store(false, Ordering::SeqCst);
            forget_everything();
        }
    }
}
