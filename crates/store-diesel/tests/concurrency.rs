//! Concurrent writers on one database: SQLite never surfaces "database is locked" (write
//! transactions are `BEGIN IMMEDIATE` and wait on `busy_timeout`), `last_used_at` only
//! moves forward, the per-customer key cap holds under a race on both backends, and
//! concurrent service changes to one key (rotate, revoke, patch) never lose one another
//! (the domain's `key_races`, on both backends), and usage flushes racing one another and
//! key deletions neither fail nor lose a count.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration as StdDuration;

use keyward_domain::keys::{ApiKey, KeyName};
use keyward_domain::ports::{
    ActiveKeyCap, ApiKeyRepository, KeyFilter, KeyWriteError, PageRequest, UsageRepository,
};
use keyward_domain::testing::NOW;
use keyward_domain::testing::api_keys::sample_key;
use keyward_domain::usage::{DailyUsage, DayRange, KeyUsageTotal, UsageCounts};
use keyward_domain::{CustomerId, KeyId};
use keyward_store_diesel::testing::TestDatabase;
use keyward_store_diesel::{DieselStore, PoolOptions};
use time::Duration;
use time::macros::date;
use tokio::task::JoinSet;

const WRITERS: i64 = 50;
const FLUSHERS: i64 = 10;

async fn store_with_many_connections(db: &TestDatabase) -> DieselStore {
    let options = PoolOptions {
        max_size: 16,
        connect_timeout: StdDuration::from_secs(10),
        ..PoolOptions::default()
    };
    let store = DieselStore::connect(db.url(), options).await.unwrap();
    store.migrate().await.unwrap();
    store
}

fn cap(max: u32) -> ActiveKeyCap {
    ActiveKeyCap { max, now: NOW }
}

/// 50 tasks each insert a key (half of them for one shared customer), rename it and
/// record its use; then 10 tasks flush overlapping batches for every key at once.
async fn concurrent_writers_all_succeed_and_last_used_ends_at_the_latest(store: DieselStore) {
    // Arrange
    let shared = CustomerId::generate();

    // Act: concurrent inserts and first uses.
    let mut writers = JoinSet::new();
    for i in 0..WRITERS {
        let store = store.clone();
        let customer = if i % 2 == 0 {
            shared
        } else {
            CustomerId::generate()
        };
        writers.spawn(async move {
            let key = sample_key(customer, NOW);
            store
                .insert(&key, cap(1_000))
                .await
                .map_err(|e| format!("insert: {e:?}"))?;
            let mut parts = key.clone().into_parts();
            parts.name = KeyName::new(format!("Renamed {i}")).unwrap();
            let renamed = ApiKey::from_parts(parts);
            store
                .update(&renamed, Some(cap(1_000)))
                .await
                .map_err(|e| format!("update: {e:?}"))?;
            store
                .record_last_used(&[(key.id(), NOW + Duration::seconds(i))])
                .await
                .map_err(|e| format!("record_last_used: {e:?}"))?;
            Ok::<ApiKey, String>(renamed)
        });
    }
    let mut keys = Vec::new();
    while let Some(done) = writers.join_next().await {
        keys.push(done.unwrap().unwrap());
    }

    // Act: concurrent flushes of every key, each at its own time.
    let mut flushers = JoinSet::new();
    for j in 1..=FLUSHERS {
        let store = store.clone();
        let batch: Vec<_> = keys
            .iter()
            .map(|k| (k.id(), NOW + Duration::hours(j)))
            .collect();
        flushers.spawn(async move { store.record_last_used(&batch).await });
    }
    while let Some(done) = flushers.join_next().await {
        done.unwrap().unwrap();
    }

    // Assert: every key exists and carries the latest flush, whatever the commit order.
    for key in &keys {
        let stored = store
            .get(key.customer_id(), key.id())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.name(), key.name());
        assert_eq!(stored.last_used_at(), Some(NOW + Duration::hours(FLUSHERS)));
    }
    let shared_keys = store
        .list(shared, KeyFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(shared_keys.total, 25);
}

/// 20 simultaneous creations for one customer with a cap of 5: exactly 5 win.
async fn racing_inserts_never_exceed_the_cap(store: DieselStore) {
    // Arrange
    let customer = CustomerId::generate();

    // Act
    let mut racers = JoinSet::new();
    for _ in 0..20 {
        let store = store.clone();
        racers.spawn(async move { store.insert(&sample_key(customer, NOW), cap(5)).await });
    }
    let (mut stored, mut refused) = (0, 0);
    while let Some(done) = racers.join_next().await {
        match done.unwrap() {
            Ok(()) => stored += 1,
            Err(KeyWriteError::LimitReached) => refused += 1,
            Err(other) => panic!("unexpected failure: {other:?}"),
        }
    }

    // Assert
    assert_eq!((stored, refused), (5, 15));
    let listed = store
        .list(customer, KeyFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.total, 5);
}

/// 10 flushers each write the same usage batch (20 keys × 3 days) 5 times while every
/// other key is deleted: no flush fails — a key deleted while a flush waits for it is
/// skipped, not a foreign-key violation — none deadlocks, and the kept keys' counts are
/// exactly the sum of every flush.
async fn usage_flushes_racing_deletions_all_succeed_and_add_up(store: DieselStore) {
    // Arrange
    const ROUNDS: u64 = 5;
    let customer = CustomerId::generate();
    let mut keys = Vec::new();
    for _ in 0..20 {
        let key = sample_key(customer, NOW);
        store.insert(&key, cap(1_000)).await.unwrap();
        keys.push(key);
    }
    let days = [
        date!(2026 - 06 - 01),
        date!(2026 - 06 - 02),
        date!(2026 - 06 - 03),
    ];
    let batch: Vec<DailyUsage> = keys
        .iter()
        .flat_map(|key| {
            days.iter().map(|day| DailyUsage {
                key: key.id(),
                date: *day,
                counts: UsageCounts {
                    verified: 1,
                    denied: 2,
                },
            })
        })
        .collect();
    let doomed: Vec<KeyId> = keys.iter().step_by(2).map(ApiKey::id).collect();

    // Act
    let mut tasks = JoinSet::new();
    for flusher in 0..FLUSHERS {
        let store = store.clone();
        let mut batch = batch.clone();
        if flusher % 2 == 1 {
            batch.reverse();
        }
        tasks.spawn(async move {
            for _ in 0..ROUNDS {
                store.add_usage(&batch).await.unwrap();
            }
        });
    }
    {
        let store = store.clone();
        tasks.spawn(async move {
            for id in doomed {
                assert!(store.delete(customer, id).await.unwrap());
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }

    // Assert
    let flushes = FLUSHERS.unsigned_abs() * ROUNDS * days.len() as u64;
    let range = DayRange::new(Some(days[0]), Some(days[2]), days[2]).unwrap();
    let mut totals = store.usage_by_key(customer, range).await.unwrap();
    totals.sort_by_key(|total| total.key);
    let mut expected: Vec<KeyUsageTotal> = keys
        .iter()
        .skip(1)
        .step_by(2)
        .map(|key| KeyUsageTotal {
            key: key.id(),
            name: key.name().as_str().to_owned(),
            counts: UsageCounts {
                verified: flushes,
                denied: 2 * flushes,
            },
        })
        .collect();
    expected.sort_by_key(|total| total.key);
    assert_eq!(totals, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_usage_flushes_racing_deletions_all_succeed_and_add_up() {
    let db = TestDatabase::sqlite();
    let store = store_with_many_connections(&db).await;
    usage_flushes_racing_deletions_all_succeed_and_add_up(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_usage_flushes_racing_deletions_all_succeed_and_add_up() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let store = store_with_many_connections(&db).await;
    usage_flushes_racing_deletions_all_succeed_and_add_up(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_writers_never_see_database_is_locked() {
    let db = TestDatabase::sqlite();
    let store = store_with_many_connections(&db).await;
    concurrent_writers_all_succeed_and_last_used_ends_at_the_latest(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_writers_all_succeed() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let store = store_with_many_connections(&db).await;
    concurrent_writers_all_succeed_and_last_used_ends_at_the_latest(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_racing_inserts_never_exceed_the_cap() {
    let db = TestDatabase::sqlite();
    racing_inserts_never_exceed_the_cap(store_with_many_connections(&db).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_racing_inserts_never_exceed_the_cap() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    racing_inserts_never_exceed_the_cap(store_with_many_connections(&db).await).await;
}

/// `ApiKeyService` changes racing on one key (the domain's `key_races` scenarios), on a
/// pool with room for every racer.
mod sqlite_key_races {
    use std::sync::Arc;

    use keyward_domain::ports::ApiKeyRepository;
    use keyward_store_diesel::testing::TestDatabase;

    async fn setup() -> Option<(Arc<dyn ApiKeyRepository>, TestDatabase)> {
        let db = TestDatabase::sqlite();
        let store = super::store_with_many_connections(&db).await;
        Some((Arc::new(store), db))
    }

    keyward_domain::api_key_write_races!(setup);
}

/// As `sqlite_key_races`, on PostgreSQL.
mod postgres_key_races {
    use std::sync::Arc;

    use keyward_domain::ports::ApiKeyRepository;
    use keyward_store_diesel::testing::TestDatabase;

    async fn setup() -> Option<(Arc<dyn ApiKeyRepository>, TestDatabase)> {
        let db = TestDatabase::postgres().await?;
        let store = super::store_with_many_connections(&db).await;
        Some((Arc::new(store), db))
    }

    keyward_domain::api_key_write_races!(setup);
}
