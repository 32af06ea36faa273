//! A PostgreSQL server that stops answering (the TCP connection stays open, no bytes come
//! back) must not hold a caller longer than the store's time limits (ADR 0016): getting a
//! connection fails `Unavailable` within the connect timeout in total, an operation whose
//! answer never comes fails within the statement timeout and its connection is closed,
//! and the store recovers by itself once the database answers again.
//!
//! The elapsed-time bounds check the timeout logic, not speed: before ADR 0016 the same
//! calls took two to three times the connect timeout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use diesel_async::{
    AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _, SimpleAsyncConnection as _,
};
use keyward_domain::CustomerId;
use keyward_domain::ports::{ActiveKeyCap, ApiKeyRepository, StorageError};
use keyward_domain::testing::NOW;
use keyward_domain::testing::api_keys::sample_key;
use keyward_store_diesel::testing::TestDatabase;
use keyward_store_diesel::{DieselStore, PoolOptions};

mod proxy;

use proxy::Proxy;

const TIMEOUT: Duration = Duration::from_secs(1);

/// Fails when a call took 1.8 × its timeout or more (a second timeout added on, as before
/// ADR 0016), or returned before the timeout could have expired.
fn assert_within_one_timeout(elapsed: Duration, timeout: Duration) {
    assert!(elapsed < timeout.mul_f64(1.8), "took {elapsed:?}");
    assert!(elapsed >= timeout.mul_f64(0.9), "took only {elapsed:?}");
}

async fn timed<T>(call: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let output = call.await;
    (output, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_postgres_is_unavailable_within_the_connect_timeout_and_recovers_on_resume() {
    // Arrange: a store whose pool holds two connections, through a proxy we can stall.
    // The statement timeout is long, so only the connect timeout can end these calls.
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let proxy = Proxy::start(db.url()).await;
    let options = PoolOptions {
        max_size: 2,
        connect_timeout: TIMEOUT,
        statement_timeout: Duration::from_secs(30),
    };
    let store = DieselStore::connect(&proxy.url(), options).await.unwrap();
    store.migrate().await.unwrap();
    let key = sample_key(CustomerId::generate(), NOW);
    store
        .insert(&key, ActiveKeyCap { max: 10, now: NOW })
        .await
        .unwrap();
    // Two pings at once open the second connection, unless the first finished before the
    // second started (a loaded machine): then try again, a bounded number of times.
    for _ in 0..50 {
        let (first, second) = tokio::join!(store.ping(), store.ping());
        first.unwrap();
        second.unwrap();
        if store.pool_status() == (2, 2) {
            break;
        }
    }
    assert_eq!(store.pool_status(), (2, 2));

    // Act: the database stops answering.
    proxy.stall();
    let (ping, ping_took) = timed(store.ping()).await;
    let (read, read_took) = timed(store.get(key.customer_id(), key.id())).await;

    // Assert: both fail Unavailable after one connect timeout, though each checkout had
    // stale connections to check and then a connection to open; the stale connections
    // are closed and the abandoned opens hold no slot.
    let ping = ping.unwrap_err();
    assert!(matches!(ping, StorageError::Unavailable(_)), "{ping:?}");
    assert_within_one_timeout(ping_took, TIMEOUT);
    let read = read.unwrap_err();
    assert!(matches!(read, StorageError::Unavailable(_)), "{read:?}");
    assert_within_one_timeout(read_took, TIMEOUT);
    assert_eq!(store.pool_status(), (0, 0));

    // Act + Assert: once the database answers again, the same store works.
    proxy.resume();
    store.ping().await.unwrap();
    assert_eq!(
        store.get(key.customer_id(), key.id()).await.unwrap(),
        Some(key)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operation_whose_answer_never_comes_is_cut_by_the_statement_timeout_and_its_connection_closed()
 {
    // Arrange: a store with one pooled connection, and a lock held directly on the
    // database (not through the proxy) that its next read will wait for.
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let proxy = Proxy::start(db.url()).await;
    let options = PoolOptions {
        max_size: 1,
        connect_timeout: TIMEOUT,
        statement_timeout: TIMEOUT,
    };
    let store = DieselStore::connect(&proxy.url(), options).await.unwrap();
    store.migrate().await.unwrap();
    let key = sample_key(CustomerId::generate(), NOW);
    store
        .insert(&key, ActiveKeyCap { max: 10, now: NOW })
        .await
        .unwrap();
    assert_eq!(store.pool_status(), (1, 1));
    let mut locker = AsyncPgConnection::establish(db.url()).await.unwrap();
    locker
        .batch_execute("BEGIN; LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE;")
        .await
        .unwrap();

    // Act: the read gets its connection and waits on the lock; then the database stops
    // answering, and the lock goes, so the answer is on its way but never arrives.
    let (reader, customer, id) = (store.clone(), key.customer_id(), key.id());
    let read = tokio::spawn(async move { timed(reader.get(customer, id)).await });
    wait_until_a_query_waits_for_a_lock(db.url()).await;
    proxy.stall();
    locker.batch_execute("COMMIT").await.unwrap();
    let (read, took) = read.await.unwrap();

    // Assert: Unavailable after one statement timeout, and the connection is gone from
    // the pool rather than handed out with an answer still in flight.
    let read = read.unwrap_err();
    assert!(matches!(read, StorageError::Unavailable(_)), "{read:?}");
    assert_within_one_timeout(took, TIMEOUT);
    assert_eq!(store.pool_status(), (0, 0));

    // Act + Assert: after the stall, a fresh connection serves the next read.
    proxy.resume();
    assert_eq!(
        store.get(key.customer_id(), key.id()).await.unwrap(),
        Some(key)
    );
    assert_eq!(store.pool_status(), (1, 1));
}

/// Polls `pg_stat_activity` (on its own connection, outside any transaction) until a
/// backend of this database waits for a lock.
async fn wait_until_a_query_waits_for_a_lock(url: &str) {
    #[derive(diesel::QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        waiting: i64,
    }
    let mut watcher = AsyncPgConnection::establish(url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let row: Waiting = diesel::sql_query(
            "SELECT count(*) AS waiting FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .get_result(&mut watcher)
        .await
        .unwrap();
        if row.waiting > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the read never waited for the lock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
