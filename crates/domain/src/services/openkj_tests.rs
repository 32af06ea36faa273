use mockall::predicate::eq;

use super::*;
use crate::ids::KeyId;
use crate::ports::{
    MockClock, MockRequestRepository, MockSerialRepository, MockSongBookRepository,
    MockVenueRepository,
};
use crate::requests::SongRequestParts;
use crate::scope::ScopeSet;
use crate::serial::WithSerial;
use crate::testing::NOW;
use crate::testing::fixtures::{song, venue};
use crate::testing::recorded_audit::RecordedAudit;

/// The mocks behind an `OpenKjService`; tests set expectations, then call `service()`.
#[derive(Default)]
struct Mocks {
    venues: MockVenueRepository,
    requests: MockRequestRepository,
    songs: MockSongBookRepository,
    serials: MockSerialRepository,
    policy: OpenKjPolicy,
}

impl Mocks {
    fn service(self) -> OpenKjService {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(NOW);
        let clock: Arc<dyn Clock> = Arc::new(clock);
        OpenKjService::new(
            VenueService::new(
                Arc::new(self.venues),
                clock.clone(),
                RecordedAudit::trail().0,
            ),
            RequestService::new(Arc::new(self.requests), clock.clone()),
            SongBookService::new(Arc::new(self.songs)),
            Arc::new(self.serials),
            clock,
            self.policy,
        )
    }
}

fn key(scopes: &[Scope]) -> VerifiedKey {
    VerifiedKey {
        key_id: KeyId::generate(),
        customer_id: CustomerId::generate(),
        scopes: ScopeSet::of(scopes).unwrap(),
        expires_at: None,
    }
}

fn openkj(id: i32) -> OpenKjVenueId {
    OpenKjVenueId::new(id).unwrap()
}

#[test]
fn every_command_needs_the_endpoint_scopes_first_then_its_own() {
    let needs = |command| OpenKjService::required_scopes(command).collect::<Vec<_>>();
    let endpoint = [Scope::RequestsWrite, Scope::SongdbRead];

    assert_eq!(needs(Command::GetAlert), endpoint);
    // Search needs songdb:read, which the endpoint already asks for.
    assert_eq!(
        needs(Command::Search),
        [endpoint[0], endpoint[1], Scope::SongdbRead]
    );
    assert_eq!(
        needs(Command::GetSerial),
        [endpoint[0], endpoint[1], Scope::RequestsRead]
    );
    assert_eq!(
        needs(Command::GetVenues),
        [endpoint[0], endpoint[1], Scope::VenuesRead]
    );
    assert_eq!(
        needs(Command::SetAccepting),
        [endpoint[0], endpoint[1], Scope::VenuesWrite]
    );
    assert_eq!(
        needs(Command::AddSongs),
        [endpoint[0], endpoint[1], Scope::SongdbWrite]
    );
}

#[test]
fn torture_test_hook_is_not_an_authenticated_command() {
    assert!(!Command::TestingAddRandomRequest.is_authenticated());
    assert!(Command::GetSerial.is_authenticated());
}

#[test]
fn entitled_system_count_is_at_least_one() {
    let service = Mocks {
        policy: OpenKjPolicy {
            entitled_systems: 0,
            ..OpenKjPolicy::default()
        },
        ..Mocks::default()
    }
    .service();

    assert_eq!(service.entitled_system_count(), 1);
}

#[tokio::test]
async fn serial_is_the_customers_current_serial() {
    let customer = CustomerId::generate();
    let mut mocks = Mocks::default();
    mocks
        .serials
        .expect_current_serial()
        .with(eq(customer))
        .returning(|_| Ok(Serial::new(77).unwrap()));

    let serial = mocks.service().serial(customer).await.unwrap();

    assert_eq!(serial.get(), 77);
}

#[tokio::test]
async fn requests_of_an_unknown_venue_are_an_empty_queue() {
    let mut mocks = Mocks::default();
    mocks
        .venues
        .expect_find_venue_by_openkj_id()
        .returning(|_, _| Ok(None));
    mocks.requests.expect_queued_requests().never();

    let requests = mocks
        .service()
        .requests(CustomerId::generate(), openkj(0))
        .await
        .unwrap();

    assert!(requests.is_empty());
}

#[tokio::test]
async fn delete_of_request_id_zero_touches_nothing() {
    let mut mocks = Mocks::default();
    mocks.venues.expect_find_venue_by_openkj_id().never();
    mocks.requests.expect_mark_request_processed().never();

    let deleted = mocks
        .service()
        .delete_request(CustomerId::generate(), openkj(0), 0)
        .await
        .unwrap();

    assert!(!deleted);
}

#[tokio::test]
async fn delete_and_clear_at_an_unknown_venue_are_harmless() {
    let mut mocks = Mocks::default();
    mocks
        .venues
        .expect_find_venue_by_openkj_id()
        .returning(|_, _| Ok(None));
    let service = mocks.service();
    let customer = CustomerId::generate();

    let deleted = service
        .delete_request(customer, openkj(9), 5)
        .await
        .unwrap();
    let cleared = service.clear_requests(customer, openkj(9)).await.unwrap();

    assert!(!deleted);
    assert_eq!(cleared, 0);
}

#[tokio::test]
async fn uploads_and_set_accepting_refuse_systems_beyond_the_entitlement() {
    let mut mocks = Mocks {
        policy: OpenKjPolicy {
            entitled_systems: 2,
            ..OpenKjPolicy::default()
        },
        ..Mocks::default()
    };
    mocks.songs.expect_clear_song_book().never();
    mocks.songs.expect_add_songs().never();
    mocks.venues.expect_find_venue_by_openkj_id().never();
    let service = mocks.service();
    let (customer, three) = (CustomerId::generate(), SystemId::new(3).unwrap());

    let cleared = service.clear_database(customer, three).await.unwrap_err();
    let added = service
        .add_songs(customer, three, vec![Some(("A".into(), "B".into()))])
        .await
        .unwrap_err();
    let opened = service
        .set_accepting(&ctx(), customer, openkj(0), true, Some(three))
        .await
        .unwrap_err();

    for err in [cleared, added, opened] {
        assert!(
            matches!(err, OpenKjError::SystemNotEntitled { max: 2 }),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn set_accepting_of_an_unknown_venue_is_an_unknown_venue() {
    let mut mocks = Mocks::default();
    mocks
        .venues
        .expect_find_venue_by_openkj_id()
        .returning(|_, _| Ok(None));

    let err = mocks
        .service()
        .set_accepting(&ctx(), CustomerId::generate(), openkj(4), true, None)
        .await
        .unwrap_err();

    assert!(matches!(err, OpenKjError::UnknownVenue), "{err:?}");
}

#[tokio::test]
async fn singer_commands_without_venue_id_use_the_only_venue() {
    let customer = CustomerId::generate();
    let only = venue(customer, 3, true);
    let mut mocks = Mocks::default();
    let listed = only.clone();
    mocks
        .venues
        .expect_list_venues()
        .returning(move |_| Ok(vec![listed.clone()]));

    let resolved = mocks.service().resolve_venue(customer, None).await.unwrap();

    assert_eq!(resolved, only);
}

#[tokio::test]
async fn singer_commands_without_venue_id_need_one_when_there_are_several() {
    let customer = CustomerId::generate();
    let mut mocks = Mocks::default();
    mocks
        .venues
        .expect_list_venues()
        .returning(move |c| Ok(vec![venue(c, 0, true), venue(c, 1, true)]));

    let err = mocks
        .service()
        .resolve_venue(customer, None)
        .await
        .unwrap_err();

    assert!(matches!(err, OpenKjError::VenueRequired), "{err:?}");
}

#[tokio::test]
async fn singer_commands_without_venue_id_and_without_venues_are_unknown_venue() {
    let mut mocks = Mocks::default();
    mocks.venues.expect_list_venues().returning(|_| Ok(vec![]));

    let err = mocks
        .service()
        .resolve_venue(CustomerId::generate(), None)
        .await
        .unwrap_err();

    assert!(matches!(err, OpenKjError::UnknownVenue), "{err:?}");
}

#[tokio::test]
async fn submit_song_requests_the_song_book_entry_verbatim() {
    let customer = CustomerId::generate();
    let open = venue(customer, 0, true);
    let mut mocks = Mocks::default();
    let found = open.clone();
    mocks
        .venues
        .expect_find_venue_by_openkj_id()
        .returning(move |_, _| Ok(Some(found.clone())));
    mocks
        .songs
        .expect_get_song()
        .with(eq(customer), eq(SongId::new(42)))
        .returning(|_, id| {
            Ok(Some(StoredSong {
                id,
                song: song("Guns N' Roses", "\"Sweet Child O' Mine\""),
            }))
        });
    mocks
        .requests
        .expect_add_request()
        .withf(|_, _, r| r.song.title() == "\"Sweet Child O' Mine\"")
        .times(1)
        .returning(|c, v, r| {
            let parts = SongRequestParts {
                id: RequestId::FIRST,
                customer_id: c,
                venue_id: v,
                singer: r.singer,
                song: r.song,
                key_change: r.key_change,
                requested_at: r.requested_at,
                processed_at: None,
            };
            Ok(WithSerial::new(
                SongRequest::from_parts(parts),
                Serial::INITIAL,
            ))
        });

    let request = mocks
        .service()
        .submit_song(
            customer,
            Some(openkj(0)),
            SongId::new(42),
            SingerName::new("Alice").unwrap(),
            KeyChange::default(),
        )
        .await
        .unwrap();

    assert_eq!(request.song().artist(), "Guns N' Roses");
}

#[tokio::test]
async fn song_search_at_a_venue_uses_the_venues_song_book() {
    let customer = CustomerId::generate();
    let mut parts = venue(customer, 0, true).into_parts();
    parts.system_id = SystemId::new(2).unwrap();
    let at_system_two = Venue::from_parts(parts);
    let mut mocks = Mocks::default();
    mocks
        .venues
        .expect_find_venue_by_openkj_id()
        .returning(move |_, _| Ok(Some(at_system_two.clone())));
    mocks
        .songs
        .expect_search_songs()
        .withf(|_, system, _, _| system.get() == 2)
        .times(1)
        .returning(|_, _, _, page| {
            Ok(Page {
                items: vec![],
                total: 0,
                request: page,
            })
        });

    let found = mocks
        .service()
        .songs(
            customer,
            Some(openkj(0)),
            None,
            &SongQuery::all(),
            PageRequest::default(),
        )
        .await
        .unwrap();

    assert_eq!(found.total, 0);
}

#[test]
fn alert_names_what_the_key_is_missing() {
    let service = Mocks::default().service();

    let alert = service.alert(&key(&ENDPOINT_SCOPES)).unwrap();

    assert!(alert.message.contains("venues:write"), "{alert:?}");
}

/// The caller of every change in these tests.
fn ctx() -> crate::audit::RequestContext {
    crate::audit::RequestContext::system("test")
}
