//! What `/metrics` reads when scraped (SPEC §14), over the adapters the binary wires: the
//! database pool, the caches, and the build. Each value is read from memory (atomic
//! counters, the pool's status); a scrape never touches the database.

use keyward_cache::{CacheStats, Caches};
use keyward_http::metrics::{Family, MetricsSource, SampleKind};
use keyward_store_diesel::{Backend, DieselStore};

/// A count as a Prometheus sample value. Counts stay far below 2^53, where `f64` is exact.
#[allow(clippy::cast_precision_loss)]
fn value(count: u64) -> f64 {
    count as f64
}

fn size(count: usize) -> f64 {
    value(u64::try_from(count).unwrap_or(u64::MAX))
}

/// The database pool: `keyward_db_pool_*`.
#[derive(Debug, Clone)]
pub struct PoolMetrics(pub DieselStore);

impl MetricsSource for PoolMetrics {
    fn families(&self) -> Vec<Family> {
        use SampleKind::{Counter, Gauge};
        let stats = self.0.pool_stats();
        vec![
            Family::single(
                "db_pool_max_connections",
                "Most database connections the pool opens (database.max_connections).",
                Gauge,
                size(stats.max_size),
            ),
            Family::single(
                "db_pool_connections",
                "Database connections open now, in use or idle.",
                Gauge,
                size(stats.size),
            ),
            Family::single(
                "db_pool_idle_connections",
                "Open database connections idle now.",
                Gauge,
                size(stats.idle),
            ),
            Family::single(
                "db_pool_waiting",
                "Callers waiting for a database connection now.",
                Gauge,
                size(stats.waiting),
            ),
            Family::single(
                "db_pool_checkouts_total",
                "Database connections handed out or refused since start (one per database operation).",
                Counter,
                value(stats.checkouts),
            ),
            Family::single(
                "db_pool_wait_seconds_total",
                "Time spent getting database connections since start; divide its rate by the checkouts' rate for the mean wait.",
                Counter,
                stats.wait.as_secs_f64(),
            ),
            Family::single(
                "db_pool_checkout_failures_total",
                "Checkouts that got no connection (database down, refusing, or too slow); each failed its request with 503.",
                Counter,
                value(stats.failures),
            ),
            Family::single(
                "db_pool_timeouts_total",
                "Of the failed checkouts, those that found no connection within database.connect_timeout_seconds.",
                Counter,
                value(stats.timeouts),
            ),
        ]
    }
}

/// The verification and serial caches: `keyward_cache_*{cache="keys"|"serials"}`.
#[derive(Debug, Clone)]
pub struct CacheMetrics(pub Caches);

impl MetricsSource for CacheMetrics {
    fn families(&self) -> Vec<Family> {
        let caches: [(&'static str, CacheStats); 2] = [
            ("keys", self.0.keys().stats()),
            ("serials", self.0.serials().stats()),
        ];
        let family = |name, help, kind, read: fn(&CacheStats) -> f64| Family {
            name,
            help,
            kind,
            samples: caches
                .iter()
                .map(|(cache, stats)| (vec![("cache", *cache)], read(stats)))
                .collect(),
        };
        vec![
            family(
                "cache_hits_total",
                "Lookups answered from memory (keys: verifications, known and unknown keys; serials: OpenKJ getSerial).",
                SampleKind::Counter,
                |stats| value(stats.hits),
            ),
            family(
                "cache_misses_total",
                "Lookups that read the database (all of them while the cache is bypassed).",
                SampleKind::Counter,
                |stats| value(stats.misses),
            ),
            family(
                "cache_entries",
                "Entries held now (an estimate that lags writes slightly).",
                SampleKind::Gauge,
                |stats| value(stats.entries),
            ),
            family(
                "cache_answering",
                "1 while the cache answers, 0 while it is bypassed because the change feed is down.",
                SampleKind::Gauge,
                |stats| if stats.answering { 1.0 } else { 0.0 },
            ),
        ]
    }
}

/// `keyward_build_info{version, backend} 1`, the usual way to export what is running.
#[derive(Debug, Clone, Copy)]
pub struct BuildInfo {
    pub backend: Backend,
}

impl MetricsSource for BuildInfo {
    fn families(&self) -> Vec<Family> {
        let backend = match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        };
        vec![Family {
            name: "build_info",
            help: "The running keyward: its version and storage backend (always 1).",
            kind: SampleKind::Gauge,
            samples: vec![(
                vec![("version", env!("CARGO_PKG_VERSION")), ("backend", backend)],
                1.0,
            )],
        }]
    }
}
