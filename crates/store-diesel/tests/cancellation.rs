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
use keyward_store_diesel::testing::TestDatabase;

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
