//! Contract scenarios for [`AuditLog`]: every field of an event comes back as recorded, a
//! customer's events list newest first (id descending within one instant) with an exact
//! total and the action/target filters, a batch is stored whole or not at all, events
//! outlive the key they are about, and only retention removes them (a backlog of
//! thousands in one call).
//!
//! The scenarios create and delete keys through [`ApiKeyRepository`], so the fixture holds
//! both ports of one store ([`AuditFixture`]). Each scenario needs a store of its own:
//! `delete_audit_events_before` answers how many rows of the whole store it removed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::slice;
use std::sync::Arc;

use serde_json::json;
use time::macros::{datetime, offset};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::NOW;
use super::api_keys::{insert_uncapped, sample_key};
use crate::audit::{
    Actor, ActorType, AuditAction, AuditDetails, AuditEvent, AuditFilter, MAX_ACTOR_ID_CHARS,
};
use crate::ids::{AuditEventId, CustomerId};
use crate::keys::ApiKey;
use crate::ports::{ApiKeyRepository, AuditLog, Page, PageRequest, StorageError};

/// Stamps out every scenario below for an adapter. `setup` returns an [`AuditFixture`]
/// over a fresh, empty store (`None` to skip) and a guard kept alive for the scenario.
#[macro_export]
macro_rules! audit_log_contract {
    ($setup:path) => {
        $crate::__stamp_contract!($setup, audit;
            every_field_of_an_event_round_trips,
            awkward_text_round_trips_exactly,
            events_list_newest_first_by_instant_then_id_descending,
            pages_follow_the_newest_first_order_and_count_every_match,
            list_filters_by_action,
            list_filters_by_target,
            list_filters_by_action_and_target_together,
            customers_see_only_their_own_events,
            delete_before_removes_only_earlier_events_of_every_customer,
            delete_before_removes_a_backlog_of_several_batches,
            events_outlive_the_key_they_are_about,
            recording_an_empty_batch_is_ok_and_stores_nothing,
            a_batch_repeating_an_id_is_a_conflict_and_stores_nothing,
            a_batch_with_an_id_already_stored_is_a_conflict_and_stores_nothing,
            a_large_batch_is_stored_whole_or_not_at_all,
        );
    };
}

/// Two handles on one store: `keys` creates and deletes the keys that `audit` events are
/// about.
#[allow(missing_debug_implementations)]
pub struct AuditFixture {
    pub keys: Arc<dyn ApiKeyRepository>,
    pub audit: Arc<dyn AuditLog>,
}

/// An instant with microseconds that a store keeping only milliseconds (or seconds)
/// would lose.
const AT: OffsetDateTime = datetime!(2026-06-01 10:17:42.123456 UTC);

/// Far enough ahead that every stored event is before it.
const END_OF_TIME: OffsetDateTime = datetime!(9999-12-31 23:59:59 UTC);

const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));

/// A user's `action` on `target` of `customer` at `at`, from [`CLIENT_IP`].
fn event(
    customer: CustomerId,
    action: AuditAction,
    target: Uuid,
    at: OffsetDateTime,
) -> AuditEvent {
    let mut details = AuditDetails::new();
    details.insert("name".to_owned(), json!("Front desk tablet"));
    AuditEvent {
        id: AuditEventId::generate(),
        at,
        customer,
        actor: Actor::user("user-42"),
        ip: Some(CLIENT_IP),
        action,
        target_id: target,
        details,
    }
}

/// `json` (an object) as details.
fn details(json: serde_json::Value) -> AuditDetails {
    match json {
        serde_json::Value::Object(map) => map,
        other => panic!("details must be an object, not {other}"),
    }
}

fn page(page: u32, limit: u32) -> PageRequest {
    PageRequest::new(page, limit).unwrap()
}

fn only_action(action: AuditAction) -> AuditFilter {
    AuditFilter {
        action: Some(action),
        target_id: None,
    }
}

fn only_target(target: Uuid) -> AuditFilter {
    AuditFilter {
        action: None,
        target_id: Some(target),
    }
}

/// An event id with `first_byte` leading and random bytes after it.
fn id_starting_with(first_byte: u8) -> AuditEventId {
    let mut bytes = *Uuid::new_v4().as_bytes();
    bytes[0] = first_byte;
    AuditEventId::from_uuid(Uuid::from_bytes(bytes))
}

fn newest_first(events: &[AuditEvent]) -> Vec<AuditEvent> {
    let mut sorted = events.to_vec();
    sorted.sort_by_key(|event| std::cmp::Reverse((event.at, event.id)));
    sorted
}

async fn record(fixture: &AuditFixture, batch: &[AuditEvent]) {
    fixture.audit.record_audit_events(batch).await.unwrap();
}

async fn list(
    fixture: &AuditFixture,
    customer: CustomerId,
    filter: AuditFilter,
    request: PageRequest,
) -> Page<AuditEvent> {
    fixture
        .audit
        .list_audit_events(customer, filter, request)
        .await
        .unwrap()
}

/// Every event of `customer` matching `filter` (at most 100), newest first.
async fn all_matching(
    fixture: &AuditFixture,
    customer: CustomerId,
    filter: AuditFilter,
) -> Vec<AuditEvent> {
    let listed = list(fixture, customer, filter, page(1, 100)).await;
    assert_eq!(
        listed.total,
        listed.items.len() as u64,
        "more than one page"
    );
    listed.items
}

async fn all(fixture: &AuditFixture, customer: CustomerId) -> Vec<AuditEvent> {
    all_matching(fixture, customer, AuditFilter::default()).await
}

async fn total(fixture: &AuditFixture, customer: CustomerId) -> u64 {
    list(fixture, customer, AuditFilter::default(), page(1, 1))
        .await
        .total
}

async fn delete_before(fixture: &AuditFixture, cutoff: OffsetDateTime) -> u64 {
    fixture
        .audit
        .delete_audit_events_before(cutoff)
        .await
        .unwrap()
}

async fn new_key(fixture: &AuditFixture, key: ApiKey) -> ApiKey {
    insert_uncapped(&*fixture.keys, key).await
}

fn assert_conflict(result: &Result<(), StorageError>) {
    assert!(
        matches!(result, Err(StorageError::Conflict(_))),
        "expected a conflict, got {result:?}"
    );
}

pub async fn every_field_of_an_event_round_trips(fixture: &AuditFixture) {
    let customer = CustomerId::generate();
    let by_user = AuditEvent {
        actor: Actor::user("auth0|5f7c8ec7c33c6c004bbafe82"),
        ip: Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 23))),
        action: AuditAction::ApiKeyUpdated,
        details: details(json!({
            "scopes": ["songdb:read", "requests:write"],
            "active": false,
            "expiresAt": null,
            "name": "Café «Zürich» — 東京 🎤",
            "limits": {"perMinute": 120, "burst": [1, 2.5, -3], "nested": {"empty": {}, "none": []}},
            "largest": u64::MAX,
            "smallest": i64::MIN,
        })),
        ..event(customer, AuditAction::ApiKeyUpdated, Uuid::new_v4(), AT)
    };
    let by_service = AuditEvent {
        actor: Actor::api_key(crate::ids::KeyId::generate()),
        ip: Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))),
        action: AuditAction::VenueCreated,
        details: AuditDetails::new(),
        // An instant written at another offset: the same instant must come back.
        at: (AT - Duration::minutes(1)).to_offset(offset!(+05:30)),
        ..event(customer, AuditAction::VenueCreated, Uuid::new_v4(), AT)
    };
    // An IPv4 address mapped into IPv6 stays IPv6.
    let mapped = Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped();
    let by_internal_service = AuditEvent {
        actor: Actor::internal_service(),
        ip: Some(IpAddr::V6(mapped)),
        action: AuditAction::ServiceKeyRevealed,
        at: AT - Duration::microseconds(1),
        ..event(
            customer,
            AuditAction::ServiceKeyRevealed,
            Uuid::new_v4(),
            AT,
        )
    };
    let by_system = AuditEvent {
        actor: Actor::system(crate::audit::CLEANUP_ACTOR),
        ip: None,
        action: AuditAction::ApiKeyDeleted,
        details: details(json!({"reason": "expired"})),
        at: AT - Duration::hours(2),
        ..event(customer, AuditAction::ApiKeyDeleted, Uuid::new_v4(), AT)
    };
    let batch = [
        by_service.clone(),
        by_system.clone(),
        by_user.clone(),
        by_internal_service.clone(),
    ];

    record(fixture, &batch).await;

    let listed = all(fixture, customer).await;
    assert_eq!(
        listed,
        vec![by_user, by_internal_service, by_service, by_system]
    );
    let kinds: Vec<ActorType> = listed.iter().map(|event| event.actor.kind()).collect();
    assert_eq!(
        kinds,
        [
            ActorType::User,
            ActorType::Service,
            ActorType::Service,
            ActorType::System
        ]
    );
    assert_eq!(listed[0].at.microsecond(), 123_456);
    assert_eq!(listed[1].ip, Some(IpAddr::V6(mapped)));
    assert_eq!(listed[0].details["largest"], json!(u64::MAX));
}

pub async fn awkward_text_round_trips_exactly(fixture: &AuditFixture) {
    let customer = CustomerId::generate();
    let awkward = "it's \"quoted\" \\ back\\slashed \\\" 100% _wild_ \
                   '); DROP TABLE audit_events; -- 🦀👩‍👩‍👧 \u{1} \t\n\r {\"not\": \"json\"}";
    let quoted_actor = AuditEvent {
        actor: Actor::user(awkward),
        details: details(json!({
            awkward: awkward,
            "\\": ["\"", "\\\"", "'", "\u{7f}", "🎤"],
            "": "",
            "nested": {"\"key\"": {"🦀": [awkward]}},
        })),
        ..event(customer, AuditAction::VenueUpdated, Uuid::new_v4(), AT)
    };
    // The longest actor id, in characters that take four bytes each.
    let longest_id = "🦀".repeat(MAX_ACTOR_ID_CHARS);
    let longest_actor = AuditEvent {
        actor: Actor::user(&longest_id),
        at: AT - Duration::seconds(1),
        ..event(customer, AuditAction::VenueUpdated, Uuid::new_v4(), AT)
    };

    record(fixture, &[quoted_actor.clone(), longest_actor.clone()]).await;

    let listed = all(fixture, customer).await;
    assert_eq!(listed, vec![quoted_actor, longest_actor]);
    assert_eq!(listed[0].actor.id(), awkward);
    assert_eq!(listed[1].actor.id(), longest_id);
}

pub async fn events_list_newest_first_by_instant_then_id_descending(fixture: &AuditFixture) {
    let customer = CustomerId::generate();
    let target = Uuid::new_v4();
    // Ids compare by their bytes, i.e. their lower-case text: 0x80 after 0x7f (bytes read
    // unsigned), 0x0a after 0x09 (a letter after a digit). Recorded lowest id first, so
    // that insertion order would give the wrong answer.
    let same_instant: Vec<AuditEvent> = [0x09, 0x0a, 0x7f, 0x80]
        .into_iter()
        .map(|first_byte| AuditEvent {
            id: id_starting_with(first_byte),
            ..event(customer, AuditAction::ApiKeyUpdated, target, AT)
        })
        .collect();
    // 12:00 at +02:00 is 10:00 UTC: older than the others, though its local time is the
    // latest.
    let local_noon = AuditEvent {
        id: id_starting_with(0xff),
        ..event(
            customer,
            AuditAction::ApiKeyCreated,
            target,
            datetime!(2026-06-01 12:00 +02:00),
        )
    };
    let eleven_utc = AuditEvent {
        id: id_starting_with(0x00),
        ..event(
            customer,
            AuditAction::ApiKeyRotated,
            target,
            datetime!(2026-06-01 11:00 UTC),
        )
    };
    let a_microsecond_later = event(
        customer,
        AuditAction::ApiKeyRevoked,
        target,
        AT + Duration::microseconds(1),
    );
    let mut batch = vec![local_noon.clone(), a_microsecond_later.clone()];
    batch.extend(same_instant.iter().cloned());
    batch.push(eleven_utc.clone());

    record(fixture, &batch).await;

    let mut expected = vec![eleven_utc, a_microsecond_later];
    expected.extend(same_instant.into_iter().rev());
    expected.push(local_noon);
    assert_eq!(all(fixture, customer).await, expected);
    assert_eq!(expected[2].id.as_uuid().as_bytes()[0], 0x80);
}

pub async fn pages_follow_the_newest_first_order_and_count_every_match(fixture: &AuditFixture) {
    let customer = CustomerId::generate();
    let events: Vec<AuditEvent> = (0..7)
        .map(|minute| {
            event(
                customer,
                AuditAction::VenueUpdated,
                Uuid::new_v4(),
                AT + Duration::minutes(minute),
            )
        })
        .collect();
    record(fixture, &events).await;
    let expected = newest_first(&events);

    let pages: Vec<Page<AuditEvent>> = futures::future::join_all(
        (1..=5).map(|number| list(fixture, customer, AuditFilter::default(), page(number, 2))),
    )
    .await;

    for (number, listed) in (1..).zip(pages) {
        let start = usize::try_from((number - 1) * 2)
            .unwrap()
            .min(expected.len());
        let end = (start + 2).min(expected.len());
        assert_eq!(listed.items, expected[start..end], "page {number}");
        assert_eq!(listed.total, 7, "page {number}");
        assert_eq!(listed.request, page(number, 2));
    }
    let far_beyond = list(fixture, customer, AuditFilter::default(), page(1_000, 100)).await;
    assert_eq!((far_beyond.items, far_beyond.total), (vec![], 7));
    let one_page = list(fixture, customer, AuditFilter::default(), page(1, 100)).await;
    assert_eq!((one_page.items, one_page.total), (expected, 7));
}

/// The events `list_filters_*` scenarios look for: two targets of one customer, each with
/// two actions, and another customer's events about the same targets and actions.
struct FilterScene {
    customer: CustomerId,
    key: Uuid,
    other_key: Uuid,
    /// Oldest first.
    events: Vec<AuditEvent>,
}

async fn filter_scene(fixture: &AuditFixture) -> FilterScene {
    let customer = CustomerId::generate();
    let stranger = CustomerId::generate();
    let (key, other_key) = (Uuid::new_v4(), Uuid::new_v4());
    let plan = [
        (key, AuditAction::ApiKeyCreated),
        (other_key, AuditAction::ApiKeyCreated),
        (key, AuditAction::ApiKeyRotated),
        (other_key, AuditAction::ApiKeyUpdated),
        (key, AuditAction::ApiKeyRotated),
        (key, AuditAction::ApiKeyUpdated),
        (other_key, AuditAction::ApiKeyRotated),
    ];
    let events: Vec<AuditEvent> = (0..)
        .zip(plan)
        .map(|(minute, (target, action))| {
            event(customer, action, target, AT + Duration::minutes(minute))
        })
        .collect();
    let strangers: Vec<AuditEvent> = events
        .iter()
        .map(|mine| event(stranger, mine.action, mine.target_id, mine.at))
        .collect();
    record(fixture, &events).await;
    record(fixture, &strangers).await;
    FilterScene {
        customer,
        key,
        other_key,
        events,
    }
}

impl FilterScene {
    fn matching(&self, keep: impl Fn(&AuditEvent) -> bool) -> Vec<AuditEvent> {
        let kept: Vec<AuditEvent> = self.events.iter().filter(|e| keep(e)).cloned().collect();
        newest_first(&kept)
    }
}

pub async fn list_filters_by_action(fixture: &AuditFixture) {
    let scene = filter_scene(fixture).await;

    for (action, count) in [
        (AuditAction::ApiKeyRotated, 3),
        (AuditAction::ApiKeyCreated, 2),
        (AuditAction::ApiKeyUpdated, 2),
        (AuditAction::ApiKeyRevoked, 0),
        (AuditAction::VenueUpdated, 0),
    ] {
        let listed = all_matching(fixture, scene.customer, only_action(action)).await;
        assert_eq!(
            listed,
            scene.matching(|event| event.action == action),
            "{action}"
        );
        assert_eq!(listed.len(), count, "{action}");
    }
    let second_page = list(
        fixture,
        scene.customer,
        only_action(AuditAction::ApiKeyRotated),
        page(2, 2),
    )
    .await;
    let rotations = scene.matching(|event| event.action == AuditAction::ApiKeyRotated);
    assert_eq!(
        (second_page.items, second_page.total),
        (rotations[2..].to_vec(), 3)
    );
}

pub async fn list_filters_by_target(fixture: &AuditFixture) {
    let scene = filter_scene(fixture).await;

    for (target, count) in [(scene.key, 4), (scene.other_key, 3), (Uuid::new_v4(), 0)] {
        let listed = all_matching(fixture, scene.customer, only_target(target)).await;
        assert_eq!(
            listed,
            scene.matching(|event| event.target_id == target),
            "{target}"
        );
        assert_eq!(listed.len(), count, "{target}");
    }
    let first_page = list(fixture, scene.customer, only_target(scene.key), page(1, 3)).await;
    let about_key = scene.matching(|event| event.target_id == scene.key);
    assert_eq!(
        (first_page.items, first_page.total),
        (about_key[..3].to_vec(), 4)
    );
}

pub async fn list_filters_by_action_and_target_together(fixture: &AuditFixture) {
    let scene = filter_scene(fixture).await;

    for (target, action, count) in [
        (scene.key, AuditAction::ApiKeyRotated, 2),
        (scene.other_key, AuditAction::ApiKeyRotated, 1),
        (scene.key, AuditAction::ApiKeyUpdated, 1),
        (scene.other_key, AuditAction::ApiKeyDeleted, 0),
    ] {
        let filter = AuditFilter {
            action: Some(action),
            target_id: Some(target),
        };
        let listed = all_matching(fixture, scene.customer, filter).await;
        assert_eq!(
            listed,
            scene.matching(|event| event.action == action && event.target_id == target),
            "{action} on {target}"
        );
        assert_eq!(listed.len(), count, "{action} on {target}");
    }
}

pub async fn customers_see_only_their_own_events(fixture: &AuditFixture) {
    let (mine, theirs) = (CustomerId::generate(), CustomerId::generate());
    // The same target and action for both, as a forged id in a request could make.
    let target = Uuid::new_v4();
    let my_event = event(mine, AuditAction::VenueDeleted, target, AT);
    let their_event = event(theirs, AuditAction::VenueDeleted, target, AT);
    record(fixture, &[my_event.clone(), their_event.clone()]).await;

    for filter in [
        AuditFilter::default(),
        only_action(AuditAction::VenueDeleted),
        only_target(target),
    ] {
        assert_eq!(
            all_matching(fixture, mine, filter).await,
            vec![my_event.clone()]
        );
        assert_eq!(
            all_matching(fixture, theirs, filter).await,
            vec![their_event.clone()]
        );
        let stranger = list(
            fixture,
            CustomerId::generate(),
            filter,
            PageRequest::default(),
        )
        .await;
        assert_eq!((stranger.items, stranger.total), (vec![], 0));
    }
}

pub async fn delete_before_removes_only_earlier_events_of_every_customer(fixture: &AuditFixture) {
    let (mine, theirs) = (CustomerId::generate(), CustomerId::generate());
    let cutoff = AT;
    let times = [
        cutoff - Duration::days(400),
        cutoff - Duration::microseconds(1),
        cutoff,
        cutoff + Duration::microseconds(1),
    ];
    let batch: Vec<AuditEvent> = times
        .iter()
        .flat_map(|at| {
            [mine, theirs]
                .map(|customer| event(customer, AuditAction::ApiKeyCreated, Uuid::new_v4(), *at))
        })
        .collect();
    record(fixture, &batch).await;

    let deleted = delete_before(fixture, cutoff).await;

    assert_eq!(deleted, 4, "two instants before the cutoff, two customers");
    for customer in [mine, theirs] {
        let kept: Vec<AuditEvent> = batch
            .iter()
            .filter(|event| event.customer == customer && event.at >= cutoff)
            .cloned()
            .collect();
        assert_eq!(all(fixture, customer).await, newest_first(&kept));
        assert_eq!(kept.len(), 2);
    }
    assert_eq!(delete_before(fixture, cutoff).await, 0);
    // The same instant at another offset is the same cutoff.
    assert_eq!(
        delete_before(fixture, cutoff.to_offset(offset!(-07:00))).await,
        0
    );
    assert_eq!(
        delete_before(fixture, cutoff + Duration::microseconds(2)).await,
        4
    );
    assert_eq!(total(fixture, mine).await + total(fixture, theirs).await, 0);
}

/// How many expired events [`delete_before_removes_a_backlog_of_several_batches`]
/// records: more than two of the SQL stores' deletion batches
/// (`keyward_store_diesel`'s `AUDIT_DELETE_BATCH`, 5,000 events; its tests check this),
/// and no multiple of one.
pub const EXPIRED_BACKLOG: u32 = 12_000;

/// A backlog of expired events, as a flood or a lowered `audit.retention_days` leaves (the
/// SQL stores delete it a batch at a time), goes in one call: every event before the
/// cutoff, of every customer, counted exactly; none from the cutoff on.
pub async fn delete_before_removes_a_backlog_of_several_batches(fixture: &AuditFixture) {
    let (mine, theirs) = (CustomerId::generate(), CustomerId::generate());
    let cutoff = AT;
    // Ten events an instant, the newest a microsecond before the cutoff, alternating
    // between the customers.
    let expired = (0..EXPIRED_BACKLOG).map(|index| {
        let customer = if index % 2 == 0 { mine } else { theirs };
        let at = cutoff - Duration::microseconds(i64::from(index / 10 + 1));
        event(customer, AuditAction::ApiKeyDeleted, Uuid::new_v4(), at)
    });
    let kept = [
        cutoff,
        cutoff + Duration::microseconds(1),
        cutoff + Duration::days(1),
    ]
    .map(|at| event(mine, AuditAction::ApiKeyCreated, Uuid::new_v4(), at));
    // The kept events first, so that insertion order is not the order of `at`.
    let batch: Vec<AuditEvent> = kept.iter().cloned().chain(expired).collect();
    record(fixture, &batch).await;

    let deleted = delete_before(fixture, cutoff).await;

    assert_eq!(deleted, u64::from(EXPIRED_BACKLOG));
    assert_eq!(all(fixture, mine).await, newest_first(&kept));
    assert_eq!(total(fixture, theirs).await, 0);
    assert_eq!(delete_before(fixture, cutoff).await, 0);
    assert_eq!(delete_before(fixture, END_OF_TIME).await, 3);
}

pub async fn events_outlive_the_key_they_are_about(fixture: &AuditFixture) {
    let customer = CustomerId::generate();
    let deleted = new_key(fixture, sample_key(customer, NOW)).await;
    let mut parts = sample_key(customer, NOW - Duration::days(90)).into_parts();
    parts.expires_at = Some(NOW - Duration::days(60));
    let expired = new_key(fixture, ApiKey::from_parts(parts)).await;
    let about = |key: &ApiKey, action, at| AuditEvent {
        actor: Actor::api_key(key.id()),
        ..event(customer, action, key.id().as_uuid(), at)
    };
    let events = [
        about(
            &expired,
            AuditAction::ApiKeyCreated,
            NOW - Duration::days(90),
        ),
        about(&deleted, AuditAction::ApiKeyCreated, NOW),
        about(
            &deleted,
            AuditAction::ApiKeyRevoked,
            NOW + Duration::minutes(1),
        ),
        about(
            &deleted,
            AuditAction::ApiKeyDeleted,
            NOW + Duration::minutes(2),
        ),
    ];
    record(fixture, &events).await;

    assert!(fixture.keys.delete(customer, deleted.id()).await.unwrap());
    let cleaned = fixture
        .keys
        .delete_expired_before(NOW - Duration::days(30))
        .await
        .unwrap();
    assert_eq!(cleaned, vec![(customer, expired.id())]);
    assert_eq!(fixture.keys.find_by_id(expired.id()).await.unwrap(), None);

    assert_eq!(all(fixture, customer).await, newest_first(&events));
    let about_deleted = all_matching(fixture, customer, only_target(deleted.id().as_uuid())).await;
    assert_eq!(about_deleted.len(), 3);
    // An event about a key deleted already is stored too.
    let late = about(
        &deleted,
        AuditAction::ApiKeyDeleted,
        NOW + Duration::minutes(3),
    );
    record(fixture, slice::from_ref(&late)).await;
    assert_eq!(all(fixture, customer).await[0], late);
}

pub async fn recording_an_empty_batch_is_ok_and_stores_nothing(fixture: &AuditFixture) {
    let customer = CustomerId::generate();

    fixture.audit.record_audit_events(&[]).await.unwrap();

    let listed = list(fixture, customer, AuditFilter::default(), page(1, 20)).await;
    assert_eq!((listed.items, listed.total), (vec![], 0));
    assert_eq!(delete_before(fixture, END_OF_TIME).await, 0);
}

pub async fn a_batch_repeating_an_id_is_a_conflict_and_stores_nothing(fixture: &AuditFixture) {
    let customer = CustomerId::generate();
    let first = event(customer, AuditAction::VenueCreated, Uuid::new_v4(), AT);
    let other = event(customer, AuditAction::VenueUpdated, Uuid::new_v4(), AT);
    let repeat = AuditEvent {
        action: AuditAction::VenueDeleted,
        at: AT + Duration::seconds(1),
        ..first.clone()
    };

    let result = fixture
        .audit
        .record_audit_events(&[first.clone(), other.clone(), repeat])
        .await;

    assert_conflict(&result);
    assert_eq!(total(fixture, customer).await, 0);
    // The same events without the repeat are stored: nothing of the failed batch is left
    // in the way.
    record(fixture, &[first.clone(), other.clone()]).await;
    assert_eq!(all(fixture, customer).await, newest_first(&[first, other]));
}

pub async fn a_batch_with_an_id_already_stored_is_a_conflict_and_stores_nothing(
    fixture: &AuditFixture,
) {
    let customer = CustomerId::generate();
    let stored = event(customer, AuditAction::ServiceKeyCreated, Uuid::new_v4(), AT);
    record(fixture, slice::from_ref(&stored)).await;
    let new_ones: Vec<AuditEvent> = (1..=3)
        .map(|second| {
            event(
                customer,
                AuditAction::ServiceKeyRevealed,
                stored.target_id,
                AT + Duration::seconds(second),
            )
        })
        .collect();
    // The stored id last, under another customer and with other fields: the id alone
    // clashes.
    let again = AuditEvent {
        customer: CustomerId::generate(),
        action: AuditAction::ServiceKeyDeleted,
        at: AT + Duration::hours(1),
        ..stored.clone()
    };
    let mut batch = new_ones.clone();
    batch.push(again.clone());

    let result = fixture.audit.record_audit_events(&batch).await;

    assert_conflict(&result);
    assert_eq!(all(fixture, customer).await, vec![stored.clone()]);
    assert_eq!(total(fixture, again.customer).await, 0);
    assert_conflict(
        &fixture
            .audit
            .record_audit_events(slice::from_ref(&stored))
            .await,
    );
    record(fixture, &new_ones).await;
    assert_eq!(total(fixture, customer).await, 4);
}

/// A batch as large as the expired-key cleanup may record at once (more rows than one
/// SQL statement can bind on either backend) is stored in full, and a clash in its last
/// event leaves none of it stored.
pub async fn a_large_batch_is_stored_whole_or_not_at_all(fixture: &AuditFixture) {
    const EVENTS: u32 = 7_000;
    let customer = CustomerId::generate();
    let deletion = |customer, index: u32| AuditEvent {
        actor: Actor::system(crate::audit::CLEANUP_ACTOR),
        ip: None,
        details: details(json!({"reason": "expired"})),
        ..event(
            customer,
            AuditAction::ApiKeyDeleted,
            Uuid::new_v4(),
            AT + Duration::microseconds(index.into()),
        )
    };
    let batch: Vec<AuditEvent> = (0..EVENTS).map(|index| deletion(customer, index)).collect();

    record(fixture, &batch).await;

    let newest = list(fixture, customer, AuditFilter::default(), page(1, 3)).await;
    assert_eq!(newest.total, u64::from(EVENTS));
    assert_eq!(newest.items, newest_first(&batch)[..3]);
    let oldest = list(
        fixture,
        customer,
        AuditFilter::default(),
        page(EVENTS / 100, 100),
    )
    .await;
    assert_eq!(oldest.items.last(), batch.first());

    let other = CustomerId::generate();
    let mut clashing: Vec<AuditEvent> = (0..EVENTS).map(|index| deletion(other, index)).collect();
    clashing.push(AuditEvent {
        customer: other,
        ..batch[0].clone()
    });
    assert_conflict(&fixture.audit.record_audit_events(&clashing).await);
    assert_eq!(total(fixture, other).await, 0);
    assert_eq!(total(fixture, customer).await, u64::from(EVENTS));
    assert_eq!(delete_before(fixture, END_OF_TIME).await, u64::from(EVENTS));
}
