//! The serial cache over the memory store: polls are answered from memory, and every
//! write that moves the serial — here or on another instance — is seen by the next poll.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use keyward_cache::{CacheOptions, CachedOpenKj, Caches};
use keyward_domain::CustomerId;
use keyward_domain::ports::{
    ChangeFeed, ChangeSink, ChangeSubscription, RequestRepository, SerialRepository,
    VenueRepository,
};
use keyward_domain::serial::Serial;
use keyward_domain::testing::NOW;
use keyward_domain::testing::fixtures::{new_request, new_venue};
use keyward_store_memory::MemoryStore;

struct Instance {
    caches: Caches,
    openkj: CachedOpenKj,
    subscription: ChangeSubscription,
}

fn instance(store: &Arc<MemoryStore>) -> Instance {
    let caches = Caches::new(CacheOptions::default());
    let subscription = store.subscribe(Arc::new(caches.clone()));
    Instance {
        openkj: CachedOpenKj::new(store.clone(), &caches),
        caches,
        subscription,
    }
}

#[tokio::test]
async fn a_poll_is_answered_from_memory_until_the_serial_moves() {
    // Arrange: a serial cached, then moved behind the cache's back (no feed delivery:
    // a store of its own with no subscriber).
    let store = Arc::new(MemoryStore::new());
    let customer = CustomerId::generate();
    let app = instance(&store);
    let cached = app.openkj.current_serial(customer).await.unwrap();
    let unwatched: &MemoryStore = &store;
    drop(app.subscription);
    unwatched
        .seed_serial(customer, Serial::new(500).unwrap())
        .await
        .unwrap();

    // Act
    let polled = app.openkj.current_serial(customer).await.unwrap();

    // Assert: still the remembered serial — proof the poll did not reach the store.
    assert_eq!(cached, Serial::INITIAL);
    assert_eq!(polled, Serial::INITIAL);
}

#[tokio::test]
async fn a_request_added_here_moves_the_next_polled_serial() {
    let store = Arc::new(MemoryStore::new());
    let customer = CustomerId::generate();
    let app = instance(&store);
    let venue = app.openkj.insert_venue(new_venue(customer)).await.unwrap();
    let before = app.openkj.current_serial(customer).await.unwrap();

    let added = app
        .openkj
        .add_request(customer, venue.value.id(), new_request("Alice", NOW))
        .await
        .unwrap();

    assert_eq!(
        app.openkj.current_serial(customer).await.unwrap(),
        added.serial
    );
    assert_ne!(added.serial, before);
}

#[tokio::test]
async fn a_serial_moved_by_another_instance_is_seen() {
    let store = Arc::new(MemoryStore::new());
    let customer = CustomerId::generate();
    let (one, other) = (instance(&store), instance(&store));
    let venue = one.openkj.insert_venue(new_venue(customer)).await.unwrap();
    // Three polls: the second copies the serial for this thread, the third reads the copy.
    let before = other.openkj.current_serial(customer).await.unwrap();
    for _ in 0..2 {
        assert_eq!(other.openkj.current_serial(customer).await.unwrap(), before);
    }

    let added = one
        .openkj
        .add_request(customer, venue.value.id(), new_request("Bob", NOW))
        .await
        .unwrap();

    let seen = other.openkj.current_serial(customer).await.unwrap();
    assert_eq!(seen, added.serial);
    assert_ne!(seen, before);
}

#[tokio::test]
async fn no_serial_is_remembered_while_the_feed_is_down() {
    let store = Arc::new(MemoryStore::new());
    let customer = CustomerId::generate();
    let app = instance(&store);
    drop(app.subscription);
    app.caches.set_feed_healthy(false);
    app.openkj.current_serial(customer).await.unwrap();

    store
        .seed_serial(customer, Serial::new(77).unwrap())
        .await
        .unwrap();

    assert_eq!(
        app.openkj.current_serial(customer).await.unwrap(),
        Serial::new(77).unwrap()
    );
}
