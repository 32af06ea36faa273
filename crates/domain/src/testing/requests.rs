//! Contract scenarios for [`RequestRepository`](crate::ports::RequestRepository).

use std::collections::HashSet;

use futures::future::join_all;
use futures::stream::{self, StreamExt};
use time::Duration;

use super::NOW;
use super::fixtures::{new_request, new_venue, new_venue_with_openkj_id, song};
use crate::ids::{CustomerId, VenueId};
use crate::ports::{AddRequestError, OpenKjStore, PageRequest, RequestFilter};
use crate::requests::{KeyChange, RequestId, SongRequest};
use crate::serial::Serial;
use crate::venues::Venue;

/// Stamps out every scenario below for an adapter; `setup` returns
/// `Option<(Arc<dyn OpenKjStore>, guard)>`.
#[macro_export]
macro_rules! request_repository_contract {
    ($setup:path) => {
        $crate::__stamp_contract!($setup, requests;
            added_request_reads_back_queued_with_id_one,
            request_ids_count_up_per_customer,
            request_to_a_venue_not_accepting_is_refused_and_changes_nothing,
            request_to_a_missing_or_foreign_venue_is_venue_not_found,
            queue_is_oldest_first_then_by_id,
            queues_are_separate_per_venue_and_per_customer,
            processed_request_leaves_the_queue_but_stays_in_history,
            deleting_an_unknown_or_already_processed_request_is_harmless,
            deleting_another_venues_request_does_nothing,
            clear_empties_the_queue_of_one_venue_and_moves_the_serial,
            clearing_an_empty_queue_keeps_the_serial,
            list_filters_by_processed_and_pages,
            concurrent_submissions_racing_clears_and_deletes_lose_nothing,
        );
    };
}

/// Submissions outstanding at once in the concurrency scenario.
const IN_FLIGHT: usize = 50;

async fn accepting_venue(store: &dyn OpenKjStore, customer: CustomerId) -> Venue {
    store.insert_venue(new_venue(customer)).await.unwrap().value
}

async fn queue(store: &dyn OpenKjStore, venue: &Venue) -> Vec<SongRequest> {
    store
        .queued_requests(venue.customer_id(), venue.id())
        .await
        .unwrap()
}

fn singers(requests: &[SongRequest]) -> Vec<&str> {
    requests.iter().map(|r| r.singer().as_str()).collect()
}

pub async fn added_request_reads_back_queued_with_id_one(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let venue = accepting_venue(store, customer).await;
    let before = store.current_serial(customer).await.unwrap();

    let added = store
        .add_request(customer, venue.id(), new_request("Alice", NOW))
        .await
        .unwrap();

    let request = &added.value;
    assert_eq!(request.id(), RequestId::FIRST);
    assert_eq!(request.customer_id(), customer);
    assert_eq!(request.venue_id(), venue.id());
    assert_eq!(request.singer().as_str(), "Alice");
    assert_eq!(request.song(), &song("ABBA", "Waterloo"));
    assert_eq!(request.key_change(), KeyChange::new(-2).unwrap());
    assert_eq!(request.requested_at(), NOW);
    assert!(!request.is_processed());
    assert_eq!(added.serial, before.next());
    assert_eq!(queue(store, &venue).await, [added.value]);
}

pub async fn request_ids_count_up_per_customer(store: &dyn OpenKjStore) {
    let (one, two) = (CustomerId::generate(), CustomerId::generate());
    let venue_a = accepting_venue(store, one).await;
    let venue_b = accepting_venue(store, one).await;
    let other = accepting_venue(store, two).await;

    let mut ids = Vec::new();
    for (customer, venue) in [
        (one, &venue_a),
        (one, &venue_b),
        (two, &other),
        (one, &venue_a),
    ] {
        let added = store
            .add_request(customer, venue.id(), new_request("Alice", NOW))
            .await
            .unwrap();
        ids.push(added.value.id().get());
    }

    assert_eq!(ids, [1, 2, 1, 3]);
}

pub async fn request_to_a_venue_not_accepting_is_refused_and_changes_nothing(
    store: &dyn OpenKjStore,
) {
    let customer = CustomerId::generate();
    let mut closed = new_venue(customer);
    closed.accepting_requests = false;
    let venue = store.insert_venue(closed).await.unwrap().value;
    let before = store.current_serial(customer).await.unwrap();

    let err = store
        .add_request(customer, venue.id(), new_request("Alice", NOW))
        .await
        .unwrap_err();

    assert!(matches!(err, AddRequestError::NotAccepting), "{err:?}");
    assert!(queue(store, &venue).await.is_empty());
    assert_eq!(store.current_serial(customer).await.unwrap(), before);
}

pub async fn request_to_a_missing_or_foreign_venue_is_venue_not_found(store: &dyn OpenKjStore) {
    let venue = accepting_venue(store, CustomerId::generate()).await;
    let stranger = CustomerId::generate();

    let foreign = store
        .add_request(stranger, venue.id(), new_request("Mallory", NOW))
        .await
        .unwrap_err();
    let missing = store
        .add_request(
            venue.customer_id(),
            VenueId::generate(),
            new_request("Bob", NOW),
        )
        .await
        .unwrap_err();

    assert!(
        matches!(foreign, AddRequestError::VenueNotFound),
        "{foreign:?}"
    );
    assert!(
        matches!(missing, AddRequestError::VenueNotFound),
        "{missing:?}"
    );
    assert!(queue(store, &venue).await.is_empty());
    assert_eq!(
        store.current_serial(stranger).await.unwrap(),
        Serial::INITIAL
    );
}

pub async fn queue_is_oldest_first_then_by_id(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let venue = accepting_venue(store, customer).await;
    let later = NOW + Duration::seconds(30);
    for (singer, at) in [("Late", later), ("Early", NOW), ("Tie", NOW)] {
        store
            .add_request(customer, venue.id(), new_request(singer, at))
            .await
            .unwrap();
    }

    let queued = queue(store, &venue).await;

    assert_eq!(singers(&queued), ["Early", "Tie", "Late"]);
}

pub async fn queues_are_separate_per_venue_and_per_customer(store: &dyn OpenKjStore) {
    let (one, two) = (CustomerId::generate(), CustomerId::generate());
    let mine = store
        .insert_venue(new_venue_with_openkj_id(one, 0))
        .await
        .unwrap()
        .value;
    let my_other = store
        .insert_venue(new_venue_with_openkj_id(one, 1))
        .await
        .unwrap()
        .value;
    let theirs = store
        .insert_venue(new_venue_with_openkj_id(two, 0))
        .await
        .unwrap()
        .value;
    for (customer, venue, singer) in [
        (one, &mine, "Mine"),
        (one, &my_other, "Other"),
        (two, &theirs, "Theirs"),
    ] {
        store
            .add_request(customer, venue.id(), new_request(singer, NOW))
            .await
            .unwrap();
    }

    assert_eq!(singers(&queue(store, &mine).await), ["Mine"]);
    assert_eq!(singers(&queue(store, &my_other).await), ["Other"]);
    assert_eq!(singers(&queue(store, &theirs).await), ["Theirs"]);
    let peeking = store.queued_requests(two, mine.id()).await.unwrap();
    assert!(peeking.is_empty());
}

pub async fn processed_request_leaves_the_queue_but_stays_in_history(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let venue = accepting_venue(store, customer).await;
    let added = store
        .add_request(customer, venue.id(), new_request("Alice", NOW))
        .await
        .unwrap();
    let done_at = NOW + Duration::minutes(3);

    let processed = store
        .mark_request_processed(customer, venue.id(), added.value.id(), done_at)
        .await
        .unwrap();

    assert!(processed.value);
    assert_eq!(processed.serial, added.serial.next());
    assert!(queue(store, &venue).await.is_empty());
    let history = store
        .list_requests(
            customer,
            venue.id(),
            RequestFilter {
                processed: Some(true),
            },
            PageRequest::default(),
        )
        .await
        .unwrap();
    let mut expected = added.value.into_parts();
    expected.processed_at = Some(done_at);
    assert_eq!(history.items, [SongRequest::from_parts(expected)]);
}

pub async fn deleting_an_unknown_or_already_processed_request_is_harmless(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let venue = accepting_venue(store, customer).await;
    let added = store
        .add_request(customer, venue.id(), new_request("Alice", NOW))
        .await
        .unwrap();
    store
        .mark_request_processed(customer, venue.id(), added.value.id(), NOW)
        .await
        .unwrap();
    let before = store.current_serial(customer).await.unwrap();

    let again = store
        .mark_request_processed(customer, venue.id(), added.value.id(), NOW)
        .await
        .unwrap();
    let unknown = store
        .mark_request_processed(
            customer,
            venue.id(),
            RequestId::new(999_999_999).unwrap(),
            NOW,
        )
        .await
        .unwrap();

    assert!(!again.value);
    assert!(!unknown.value);
    assert_eq!((again.serial, unknown.serial), (before, before));
}

pub async fn deleting_another_venues_request_does_nothing(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let venue = accepting_venue(store, customer).await;
    let elsewhere = accepting_venue(store, customer).await;
    let added = store
        .add_request(customer, venue.id(), new_request("Alice", NOW))
        .await
        .unwrap();

    let wrong_venue = store
        .mark_request_processed(customer, elsewhere.id(), added.value.id(), NOW)
        .await
        .unwrap();
    let wrong_customer = store
        .mark_request_processed(CustomerId::generate(), venue.id(), added.value.id(), NOW)
        .await
        .unwrap();

    assert!(!wrong_venue.value);
    assert!(!wrong_customer.value);
    assert_eq!(queue(store, &venue).await, [added.value]);
}

pub async fn clear_empties_the_queue_of_one_venue_and_moves_the_serial(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let venue = accepting_venue(store, customer).await;
    let elsewhere = accepting_venue(store, customer).await;
    for (v, singer) in [(&venue, "A"), (&venue, "B"), (&elsewhere, "C")] {
        store
            .add_request(customer, v.id(), new_request(singer, NOW))
            .await
            .unwrap();
    }
    let before = store.current_serial(customer).await.unwrap();

    let cleared = store.clear_queue(customer, venue.id(), NOW).await.unwrap();

    assert_eq!(cleared.value, 2);
    assert_eq!(cleared.serial, before.next());
    assert!(queue(store, &venue).await.is_empty());
    assert_eq!(singers(&queue(store, &elsewhere).await), ["C"]);
}

pub async fn clearing_an_empty_queue_keeps_the_serial(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let venue = accepting_venue(store, customer).await;
    let before = store.current_serial(customer).await.unwrap();

    let cleared = store.clear_queue(customer, venue.id(), NOW).await.unwrap();

    assert_eq!((cleared.value, cleared.serial), (0, before));
}

pub async fn list_filters_by_processed_and_pages(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let venue = accepting_venue(store, customer).await;
    for i in 0..5 {
        let at = NOW + Duration::seconds(i);
        store
            .add_request(customer, venue.id(), new_request(&format!("S{i}"), at))
            .await
            .unwrap();
    }
    for id in [2, 4] {
        store
            .mark_request_processed(customer, venue.id(), RequestId::new(id).unwrap(), NOW)
            .await
            .unwrap();
    }
    let list = |processed, page, limit| {
        store.list_requests(
            customer,
            venue.id(),
            RequestFilter { processed },
            PageRequest::new(page, limit).unwrap(),
        )
    };

    let all_second_page = list(None, 2, 2).await.unwrap();
    let queued = list(Some(false), 1, 10).await.unwrap();
    let history = list(Some(true), 1, 10).await.unwrap();

    assert_eq!(all_second_page.total, 5);
    assert_eq!(singers(&all_second_page.items), ["S2", "S3"]);
    assert_eq!(singers(&queued.items), ["S0", "S2", "S4"]);
    assert_eq!(singers(&history.items), ["S1", "S3"]);
}

/// Submissions that race the host's clears and deletes: every request that was accepted
/// is afterwards either still queued or in the history, none twice, and the serial moved
/// exactly once per effective change.
///
/// At most [`IN_FLIGHT`] submissions are outstanding at once: far more than any pool has
/// connections, so writes really interleave, without queueing hundreds of callers on a
/// pool whose wait timeout would then decide the outcome (a load question, not this
/// contract's).
pub async fn concurrent_submissions_racing_clears_and_deletes_lose_nothing(
    store: &dyn OpenKjStore,
) {
    const SUBMISSIONS: i32 = 500;
    let customer = CustomerId::generate();
    let venue = accepting_venue(store, customer).await;
    let start = store.current_serial(customer).await.unwrap();

    let submissions = stream::iter(0..SUBMISSIONS)
        .map(|i| {
            let at = NOW + Duration::milliseconds(i.into());
            store.add_request(
                customer,
                venue.id(),
                new_request(&format!("Singer {i}"), at),
            )
        })
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<_>>();
    let clear_calls = join_all((0..20).map(|_| store.clear_queue(customer, venue.id(), NOW)));
    let delete_calls = join_all((1..=40).map(|id| {
        let id = RequestId::new(id * 7).unwrap();
        store.mark_request_processed(customer, venue.id(), id, NOW)
    }));
    let (added, cleared, deleted) = futures::join!(submissions, clear_calls, delete_calls);

    let added: Vec<SongRequest> = added.into_iter().map(|r| r.unwrap().value).collect();
    let effective_clears = cleared
        .iter()
        .filter(|c| c.as_ref().unwrap().value > 0)
        .count();
    let effective_deletes = deleted.iter().filter(|d| d.as_ref().unwrap().value).count();
    let queued: HashSet<i32> = queue(store, &venue)
        .await
        .iter()
        .map(|r| r.id().get())
        .collect();
    let mut processed = HashSet::new();
    for page in 1..=5 {
        let history = store
            .list_requests(
                customer,
                venue.id(),
                RequestFilter {
                    processed: Some(true),
                },
                PageRequest::new(page, 100).unwrap(),
            )
            .await
            .unwrap();
        processed.extend(history.items.iter().map(|r| r.id().get()));
    }
    let accepted: HashSet<i32> = added.iter().map(|r| r.id().get()).collect();
    assert_eq!(
        accepted.len(),
        SUBMISSIONS as usize,
        "request ids must be unique"
    );
    assert!(queued.is_disjoint(&processed));
    assert_eq!(&queued | &processed, accepted);
    let changes = SUBMISSIONS as usize + effective_clears + effective_deletes;
    let mut expected = start;
    for _ in 0..changes {
        expected = expected.next();
    }
    assert_eq!(store.current_serial(customer).await.unwrap(), expected);
}
