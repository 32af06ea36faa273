//! Contract scenarios for [`SerialRepository`] and for how the other OpenKJ ports move
//! the serial. Scenarios take the whole [`OpenKjStore`]: a serial is only interesting
//! next to the changes that move it.

use super::NOW;
use super::fixtures::{new_request, new_venue};
use crate::ids::CustomerId;
use crate::ports::OpenKjStore;
use crate::serial::Serial;
use crate::songbook::Song;
use crate::venues::SystemId;

/// Stamps out every scenario below for an adapter; `setup` returns
/// `Option<(Arc<dyn OpenKjStore>, guard)>`.
#[macro_export]
macro_rules! serial_repository_contract {
    ($setup:path) => {
        $crate::__stamp_contract!($setup, serial;
            serial_of_a_customer_without_state_is_one,
            seeded_serial_reads_back,
            each_change_moves_the_serial_by_one_and_reports_it,
            serial_wraps_from_int32_max_to_one,
            serial_of_one_customer_ignores_another_customers_changes,
            reads_never_move_the_serial,
        );
    };
}

pub async fn serial_of_a_customer_without_state_is_one(store: &dyn OpenKjStore) {
    let serial = store.current_serial(CustomerId::generate()).await.unwrap();
    assert_eq!(serial, Serial::INITIAL);
}

pub async fn seeded_serial_reads_back(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let seeded = Serial::new(123_456).unwrap();

    store.seed_serial(customer, seeded).await.unwrap();
    store.seed_serial(customer, seeded.next()).await.unwrap();

    assert_eq!(store.current_serial(customer).await.unwrap(), seeded.next());
}

pub async fn each_change_moves_the_serial_by_one_and_reports_it(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let start = store.current_serial(customer).await.unwrap();

    let venue = store.insert_venue(new_venue(customer)).await.unwrap();
    let request = store
        .add_request(customer, venue.value.id(), new_request("Alice", NOW))
        .await
        .unwrap();
    let deleted = store
        .mark_request_processed(customer, venue.value.id(), request.value.id(), NOW)
        .await
        .unwrap();

    assert_eq!(venue.serial, start.next());
    assert_eq!(request.serial, start.next().next());
    assert_eq!(deleted.serial, start.next().next().next());
    assert_eq!(
        store.current_serial(customer).await.unwrap(),
        deleted.serial
    );
}

pub async fn serial_wraps_from_int32_max_to_one(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    store
        .seed_serial(customer, Serial::new(i32::MAX - 1).unwrap())
        .await
        .unwrap();

    let at_max = store.insert_venue(new_venue(customer)).await.unwrap();
    let wrapped = store
        .add_request(customer, at_max.value.id(), new_request("Alice", NOW))
        .await
        .unwrap();

    assert_eq!(at_max.serial, Serial::MAX);
    assert_eq!(wrapped.serial, Serial::INITIAL);
    assert_eq!(
        store.current_serial(customer).await.unwrap(),
        Serial::INITIAL
    );
}

pub async fn serial_of_one_customer_ignores_another_customers_changes(store: &dyn OpenKjStore) {
    let (mine, theirs) = (CustomerId::generate(), CustomerId::generate());
    let mine_before = store.current_serial(mine).await.unwrap();

    let venue = store.insert_venue(new_venue(theirs)).await.unwrap();
    store
        .add_request(theirs, venue.value.id(), new_request("Bob", NOW))
        .await
        .unwrap();
    store
        .add_songs(theirs, SystemId::DEFAULT, &[Song::new("A", "B").unwrap()])
        .await
        .unwrap();
    store
        .clear_song_book(theirs, SystemId::DEFAULT)
        .await
        .unwrap();

    assert_eq!(store.current_serial(mine).await.unwrap(), mine_before);
}

pub async fn reads_never_move_the_serial(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let venue = store.insert_venue(new_venue(customer)).await.unwrap().value;
    let before = store.current_serial(customer).await.unwrap();

    store.list_venues(customer).await.unwrap();
    store.get_venue(customer, venue.id()).await.unwrap();
    store
        .find_venue_by_url_name(venue.url_name())
        .await
        .unwrap();
    store.queued_requests(customer, venue.id()).await.unwrap();
    store.current_serial(customer).await.unwrap();

    assert_eq!(store.current_serial(customer).await.unwrap(), before);
}
