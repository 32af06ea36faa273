//! Hit and miss counts of a cache, for `GET /metrics` (SPEC §14).
//!
//! Counted on every lookup of the hot paths, so each thread counts into its own
//! cache-line-aligned cell (no core waits for another's increment); a scrape adds the
//! cells up.

use std::sync::atomic::{AtomicU64, Ordering};

use thread_local::ThreadLocal;

/// One thread's counts, alone on its cache line.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Cell {
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Lookups answered from memory and lookups that went to the database.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    cells: ThreadLocal<Cell>,
}

impl Counters {
    pub(crate) fn hit(&self) {
        self.cells
            .get_or_default()
            .hits
            .fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn miss(&self) {
        self.cells
            .get_or_default()
            .misses
            .fetch_add(1, Ordering::Relaxed);
    }

    /// `(hits, misses)` since the cache was made, summed over every thread.
    pub(crate) fn totals(&self) -> (u64, u64) {
        self.cells.iter().fold((0, 0), |(hits, misses), cell| {
            (
                hits + cell.hits.load(Ordering::Relaxed),
                misses + cell.misses.load(Ordering::Relaxed),
            )
        })
    }
}

/// What one cache reports to `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Lookups answered from memory (a known key, a known unknown key, a serial), since
    /// start.
    pub hits: u64,
    /// Lookups that went to the database, since start (every lookup while the cache is
    /// bypassed counts here).
    pub misses: u64,
    /// Entries held now (moka's estimate: it lags writes a little).
    pub entries: u64,
    /// Whether the cache answers at all: `false` while the change feed is down (or the
    /// caches were never switched on), when every lookup reads the database.
    pub answering: bool,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn counts_from_every_thread_are_added_up() {
        let counters = Arc::new(Counters::default());
        let threads: Vec<_> = (0..4)
            .map(|n| {
                let counters = Arc::clone(&counters);
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        counters.hit();
                    }
                    for _ in 0..n {
                        counters.miss();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }

        assert_eq!(counters.totals(), (400, 6));
    }
}
