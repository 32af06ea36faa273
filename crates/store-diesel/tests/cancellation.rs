//! A SQLite call whose future is dropped half-way — as actix-web does when a sibling
//! extractor fails or a client disconnects — must neither panic the current-thread
//! runtime it ran on (actix-web's workers) nor leave the store unusable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::pin::pin;
use std::task::Poll;

use keyward_domain::CustomerId;
use keyward_domain::ports::{ActiveKeyCap, ApiKeyRepository};
use keyward_domain::testing::NOW;
use keyward_domain::testing::api_keys::sample_key;
use keyward_store_diesel::testing::{TestDatabase, calls_spawned_on_this_thread};

/// Polls `call` once (so its blocking SQLite work is in flight), then drops it.
async fn start_then_abandon<F: Future>(call: F) {
    let mut call = pin!(call);
    std::future::poll_fn(|cx| {
        let _ = call.as_mut().poll(cx);
        Poll::Ready(())
    })
    .await;
}

// The default `#[tokio::test]` runtime is current-thread, like an actix-web worker's.
#[tokio::test]
async fn abandoned_sqlite_calls_on_a_current_thread_runtime_neither_panic_nor_break_the_store() {
    // Arrange
    let db = TestDatabase::sqlite();
    let store = db.migrated_store().await;
    let key = sample_key(CustomerId::generate(), NOW);
    let cap = ActiveKeyCap { max: 100, now: NOW };

    // Act: abandon lookups (pool checkout, recycle check, query) and write transactions
    // (BEGIN IMMEDIATE … COMMIT) at their first await point, many times over.
    for _ in 0..25 {
        start_then_abandon(store.find_by_hash(key.hash())).await;
        start_then_abandon(store.insert(&sample_key(key.customer_id(), NOW), cap)).await;
    }

    // Assert: the store still reads and writes, and no abandoned transaction holds the
    // write lock.
    store.insert(&key, cap).await.unwrap();
    assert_eq!(
        store.find_by_hash(key.hash()).await.unwrap(),
        Some(key.clone())
    );
    store.ping().await.unwrap();
}

/// The test database's file, for a second, raw connection.
fn sqlite_path(db: &TestDatabase) -> String {
    db.url()
        .strip_prefix("sqlite://")
        .expect("a SQLite test database")
        .to_owned()
}

// Current-thread, like an actix-web worker: a caller that gives up on a call waiting for
// SQLite's write lock must not hold the thread until the call ends (ADR 0014).
#[tokio::test]
async fn an_abandoned_call_runs_to_its_end_without_holding_up_the_runtime() {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;

    // Arrange: a stored key, and another process's transaction holding the write lock
    // until the runtime has gone on past the abandoned call.
    let db = TestDatabase::sqlite();
    let store = db.migrated_store().await;
    let key = sample_key(CustomerId::generate(), NOW);
    store
        .insert(&key, ActiveKeyCap { max: 100, now: NOW })
        .await
        .unwrap();
    let path = sqlite_path(&db);
    let (locked_tx, locked_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut other = diesel::SqliteConnection::establish(&path).unwrap();
        other.batch_execute("BEGIN IMMEDIATE").unwrap();
        locked_tx.send(()).unwrap();
        // Only a runtime that went on can send this; one held up by the abandoned call
        // cannot until the call has given up (busy_timeout), so this gives up too, long
        // after that, rather than hang.
        let _ = release_rx.recv_timeout(std::time::Duration::from_secs(30));
        other.batch_execute("COMMIT").unwrap();
    });
    tokio::task::spawn_blocking(move || locked_rx.recv().unwrap())
        .await
        .unwrap();
    let spawned_before = calls_spawned_on_this_thread();

    // Act: start deleting the key and poll until its statement is waiting in SQLite (the
    // checkout's check of the connection is one call, the DELETE the next), give up on
    // it, then let the other process commit.
    let mut delete = Box::pin(store.delete(key.customer_id(), key.id()));
    for _ in 0..100_000 {
        std::future::poll_fn(|cx| {
            let _ = delete.as_mut().poll(cx);
            Poll::Ready(())
        })
        .await;
        if calls_spawned_on_this_thread() >= spawned_before + 2 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(
        calls_spawned_on_this_thread() >= spawned_before + 2,
        "the DELETE never started"
    );
    drop(delete);
    release_tx.send(()).unwrap();
    tokio::task::spawn_blocking(move || holder.join().unwrap())
        .await
        .unwrap();

    // Assert: the abandoned delete got the lock once it was free and finished its work.
    // Had dropping it waited for it, it would have failed on busy_timeout while the
    // other process still held the lock, and the key would stay.
    let mut gone = false;
    for _ in 0..100 {
        if store
            .get(key.customer_id(), key.id())
            .await
            .unwrap()
            .is_none()
        {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "the abandoned delete did not run to its end");
    store.ping().await.unwrap();
}
