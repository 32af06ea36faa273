use mockall::predicate::eq;

use super::*;
use crate::ids::CustomerId;
use crate::ports::{MockClock, MockRequestRepository};
use crate::requests::{RequestId, SongRequestParts};
use crate::serial::{Serial, WithSerial};
use crate::testing::NOW;
use crate::testing::fixtures::{song, venue};

fn service(repo: MockRequestRepository) -> RequestService {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(NOW);
    RequestService::new(Arc::new(repo), Arc::new(clock))
}

fn submission() -> Submission {
    Submission {
        singer: SingerName::new("Alice").unwrap(),
        song: song("ABBA", "Waterloo"),
        key_change: KeyChange::new(-2).unwrap(),
    }
}

fn stored(customer: CustomerId, venue: &Venue, request: NewRequest) -> SongRequest {
    SongRequest::from_parts(SongRequestParts {
        id: RequestId::FIRST,
        customer_id: customer,
        venue_id: venue.id(),
        singer: request.singer,
        song: request.song,
        key_change: request.key_change,
        requested_at: request.requested_at,
        processed_at: None,
    })
}

#[tokio::test]
async fn submission_to_an_accepting_venue_is_stored_with_the_current_time() {
    let customer = CustomerId::generate();
    let open = venue(customer, 0, true);
    let mut repo = MockRequestRepository::new();
    let for_reply = open.clone();
    repo.expect_add_request()
        .withf(move |c, _, r| {
            *c == customer && r.requested_at == NOW && r.singer.as_str() == "Alice"
        })
        .times(1)
        .returning(move |c, _, r| Ok(WithSerial::new(stored(c, &for_reply, r), Serial::INITIAL)));

    let request = service(repo).submit(&open, submission()).await.unwrap();

    assert_eq!(request.venue_id(), open.id());
    assert_eq!(request.song(), &song("ABBA", "Waterloo"));
}

#[tokio::test]
async fn submission_to_a_closed_venue_is_refused_before_storage() {
    let closed = venue(CustomerId::generate(), 0, false);
    let mut repo = MockRequestRepository::new();
    repo.expect_add_request().never();

    let err = service(repo)
        .submit(&closed, submission())
        .await
        .unwrap_err();

    assert!(matches!(err, RequestError::NotAccepting), "{err:?}");
}

#[tokio::test]
async fn venue_closed_between_lookup_and_write_is_not_accepting() {
    let open = venue(CustomerId::generate(), 0, true);
    let mut repo = MockRequestRepository::new();
    repo.expect_add_request()
        .returning(|_, _, _| Err(AddRequestError::NotAccepting));

    let err = service(repo).submit(&open, submission()).await.unwrap_err();

    assert!(matches!(err, RequestError::NotAccepting), "{err:?}");
}

#[tokio::test]
async fn venue_deleted_between_lookup_and_write_is_venue_not_found() {
    let open = venue(CustomerId::generate(), 0, true);
    let mut repo = MockRequestRepository::new();
    repo.expect_add_request()
        .returning(|_, _, _| Err(AddRequestError::VenueNotFound));

    let err = service(repo).submit(&open, submission()).await.unwrap_err();

    assert!(matches!(err, RequestError::VenueNotFound), "{err:?}");
}

#[tokio::test]
async fn delete_marks_the_request_processed_now() {
    let open = venue(CustomerId::generate(), 0, true);
    let mut repo = MockRequestRepository::new();
    repo.expect_mark_request_processed()
        .with(
            eq(open.customer_id()),
            eq(open.id()),
            eq(RequestId::new(7).unwrap()),
            eq(NOW),
        )
        .times(1)
        .returning(|_, _, _, _| Ok(WithSerial::new(true, Serial::INITIAL)));

    let deleted = service(repo)
        .delete(&open, RequestId::new(7).unwrap())
        .await
        .unwrap();

    assert!(deleted);
}

#[tokio::test]
async fn clear_reports_how_many_requests_left_the_queue() {
    let open = venue(CustomerId::generate(), 0, true);
    let mut repo = MockRequestRepository::new();
    repo.expect_clear_queue()
        .with(eq(open.customer_id()), eq(open.id()), eq(NOW))
        .returning(|_, _, _| Ok(WithSerial::new(3, Serial::INITIAL)));

    assert_eq!(service(repo).clear(&open).await.unwrap(), 3);
}
