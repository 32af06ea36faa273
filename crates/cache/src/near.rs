//! A small per-thread copy in front of a shared cache: what this thread last read, valid
//! while nothing was dropped from the shared cache since and for at most [`LIFETIME`].
//!
//! Why: every lookup in a moka cache writes to memory the other threads read too (the
//! entry's access time, the read log behind its eviction policy), so two workers verifying
//! the same key pull the same cache lines back and forth on every request. A thread's own
//! copy is read without writing anything shared: the one shared read is the cache's
//! generation counter ([`crate::freshness`]), which only moves when something is dropped.
//!
//! Correctness rests on that counter: an entry is stored with the generation read
//! *before* the shared cache was, and is used only while the generation is unchanged.
//! Every drop moves the generation before and after it (`Freshness::dropping`), so a
//! copy read from the shared cache before a drop finished is never used after it.
//! [`LIFETIME`] bounds how long a copy may outlive the shared cache's own time to live.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use thread_local::ThreadLocal;

/// How long a thread keeps a copy (each thread then reads the shared cache again).
pub(crate) const LIFETIME: Duration = Duration::from_secs(1);

/// Entries per thread; a full thread starts over (the copies are for the few hot keys).
pub(crate) const CAPACITY: usize = 256;

/// Per-thread copies of `K → V`.
pub(crate) struct Near<K: Send, V: Send> {
    shards: ThreadLocal<RefCell<Shard<K, V>>>,
}

struct Shard<K, V> {
    generation: u64,
    entries: HashMap<K, (V, Instant), foldhash::fast::RandomState>,
}

impl<K: Send, V: Send> Default for Shard<K, V> {
    fn default() -> Self {
        Self {
            generation: 0,
            entries: HashMap::default(),
        }
    }
}

impl<K: Send, V: Send> Shard<K, V> {
    /// Forgets everything stored in another generation.
    fn at(&mut self, generation: u64) -> &mut Self {
        if self.generation != generation {
            self.entries.clear();
            self.generation = generation;
        }
        self
    }
}

impl<K: Send, V: Send> Default for Near<K, V> {
    fn default() -> Self {
        Self {
            shards: ThreadLocal::new(),
        }
    }
}

impl<K: Hash + Eq + Send, V: Clone + Send> Near<K, V> {
    /// This thread's copy of `key`, if it was stored in `generation` less than
    /// [`LIFETIME`] ago.
    pub(crate) fn get(&self, key: &K, generation: u64) -> Option<V> {
        let shard = self.shards.get()?;
        let mut shard = shard.borrow_mut();
        let shard = shard.at(generation);
        let (value, stored) = shard.entries.get(key)?;
        if stored.elapsed() < LIFETIME {
            return Some(value.clone());
        }
        shard.entries.remove(key);
        None
    }

    /// Keeps a copy of `value` for this thread, read from the shared cache after
    /// `generation` was read.
    pub(crate) fn put(&self, key: K, value: V, generation: u64) {
        let shard = self.shards.get_or_default();
        let mut shard = shard.borrow_mut();
        let shard = shard.at(generation);
        if shard.entries.len() >= CAPACITY {
            shard.entries.clear();
        }
        shard.entries.insert(key, (value, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_used_only_in_the_generation_it_was_stored_in() {
        let near = Near::<u32, &str>::default();
        near.put(1, "one", 7);

        assert_eq!(near.get(&1, 7), Some("one"));
        assert_eq!(near.get(&1, 8), None);
        // Gone for good, not only hidden: the old generation does not bring it back.
        assert_eq!(near.get(&1, 7), None);
    }

    #[test]
    fn each_thread_has_its_own_copies() {
        let near = std::sync::Arc::new(Near::<u32, &str>::default());
        near.put(1, "main", 0);

        let other = std::sync::Arc::clone(&near);
        let seen = std::thread::spawn(move || other.get(&1, 0)).join().unwrap();

        assert_eq!(seen, None);
        assert_eq!(near.get(&1, 0), Some("main"));
    }

    #[test]
    fn a_full_thread_starts_over() {
        let near = Near::<usize, usize>::default();
        for key in 0..CAPACITY {
            near.put(key, key, 0);
        }
        near.put(CAPACITY, CAPACITY, 0);

        assert_eq!(near.get(&0, 0), None);
        assert_eq!(near.get(&CAPACITY, 0), Some(CAPACITY));
    }
}
