//! The audit trail the services write (SPEC §12, ADR 0056): who, from where, what — and a
//! change that stands even when its event cannot be stored.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use keyward_domain::audit::{Actor, ActorType, AuditAction, RequestContext};
use keyward_domain::keys::KeyName;
use keyward_domain::ports::{
    Clock, MockApiKeyRepository, MockAuditLog, MockUsageRecorder, OsSecretGenerator, StorageError,
};
use keyward_domain::services::{ApiKeyService, AuditTrail, KeyPolicy, NewKey};
use keyward_domain::testing::recorded_audit::RecordedAudit;
use keyward_domain::{CustomerId, KeyId, Scope, ScopeSet};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-06-01 12:00:00.123456 UTC);
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        NOW
    }
}

fn service(repo: MockApiKeyRepository, audit: AuditTrail) -> ApiKeyService {
    ApiKeyService::new(
        Arc::new(repo),
        Arc::new(FixedClock),
        Arc::new(OsSecretGenerator::default()),
        Arc::new(MockUsageRecorder::new()),
        audit,
        KeyPolicy::default(),
    )
}

fn accepting_inserts() -> MockApiKeyRepository {
    let mut repo = MockApiKeyRepository::new();
    repo.expect_insert().times(1).returning(|_, _| Ok(()));
    repo
}

fn new_key() -> NewKey {
    NewKey {
        name: KeyName::new("Jukebox").unwrap(),
        description: None,
        scopes: ScopeSet::of(&[Scope::SongdbRead]).unwrap(),
        expires_at: None,
        created_by: None,
    }
}

#[tokio::test]
async fn a_created_key_is_audited_with_the_callers_actor_address_and_time() {
    let (trail, log) = RecordedAudit::trail_with_clock(Arc::new(FixedClock));
    let svc = service(accepting_inserts(), trail);
    let customer = CustomerId::generate();
    let context = RequestContext::remote(Actor::user("alice@example.com"), CLIENT);

    let issued = svc.create(&context, customer, new_key()).await.unwrap();

    let events = log.events();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.action, AuditAction::ApiKeyCreated);
    assert_eq!(event.customer, customer);
    assert_eq!(event.target_id, issued.key.id().as_uuid());
    assert_eq!(event.actor.kind(), ActorType::User);
    assert_eq!(event.actor.id(), "alice@example.com");
    assert_eq!(event.ip, Some(CLIENT));
    assert_eq!(event.at, NOW);
    assert_eq!(event.details["name"], "Jukebox");
    assert_eq!(event.details["scopes"], serde_json::json!(["songdb:read"]));
    let text = format!("{:?}", event.details);
    assert!(
        !text.contains(issued.secret.expose()),
        "the key was audited"
    );
}

#[tokio::test]
async fn a_change_stands_when_its_event_cannot_be_stored() {
    let mut failing = MockAuditLog::new();
    failing
        .expect_record_audit_events()
        .times(1)
        .returning(|_| Err(StorageError::unavailable("audit table unreachable")));
    let svc = service(
        accepting_inserts(),
        AuditTrail::new(Arc::new(failing), Arc::new(FixedClock)),
    );

    let created = svc
        .create(
            &RequestContext::system("test"),
            CustomerId::generate(),
            new_key(),
        )
        .await;

    assert!(created.is_ok(), "{created:?}");
}

#[tokio::test]
async fn the_cleanup_audits_each_key_it_deleted_as_the_system() {
    let deleted: Vec<(CustomerId, KeyId)> = (0..3)
        .map(|_| (CustomerId::generate(), KeyId::generate()))
        .collect();
    let returned = deleted.clone();
    let mut repo = MockApiKeyRepository::new();
    repo.expect_delete_expired_before()
        .times(1)
        .returning(move |_| Ok(returned.clone()));
    let (trail, log) = RecordedAudit::trail_with_clock(Arc::new(FixedClock));
    let svc = service(repo, trail);

    let count = svc
        .cleanup_expired(&RequestContext::system("cleanup"), Duration::days(30))
        .await
        .unwrap();

    assert_eq!(count, 3);
    let events = log.events();
    let audited: Vec<(CustomerId, uuid::Uuid)> = events
        .iter()
        .map(|event| (event.customer, event.target_id))
        .collect();
    let expected: Vec<(CustomerId, uuid::Uuid)> = deleted
        .iter()
        .map(|&(customer, key)| (customer, key.as_uuid()))
        .collect();
    assert_eq!(audited, expected);
    for event in &events {
        assert_eq!(event.action, AuditAction::ApiKeyDeleted);
        assert_eq!(event.actor.kind(), ActorType::System);
        assert_eq!(event.actor.id(), "cleanup");
        assert_eq!(event.ip, None);
        assert_eq!(event.details["reason"], "expired");
    }
}

#[tokio::test]
async fn a_cleanup_that_deleted_nothing_records_nothing() {
    let mut repo = MockApiKeyRepository::new();
    repo.expect_delete_expired_before()
        .times(1)
        .returning(|_| Ok(Vec::new()));
    let mut log = MockAuditLog::new();
    log.expect_record_audit_events().never();
    let svc = service(repo, AuditTrail::new(Arc::new(log), Arc::new(FixedClock)));

    let count = svc
        .cleanup_expired(&RequestContext::system("cleanup"), Duration::days(30))
        .await
        .unwrap();

    assert_eq!(count, 0);
}
