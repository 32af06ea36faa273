//! Contract scenarios for [`VenueRepository`](crate::ports::VenueRepository).

use time::Duration;

use super::NOW;
use super::fixtures::{new_request, new_venue, new_venue_with_openkj_id, unique_url_name};
use crate::ids::{CustomerId, VenueId};
use crate::ports::{OpenKjStore, RequestFilter, StorageError, VenueWriteError};
use crate::venues::{OpenKjVenueId, SystemId, Venue, VenueName};

/// Stamps out every scenario below for an adapter; `setup` returns
/// `Option<(Arc<dyn OpenKjStore>, guard)>`.
#[macro_export]
macro_rules! venue_repository_contract {
    ($setup:path) => {
        $crate::__stamp_contract!($setup, venues;
            inserted_venue_reads_back_by_id_openkj_id_and_url_name,
            first_venue_gets_openkj_id_zero_and_later_ones_count_up,
            assignment_continues_after_the_largest_explicit_id,
            assignment_past_int32_max_is_a_conflict,
            two_customers_may_use_the_same_openkj_id,
            duplicate_openkj_id_of_one_customer_is_a_conflict,
            url_name_is_unique_across_customers,
            venue_of_another_customer_is_invisible,
            list_is_ordered_by_openkj_id_and_shows_only_own_venues,
            update_replaces_mutable_fields_and_keeps_identity,
            update_of_missing_or_foreign_venue_is_not_found,
            update_to_a_taken_url_name_is_a_conflict,
            delete_removes_the_venue_and_its_requests,
            delete_of_missing_or_foreign_venue_changes_nothing,
        );
    };
}

fn openkj(id: i32) -> OpenKjVenueId {
    OpenKjVenueId::new(id).unwrap()
}

fn assert_conflict(err: &StorageError, rule: &str) {
    assert!(
        matches!(err, StorageError::Conflict(r) if *r == rule),
        "expected Conflict({rule}), got {err:?}"
    );
}

pub async fn inserted_venue_reads_back_by_id_openkj_id_and_url_name(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let new = new_venue(customer);

    let stored = store.insert_venue(new.clone()).await.unwrap().value;

    assert_eq!(stored.id(), new.id);
    assert_eq!(stored.customer_id(), customer);
    assert_eq!(stored.name(), &new.name);
    assert_eq!(stored.url_name(), &new.url_name);
    assert!(stored.is_accepting_requests());
    assert_eq!(stored.system_id(), SystemId::DEFAULT);
    assert_eq!((stored.created_at(), stored.updated_at()), (NOW, NOW));
    let by_id = store.get_venue(customer, new.id).await.unwrap();
    let by_openkj = store
        .find_venue_by_openkj_id(customer, stored.openkj_venue_id())
        .await
        .unwrap();
    let by_url = store.find_venue_by_url_name(&new.url_name).await.unwrap();
    assert_eq!(by_id.as_ref(), Some(&stored));
    assert_eq!(by_openkj.as_ref(), Some(&stored));
    assert_eq!(by_url.as_ref(), Some(&stored));
}

pub async fn first_venue_gets_openkj_id_zero_and_later_ones_count_up(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();

    let first = store.insert_venue(new_venue(customer)).await.unwrap().value;
    let second = store.insert_venue(new_venue(customer)).await.unwrap().value;
    let third = store.insert_venue(new_venue(customer)).await.unwrap().value;

    assert_eq!(first.openkj_venue_id(), openkj(0));
    assert_eq!(second.openkj_venue_id(), openkj(1));
    assert_eq!(third.openkj_venue_id(), openkj(2));
}

pub async fn assignment_continues_after_the_largest_explicit_id(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    store
        .insert_venue(new_venue_with_openkj_id(customer, 41))
        .await
        .unwrap();

    let assigned = store.insert_venue(new_venue(customer)).await.unwrap().value;

    assert_eq!(assigned.openkj_venue_id(), openkj(42));
}

pub async fn assignment_past_int32_max_is_a_conflict(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    store
        .insert_venue(new_venue_with_openkj_id(customer, i32::MAX))
        .await
        .unwrap();

    let err = store.insert_venue(new_venue(customer)).await.unwrap_err();

    assert_conflict(&err, "openkj_venue_id");
    assert_eq!(store.list_venues(customer).await.unwrap().len(), 1);
}

pub async fn two_customers_may_use_the_same_openkj_id(store: &dyn OpenKjStore) {
    let (one, two) = (CustomerId::generate(), CustomerId::generate());

    let first = store.insert_venue(new_venue(one)).await.unwrap().value;
    let second = store.insert_venue(new_venue(two)).await.unwrap().value;

    assert_eq!(first.openkj_venue_id(), second.openkj_venue_id());
    let seen_by_two = store
        .find_venue_by_openkj_id(two, second.openkj_venue_id())
        .await
        .unwrap();
    assert_eq!(seen_by_two.map(|v| v.id()), Some(second.id()));
}

pub async fn duplicate_openkj_id_of_one_customer_is_a_conflict(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    store
        .insert_venue(new_venue_with_openkj_id(customer, 7))
        .await
        .unwrap();
    let before = store.current_serial(customer).await.unwrap();

    let err = store
        .insert_venue(new_venue_with_openkj_id(customer, 7))
        .await
        .unwrap_err();

    assert_conflict(&err, "openkj_venue_id");
    assert_eq!(store.current_serial(customer).await.unwrap(), before);
}

pub async fn url_name_is_unique_across_customers(store: &dyn OpenKjStore) {
    let taken = store
        .insert_venue(new_venue(CustomerId::generate()))
        .await
        .unwrap()
        .value;
    let mut twin = new_venue(CustomerId::generate());
    twin.url_name = taken.url_name().clone();

    let err = store.insert_venue(twin.clone()).await.unwrap_err();

    assert_conflict(&err, "url_name");
    assert_eq!(
        store.get_venue(twin.customer_id, twin.id).await.unwrap(),
        None
    );
}

pub async fn venue_of_another_customer_is_invisible(store: &dyn OpenKjStore) {
    let venue = store
        .insert_venue(new_venue(CustomerId::generate()))
        .await
        .unwrap()
        .value;
    let stranger = CustomerId::generate();

    assert_eq!(store.get_venue(stranger, venue.id()).await.unwrap(), None);
    let by_openkj = store
        .find_venue_by_openkj_id(stranger, venue.openkj_venue_id())
        .await
        .unwrap();
    assert_eq!(by_openkj, None);
    assert_eq!(
        store
            .get_venue(venue.customer_id(), VenueId::generate())
            .await
            .unwrap(),
        None
    );
}

pub async fn list_is_ordered_by_openkj_id_and_shows_only_own_venues(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    for id in [5, 0, 3] {
        store
            .insert_venue(new_venue_with_openkj_id(customer, id))
            .await
            .unwrap();
    }
    store
        .insert_venue(new_venue(CustomerId::generate()))
        .await
        .unwrap();

    let ids: Vec<i32> = store
        .list_venues(customer)
        .await
        .unwrap()
        .iter()
        .map(|v| v.openkj_venue_id().get())
        .collect();

    assert_eq!(ids, [0, 3, 5]);
    assert!(
        store
            .list_venues(CustomerId::generate())
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn update_replaces_mutable_fields_and_keeps_identity(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let stored = store.insert_venue(new_venue(customer)).await.unwrap();
    let later = NOW + Duration::minutes(5);
    let mut parts = stored.value.clone().into_parts();
    parts.name = VenueName::new("Mic Drop Lounge — Zürich").unwrap();
    parts.url_name = unique_url_name("mic-drop");
    parts.accepting_requests = false;
    parts.system_id = SystemId::new(3).unwrap();
    parts.updated_at = later;
    parts.openkj_venue_id = openkj(99);
    parts.created_at = later;
    let changed = Venue::from_parts(parts.clone());

    let updated = store.update_venue(&changed).await.unwrap();

    let expected = Venue::from_parts(crate::venues::VenueParts {
        openkj_venue_id: stored.value.openkj_venue_id(),
        created_at: NOW,
        ..parts
    });
    assert_eq!(updated.value, expected);
    assert_eq!(updated.serial, stored.serial.next());
    assert_eq!(
        store.get_venue(customer, expected.id()).await.unwrap(),
        Some(expected)
    );
}

pub async fn update_of_missing_or_foreign_venue_is_not_found(store: &dyn OpenKjStore) {
    let stored = store
        .insert_venue(new_venue(CustomerId::generate()))
        .await
        .unwrap()
        .value;
    let mut foreign = stored.clone().into_parts();
    foreign.customer_id = CustomerId::generate();
    let mut missing = stored.into_parts();
    missing.id = VenueId::generate();

    for venue in [foreign, missing] {
        let err = store
            .update_venue(&Venue::from_parts(venue))
            .await
            .unwrap_err();
        assert!(matches!(err, VenueWriteError::NotFound), "{err:?}");
    }
}

pub async fn update_to_a_taken_url_name_is_a_conflict(store: &dyn OpenKjStore) {
    let taken = store
        .insert_venue(new_venue(CustomerId::generate()))
        .await
        .unwrap()
        .value;
    let mine = store
        .insert_venue(new_venue(CustomerId::generate()))
        .await
        .unwrap()
        .value;
    let mut parts = mine.clone().into_parts();
    parts.url_name = taken.url_name().clone();

    let err = store
        .update_venue(&Venue::from_parts(parts))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            VenueWriteError::Storage(StorageError::Conflict("url_name"))
        ),
        "{err:?}"
    );
    assert_eq!(
        store
            .get_venue(mine.customer_id(), mine.id())
            .await
            .unwrap(),
        Some(mine)
    );
}

pub async fn delete_removes_the_venue_and_its_requests(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let venue = store.insert_venue(new_venue(customer)).await.unwrap().value;
    let request = store
        .add_request(customer, venue.id(), new_request("Alice", NOW))
        .await
        .unwrap();

    let deleted = store.delete_venue(customer, venue.id()).await.unwrap();

    assert!(deleted.value);
    assert_eq!(deleted.serial, request.serial.next());
    assert_eq!(store.get_venue(customer, venue.id()).await.unwrap(), None);
    assert_eq!(
        store
            .find_venue_by_url_name(venue.url_name())
            .await
            .unwrap(),
        None
    );
    let page = store
        .list_requests(
            customer,
            venue.id(),
            RequestFilter::default(),
            crate::ports::PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(page.total, 0);
}

pub async fn delete_of_missing_or_foreign_venue_changes_nothing(store: &dyn OpenKjStore) {
    let venue = store
        .insert_venue(new_venue(CustomerId::generate()))
        .await
        .unwrap();
    let stranger = CustomerId::generate();

    let foreign = store
        .delete_venue(stranger, venue.value.id())
        .await
        .unwrap();
    let missing = store
        .delete_venue(venue.value.customer_id(), VenueId::generate())
        .await
        .unwrap();

    assert!(!foreign.value);
    assert_eq!(
        foreign.serial,
        store.current_serial(stranger).await.unwrap()
    );
    assert!(!missing.value);
    assert_eq!(missing.serial, venue.serial);
    assert!(
        store
            .get_venue(venue.value.customer_id(), venue.value.id())
            .await
            .unwrap()
            .is_some()
    );
}
