//! The change feed's follower when its connection fails: the sink hears that the feed is
//! unhealthy (so caches stop answering from memory) within the 1 s bound of SPEC §7, and
//! healthy again once the follower is back, after which changes flow again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyward_domain::CustomerId;
use keyward_domain::ports::{Change, ChangeFeed, ChangeSink, SerialRepository};
use keyward_domain::serial::Serial;
use keyward_store_diesel::testing::TestDatabase;
use keyward_store_diesel::{DieselStore, PoolOptions};

mod proxy;

use proxy::Proxy;

#[derive(Default)]
struct Recorder {
    changes: Mutex<Vec<Change>>,
    health: Mutex<Vec<bool>>,
}

impl ChangeSink for Recorder {
    fn apply(&self, change: Change) {
        self.changes.lock().unwrap().push(change);
    }

    fn set_feed_healthy(&self, healthy: bool) {
        self.health.lock().unwrap().push(healthy);
    }
}

impl Recorder {
    fn healthy(&self) -> Option<bool> {
        self.health.lock().unwrap().last().copied()
    }

    fn heard(&self, change: Change) -> bool {
        self.changes.lock().unwrap().contains(&change)
    }
}

/// Polls `condition` every 10 ms; the time it took, or a panic after `limit`.
async fn within(limit: Duration, what: &str, condition: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_listener_is_reported_within_a_second_and_recovers() {
    // Arrange: a follower reaching PostgreSQL through a proxy we can cut; a writer direct.
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let writer = db.migrated_store().await;
    let proxy = Proxy::start(db.url()).await;
    let options = PoolOptions {
        max_size: 2,
        connect_timeout: Duration::from_secs(2),
        ..PoolOptions::default()
    };
    let follower = DieselStore::connect(&proxy.url(), options).await.unwrap();
    let recorder = Arc::new(Recorder::default());
    let _subscription = follower.subscribe(recorder.clone());
    within(Duration::from_secs(10), "healthy at start", || {
        recorder.healthy() == Some(true)
    })
    .await;

    // Act 1: the listener's connection is cut.
    proxy.cut().await;

    // Assert 1: reported well within the bound (a cut connection fails at once).
    within(Duration::from_secs(1), "the loss is reported", || {
        recorder.healthy() == Some(false)
    })
    .await;

    // Act 2: the database is reachable again, and a change is made.
    proxy.restore();
    within(Duration::from_secs(10), "healthy again", || {
        recorder.healthy() == Some(true)
    })
    .await;
    let customer = CustomerId::generate();
    writer
        .seed_serial(customer, Serial::new(12).unwrap())
        .await
        .unwrap();

    // Assert 2: changes flow again.
    within(Duration::from_secs(10), "the change after recovery", || {
        recorder.heard(Change::Serial { customer })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silently_stalled_listener_is_reported_within_a_second() {
    // Arrange: a healthy follower through a proxy.
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let proxy = Proxy::start(db.url()).await;
    db.migrated_store().await;
    let follower = DieselStore::connect(&proxy.url(), PoolOptions::default())
        .await
        .unwrap();
    let recorder = Arc::new(Recorder::default());
    let _subscription = follower.subscribe(recorder.clone());
    within(Duration::from_secs(10), "healthy at start", || {
        recorder.healthy() == Some(true)
    })
    .await;

    // Act: the connection stays open but nothing comes back (a partition, a hung
    // server): only the heartbeat can tell.
    proxy.stall();

    // Assert
    within(Duration::from_secs(1), "the stall is reported", || {
        recorder.healthy() == Some(false)
    })
    .await;
    proxy.resume();
    within(
        Duration::from_secs(10),
        "healthy again after the stall",
        || recorder.healthy() == Some(true),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_change_from_another_store_on_the_file_is_heard_within_a_second() {
    // Arrange: two stores on one file, as `keyward keys revoke` and a running server are.
    let db = TestDatabase::sqlite();
    let server = db.migrated_store().await;
    let cli = db.migrated_store().await;
    let recorder = Arc::new(Recorder::default());
    let _subscription = server.subscribe(recorder.clone());
    within(Duration::from_secs(10), "healthy at start", || {
        recorder.healthy() == Some(true)
    })
    .await;
    let customer = CustomerId::generate();

    // Act
    cli.seed_serial(customer, Serial::new(3).unwrap())
        .await
        .unwrap();

    // Assert
    within(Duration::from_secs(1), "the change is heard", || {
        recorder.heard(Change::Serial { customer })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncating_the_keys_is_announced_as_everything() {
    // Arrange: row triggers do not fire for TRUNCATE; a statement trigger must.
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let store = db.migrated_store().await;
    let recorder = Arc::new(Recorder::default());
    let _subscription = store.subscribe(recorder.clone());
    within(Duration::from_secs(10), "healthy at start", || {
        recorder.healthy() == Some(true)
    })
    .await;
    let (client, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);

    // Act: an operator empties the table by hand (with the usage counts that reference
    // it: PostgreSQL refuses to truncate a table other tables point at on its own).
    client
        .batch_execute("TRUNCATE api_keys CASCADE")
        .await
        .unwrap();

    // Assert
    within(
        Duration::from_secs(1),
        "the truncation is announced",
        || recorder.heard(Change::Everything),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_customer_row_deleted_by_hand_is_announced_as_a_serial_change() {
    // Arrange: a customer row (its serial seeded), and a follower.
    let db = TestDatabase::sqlite();
    let store = db.migrated_store().await;
    let customer = CustomerId::generate();
    store
        .seed_serial(customer, Serial::new(8).unwrap())
        .await
        .unwrap();
    let recorder = Arc::new(Recorder::default());
    let _subscription = store.subscribe(recorder.clone());
    within(Duration::from_secs(10), "healthy at start", || {
        recorder.healthy() == Some(true)
    })
    .await;
    let path = db.url().trim_start_matches("sqlite://").to_owned();

    // Act: the row goes (its serial reads 1 again), outside keyward.
    tokio::task::spawn_blocking(move || {
        use diesel::{Connection, RunQueryDsl};
        let mut conn = diesel::SqliteConnection::establish(&path).unwrap();
        diesel::sql_query(format!("DELETE FROM customers WHERE id = '{customer}'"))
            .execute(&mut conn)
            .unwrap();
    })
    .await
    .unwrap();

    // Assert
    within(Duration::from_secs(1), "the deletion is announced", || {
        recorder.heard(Change::Serial { customer })
    })
    .await;
}
