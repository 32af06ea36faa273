use crate::testing::recorded_audit::RecordedAudit;
use mockall::predicate::eq;
use time::Duration;

use super::*;
use crate::ports::{MockClock, MockVenueRepository};
use crate::serial::{Serial, WithSerial};
use crate::testing::NOW;
use crate::testing::fixtures::venue;
use crate::venues::VenueParts;

fn clock_at(now: time::OffsetDateTime) -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(now);
    Arc::new(clock)
}

fn service(repo: MockVenueRepository) -> VenueService {
    VenueService::new(Arc::new(repo), clock_at(NOW), RecordedAudit::trail().0)
}

fn stored(new: &NewVenue) -> WithSerial<Venue> {
    let venue = Venue::from_parts(VenueParts {
        id: new.id,
        customer_id: new.customer_id,
        openkj_venue_id: new.openkj_venue_id.unwrap_or(OpenKjVenueId::FIRST),
        name: new.name.clone(),
        url_name: new.url_name.clone(),
        accepting_requests: new.accepting_requests,
        system_id: new.system_id,
        created_at: new.created_at,
        updated_at: new.created_at,
    });
    WithSerial::new(venue, Serial::INITIAL.next())
}

fn named(name: &str) -> CreateVenue {
    CreateVenue::named(VenueName::new(name).unwrap())
}

#[tokio::test]
async fn create_derives_the_url_name_from_the_name() {
    let mut repo = MockVenueRepository::new();
    repo.expect_insert_venue()
        .withf(|v| v.url_name.as_str() == "the-rusty-mic" && !v.accepting_requests)
        .times(1)
        .returning(|v| Ok(stored(&v)));

    let created = service(repo)
        .create(&ctx(), CustomerId::generate(), named("The Rusty Mic"))
        .await
        .unwrap();

    assert_eq!(created.url_name().as_str(), "the-rusty-mic");
    assert_eq!(created.created_at(), NOW);
}

#[tokio::test]
async fn create_with_a_taken_derived_url_name_tries_numbered_suffixes() {
    let mut repo = MockVenueRepository::new();
    repo.expect_insert_venue()
        .withf(|v| v.url_name.as_str() != "the-rusty-mic-3")
        .times(2)
        .returning(|_| Err(StorageError::Conflict("url_name")));
    repo.expect_insert_venue()
        .withf(|v| v.url_name.as_str() == "the-rusty-mic-3")
        .times(1)
        .returning(|v| Ok(stored(&v)));

    let created = service(repo)
        .create(&ctx(), CustomerId::generate(), named("The Rusty Mic"))
        .await
        .unwrap();

    assert_eq!(created.url_name().as_str(), "the-rusty-mic-3");
}

#[tokio::test]
async fn create_gives_up_after_the_last_suffix() {
    let mut repo = MockVenueRepository::new();
    repo.expect_insert_venue()
        .times(MAX_DERIVED_URL_NAME_ATTEMPTS as usize)
        .returning(|_| Err(StorageError::Conflict("url_name")));

    let err = service(repo)
        .create(&ctx(), CustomerId::generate(), named("Bar"))
        .await
        .unwrap_err();

    assert!(matches!(err, VenueError::UrlNameTaken), "{err:?}");
}

#[tokio::test]
async fn create_with_a_taken_explicit_url_name_is_refused_without_retrying() {
    let mut repo = MockVenueRepository::new();
    repo.expect_insert_venue()
        .times(1)
        .returning(|_| Err(StorageError::Conflict("url_name")));
    let request = CreateVenue {
        url_name: Some(UrlName::new("taken").unwrap()),
        ..named("Bar")
    };

    let err = service(repo)
        .create(&ctx(), CustomerId::generate(), request)
        .await
        .unwrap_err();

    assert!(matches!(err, VenueError::UrlNameTaken), "{err:?}");
}

#[tokio::test]
async fn create_with_a_taken_openkj_id_is_refused() {
    let mut repo = MockVenueRepository::new();
    repo.expect_insert_venue()
        .times(1)
        .returning(|_| Err(StorageError::Conflict("openkj_venue_id")));

    let err = service(repo)
        .create(&ctx(), CustomerId::generate(), named("Bar"))
        .await
        .unwrap_err();

    assert!(matches!(err, VenueError::OpenKjVenueIdTaken), "{err:?}");
}

#[tokio::test]
async fn update_that_changes_nothing_writes_nothing() {
    let customer = CustomerId::generate();
    let current = venue(customer, 0, true);
    let mut repo = MockVenueRepository::new();
    let returned = current.clone();
    repo.expect_get_venue()
        .returning(move |_, _| Ok(Some(returned.clone())));
    repo.expect_update_venue().never();
    let changes = VenueChanges {
        accepting_requests: Some(true),
        name: Some(current.name().clone()),
        ..VenueChanges::default()
    };

    let updated = service(repo)
        .update(&ctx(), customer, current.id(), changes)
        .await
        .unwrap();

    assert_eq!(updated, current);
}

#[tokio::test]
async fn update_applies_changes_and_stamps_updated_at() {
    let customer = CustomerId::generate();
    let current = venue(customer, 0, true);
    let later = NOW + Duration::hours(1);
    let mut repo = MockVenueRepository::new();
    let returned = current.clone();
    repo.expect_get_venue()
        .with(eq(customer), eq(current.id()))
        .returning(move |_, _| Ok(Some(returned.clone())));
    repo.expect_update_venue()
        .withf(move |v| {
            v.name().as_str() == "Renamed"
                && !v.is_accepting_requests()
                && v.system_id().get() == 2
                && v.updated_at() == later
        })
        .times(1)
        .returning(|v| Ok(WithSerial::new(v.clone(), Serial::INITIAL)));
    let changes = VenueChanges {
        name: Some(VenueName::new("Renamed").unwrap()),
        accepting_requests: Some(false),
        system_id: Some(SystemId::new(2).unwrap()),
        url_name: None,
    };

    let updated = VenueService::new(Arc::new(repo), clock_at(later), RecordedAudit::trail().0)
        .update(&ctx(), customer, current.id(), changes)
        .await
        .unwrap();

    assert_eq!(updated.url_name(), current.url_name());
}

#[tokio::test]
async fn update_of_an_unknown_venue_is_not_found() {
    let mut repo = MockVenueRepository::new();
    repo.expect_get_venue().returning(|_, _| Ok(None));

    let err = service(repo)
        .update(
            &ctx(),
            CustomerId::generate(),
            VenueId::generate(),
            VenueChanges::default(),
        )
        .await
        .unwrap_err();

    assert!(matches!(err, VenueError::NotFound), "{err:?}");
}

#[tokio::test]
async fn update_losing_a_race_with_delete_is_not_found() {
    let customer = CustomerId::generate();
    let current = venue(customer, 0, true);
    let mut repo = MockVenueRepository::new();
    let returned = current.clone();
    repo.expect_get_venue()
        .returning(move |_, _| Ok(Some(returned.clone())));
    repo.expect_update_venue()
        .returning(|_| Err(VenueWriteError::NotFound));
    let changes = VenueChanges {
        accepting_requests: Some(false),
        ..VenueChanges::default()
    };

    let err = service(repo)
        .update(&ctx(), customer, current.id(), changes)
        .await
        .unwrap_err();

    assert!(matches!(err, VenueError::NotFound), "{err:?}");
}

#[tokio::test]
async fn set_accepting_opens_the_venue_and_switches_its_song_book() {
    let customer = CustomerId::generate();
    let closed = venue(customer, 0, false);
    let mut repo = MockVenueRepository::new();
    let returned = closed.clone();
    repo.expect_find_venue_by_openkj_id()
        .with(eq(customer), eq(OpenKjVenueId::FIRST))
        .returning(move |_, _| Ok(Some(returned.clone())));
    repo.expect_update_venue()
        .withf(|v| v.is_accepting_requests() && v.system_id().get() == 2)
        .times(1)
        .returning(|v| Ok(WithSerial::new(v.clone(), Serial::INITIAL)));

    let opened = service(repo)
        .set_accepting(
            &ctx(),
            customer,
            OpenKjVenueId::FIRST,
            true,
            Some(SystemId::new(2).unwrap()),
        )
        .await
        .unwrap();

    assert!(opened.is_accepting_requests());
}

#[tokio::test]
async fn set_accepting_to_the_current_state_writes_nothing() {
    let customer = CustomerId::generate();
    let open = venue(customer, 0, true);
    let mut repo = MockVenueRepository::new();
    repo.expect_find_venue_by_openkj_id()
        .returning(move |_, _| Ok(Some(open.clone())));
    repo.expect_update_venue().never();

    let result = service(repo)
        .set_accepting(&ctx(), customer, OpenKjVenueId::FIRST, true, None)
        .await;

    assert!(result.unwrap().is_accepting_requests());
}

#[tokio::test]
async fn set_accepting_of_an_unknown_venue_is_not_found() {
    let mut repo = MockVenueRepository::new();
    repo.expect_find_venue_by_openkj_id()
        .returning(|_, _| Ok(None));

    let err = service(repo)
        .set_accepting(
            &ctx(),
            CustomerId::generate(),
            OpenKjVenueId::FIRST,
            true,
            None,
        )
        .await
        .unwrap_err();

    assert!(matches!(err, VenueError::NotFound), "{err:?}");
}

#[tokio::test]
async fn delete_of_an_unknown_venue_is_not_found() {
    let mut repo = MockVenueRepository::new();
    repo.expect_delete_venue()
        .returning(|_, _| Ok(WithSerial::new(false, Serial::INITIAL)));

    let err = service(repo)
        .delete(&ctx(), CustomerId::generate(), VenueId::generate())
        .await
        .unwrap_err();

    assert!(matches!(err, VenueError::NotFound), "{err:?}");
}

#[tokio::test]
async fn unavailable_storage_is_reported_as_storage_error() {
    let mut repo = MockVenueRepository::new();
    repo.expect_list_venues()
        .returning(|_| Err(StorageError::unavailable("down")));

    let err = service(repo)
        .list(CustomerId::generate())
        .await
        .unwrap_err();

    assert!(
        matches!(err, VenueError::Storage(StorageError::Unavailable(_))),
        "{err:?}"
    );
}

/// The caller of every change in these tests.
fn ctx() -> crate::audit::RequestContext {
    crate::audit::RequestContext::system("test")
}
