//! Unit tests of `ApiKeyService` over mocked ports and a pinned clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyward_domain::audit::RequestContext;
use keyward_domain::testing::recorded_audit::RecordedAudit;
use std::sync::{Arc, Mutex};

use keyward_domain::keys::{
    ApiKey, ApiKeyParts, KeyName, KeyPrefix, KeyVersion, PlainKey, RetiredSecret,
};
use keyward_domain::ports::{
    ActiveKeyCap, Clock, KeyWriteError, MockApiKeyRepository, MockSecretGenerator,
    MockUsageRecorder, RandomUnavailable,
};
use keyward_domain::services::{
    ApiKeyError, ApiKeyService, GracePeriod, KeyChanges, KeyPolicy, MAX_WRITE_ATTEMPTS, NewKey,
    VerifyError,
};
use keyward_domain::testing::NOW;
use keyward_domain::testing::api_keys::sample_key;
use keyward_domain::usage::{RefusalReason, UseOutcome};
use keyward_domain::{CustomerId, KeyId, Scope, ScopeSet};
use mockall::predicate::eq;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// A clock the test moves by hand.
struct PinnedClock(Mutex<OffsetDateTime>);

impl PinnedClock {
    fn at(now: OffsetDateTime) -> Arc<Self> {
        Arc::new(Self(Mutex::new(now)))
    }

    fn set(&self, now: OffsetDateTime) {
        *self.0.lock().unwrap() = now;
    }
}

impl Clock for PinnedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

fn random_bytes(seed: u8) -> MockSecretGenerator {
    let mut secrets = MockSecretGenerator::new();
    secrets
        .expect_secret_bytes()
        .returning(move || Ok([seed; 32]));
    secrets
}

fn quiet_usage() -> MockUsageRecorder {
    let mut usage = MockUsageRecorder::new();
    usage.expect_record().return_const(());
    usage
}

fn service(
    repo: MockApiKeyRepository,
    clock: Arc<PinnedClock>,
    secrets: MockSecretGenerator,
    usage: MockUsageRecorder,
) -> ApiKeyService {
    service_with_ttl(repo, clock, secrets, usage, None)
}

fn service_with_ttl(
    repo: MockApiKeyRepository,
    clock: Arc<PinnedClock>,
    secrets: MockSecretGenerator,
    usage: MockUsageRecorder,
    default_ttl: Option<Duration>,
) -> ApiKeyService {
    ApiKeyService::new(
        Arc::new(repo),
        clock,
        Arc::new(secrets),
        Arc::new(usage),
        RecordedAudit::trail().0,
        KeyPolicy {
            prefix: KeyPrefix::default(),
            max_per_customer: 3,
            default_ttl,
        },
    )
}

/// The caller of every change in these tests.
fn ctx() -> RequestContext {
    RequestContext::system("test")
}

/// A repository that accepts one insert and keeps what it was given.
fn recording_repo() -> (MockApiKeyRepository, Arc<Mutex<Option<ApiKey>>>) {
    let mut repo = MockApiKeyRepository::new();
    let stored = Arc::new(Mutex::new(None));
    let sink = Arc::clone(&stored);
    repo.expect_insert().times(1).returning(move |key, _| {
        *sink.lock().unwrap() = Some(key.clone());
        Ok(())
    });
    (repo, stored)
}

fn new_key(expires_at: Option<OffsetDateTime>) -> NewKey {
    NewKey {
        name: keyward_domain::keys::KeyName::new("Tablet").unwrap(),
        description: None,
        scopes: ScopeSet::of(&[Scope::RequestsWrite]).unwrap(),
        expires_at,
        created_by: Some("user-1".into()),
    }
}

/// A stored key whose secret the test knows.
fn stored_key_with_secret(seed: u8, change: impl FnOnce(&mut ApiKeyParts)) -> (ApiKey, PlainKey) {
    let secret = PlainKey::from_random(&KeyPrefix::default(), &[seed; 32]);
    let mut parts = sample_key(CustomerId::generate(), NOW - Duration::days(1)).into_parts();
    parts.hash = secret.hash();
    parts.display_prefix = secret.display_prefix();
    change(&mut parts);
    (ApiKey::from_parts(parts), secret)
}

fn repo_finding(key: &ApiKey) -> MockApiKeyRepository {
    let mut repo = MockApiKeyRepository::new();
    let stored = key.clone();
    repo.expect_find_by_hash()
        .returning(move |_| Ok(Some(stored.clone())));
    repo
}

#[tokio::test]
async fn create_returns_the_secret_once_and_stores_only_its_hash() {
    let mut repo = MockApiKeyRepository::new();
    let stored = Arc::new(Mutex::new(None));
    let sink = Arc::clone(&stored);
    repo.expect_insert()
        .withf(|_, cap| *cap == ActiveKeyCap { max: 3, now: NOW })
        .times(1)
        .returning(move |key, _| {
            *sink.lock().unwrap() = Some(key.clone());
            Ok(())
        });
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(7), quiet_usage());

    let issued = svc
        .create(&ctx(), CustomerId::generate(), new_key(None))
        .await
        .unwrap();

    let stored = stored.lock().unwrap().clone().unwrap();
    assert_eq!(stored.version(), KeyVersion::FIRST);
    assert_eq!(stored.hash(), issued.secret.hash());
    assert_eq!(stored.display_prefix(), &issued.secret.display_prefix());
    assert!(stored.is_active());
    assert_eq!(stored.created_at(), NOW);
    let expected = PlainKey::from_random(&KeyPrefix::default(), &[7; 32]);
    assert_eq!(issued.secret.expose(), expected.expose());
}

#[tokio::test]
async fn create_without_expiry_gets_the_default_lifetime_from_now() {
    let (repo, stored) = recording_repo();
    let svc = service_with_ttl(
        repo,
        PinnedClock::at(NOW),
        random_bytes(2),
        quiet_usage(),
        Some(Duration::days(90)),
    );

    let issued = svc
        .create(&ctx(), CustomerId::generate(), new_key(None))
        .await
        .unwrap();

    // NOW is 2026-06-01T12:00:00Z: 29 days of June, 31 of July, 30 of August.
    let expected = datetime!(2026-08-30 12:00:00 UTC);
    assert_eq!(issued.key.expires_at(), Some(expected));
    assert_eq!(
        stored.lock().unwrap().as_ref().unwrap().expires_at(),
        Some(expected)
    );
}

#[tokio::test]
async fn an_explicit_expiry_wins_over_the_default_lifetime() {
    let (repo, _stored) = recording_repo();
    let svc = service_with_ttl(
        repo,
        PinnedClock::at(NOW),
        random_bytes(3),
        quiet_usage(),
        Some(Duration::days(90)),
    );
    let asked = NOW + Duration::days(400);

    let issued = svc
        .create(&ctx(), CustomerId::generate(), new_key(Some(asked)))
        .await
        .unwrap();

    assert_eq!(issued.key.expires_at(), Some(asked));
}

#[tokio::test]
async fn without_a_default_lifetime_a_key_never_expires() {
    let (repo, _stored) = recording_repo();
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(4), quiet_usage());

    let issued = svc
        .create(&ctx(), CustomerId::generate(), new_key(None))
        .await
        .unwrap();

    assert_eq!(issued.key.expires_at(), None);
}

#[tokio::test]
async fn create_with_expiry_not_in_the_future_is_refused_before_storage() {
    let mut repo = MockApiKeyRepository::new();
    repo.expect_insert().never();
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(1), quiet_usage());

    let err = svc
        .create(&ctx(), CustomerId::generate(), new_key(Some(NOW)))
        .await
        .unwrap_err();

    assert!(matches!(err, ApiKeyError::ExpiryNotInFuture), "got {err:?}");
}

#[tokio::test]
async fn create_at_the_cap_reports_the_limit() {
    let mut repo = MockApiKeyRepository::new();
    repo.expect_insert()
        .returning(|_, _| Err(KeyWriteError::LimitReached));
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(1), quiet_usage());

    let err = svc
        .create(&ctx(), CustomerId::generate(), new_key(None))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ApiKeyError::LimitReached { max: 3 }),
        "got {err:?}"
    );
}

#[test]
fn the_cap_message_counts_keys_in_the_singular_for_one() {
    assert_eq!(
        ApiKeyError::LimitReached { max: 1 }.to_string(),
        "maximum of 1 active API key reached"
    );
    assert_eq!(
        ApiKeyError::LimitReached { max: 3 }.to_string(),
        "maximum of 3 active API keys reached"
    );
}

#[tokio::test]
async fn create_without_randomness_fails_cleanly() {
    let mut secrets = MockSecretGenerator::new();
    secrets
        .expect_secret_bytes()
        .returning(|| Err(RandomUnavailable));
    let mut repo = MockApiKeyRepository::new();
    repo.expect_insert().never();
    let svc = service(repo, PinnedClock::at(NOW), secrets, quiet_usage());

    let err = svc
        .create(&ctx(), CustomerId::generate(), new_key(None))
        .await
        .unwrap_err();

    assert!(matches!(err, ApiKeyError::Random(_)), "got {err:?}");
}

#[tokio::test]
async fn another_customers_key_is_not_found() {
    let (key, _) = stored_key_with_secret(2, |_| {});
    let owner = key.customer_id();
    let mut repo = MockApiKeyRepository::new();
    repo.expect_get()
        .returning(move |customer, _| Ok((customer == owner).then(|| key.clone())));
    repo.expect_update().never();
    repo.expect_delete().returning(|_, _| Ok(false));
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(1), quiet_usage());
    let stranger = CustomerId::generate();
    let id = keyward_domain::KeyId::generate();

    assert!(matches!(
        svc.get(stranger, id).await,
        Err(ApiKeyError::NotFound)
    ));
    assert!(matches!(
        svc.revoke(&ctx(), stranger, id).await,
        Err(ApiKeyError::NotFound)
    ));
    assert!(matches!(
        svc.rotate(&ctx(), stranger, id, GracePeriod::default())
            .await,
        Err(ApiKeyError::NotFound)
    ));
    assert!(matches!(
        svc.update(&ctx(), stranger, id, KeyChanges::default())
            .await,
        Err(ApiKeyError::NotFound)
    ));
    assert!(matches!(
        svc.delete(&ctx(), stranger, id).await,
        Err(ApiKeyError::NotFound)
    ));
}

#[tokio::test]
async fn reactivating_a_key_is_checked_against_the_cap() {
    let (key, _) = stored_key_with_secret(3, |p| p.active = false);
    let (customer, id) = (key.customer_id(), key.id());
    let mut repo = MockApiKeyRepository::new();
    repo.expect_get()
        .returning(move |_, _| Ok(Some(key.clone())));
    repo.expect_update()
        .withf(|key, cap| key.is_active() && cap.is_some_and(|c| c.max == 3))
        .returning(|_, _| Err(KeyWriteError::LimitReached));
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(1), quiet_usage());

    let err = svc
        .update(
            &ctx(),
            customer,
            id,
            KeyChanges {
                active: Some(true),
                ..KeyChanges::default()
            },
        )
        .await
        .unwrap_err();

    assert!(
        matches!(err, ApiKeyError::LimitReached { max: 3 }),
        "got {err:?}"
    );
}

#[tokio::test]
async fn malformed_key_is_refused_without_a_storage_lookup() {
    let mut repo = MockApiKeyRepository::new();
    repo.expect_find_by_hash().never();
    let mut usage = MockUsageRecorder::new();
    usage.expect_record().never();
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(1), usage);
    let good = PlainKey::from_random(&KeyPrefix::default(), &[4; 32]);
    let mut typo = good.expose().to_owned();
    let last = typo.pop().unwrap();
    typo.push(if last == 'a' { 'b' } else { 'a' });

    let err = svc.verify(&typo).await.unwrap_err();

    assert!(matches!(err, VerifyError::Malformed(_)), "got {err:?}");
}

#[tokio::test]
async fn unknown_key_is_invalid_and_not_recorded() {
    let mut repo = MockApiKeyRepository::new();
    repo.expect_find_by_hash().returning(|_| Ok(None));
    let mut usage = MockUsageRecorder::new();
    usage.expect_record().never();
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(1), usage);
    let unknown = PlainKey::from_random(&KeyPrefix::default(), &[5; 32]);

    let err = svc.verify(unknown.expose()).await.unwrap_err();

    assert!(matches!(err, VerifyError::Invalid), "got {err:?}");
}

#[tokio::test]
async fn valid_key_is_verified_and_its_use_recorded_without_a_write() {
    let (key, secret) = stored_key_with_secret(6, |_| {});
    let mut repo = repo_finding(&key);
    repo.expect_record_last_used().never();
    repo.expect_update().never();
    let mut usage = MockUsageRecorder::new();
    usage
        .expect_record()
        .with(eq(key.id()), eq(NOW), eq(UseOutcome::Verified), eq(None))
        .times(1)
        .return_const(());
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(1), usage);

    let verified = svc.verify(secret.expose()).await.unwrap();

    assert_eq!(verified.key_id, key.id());
    assert_eq!(verified.customer_id, key.customer_id());
    assert_eq!(verified.scopes, key.scopes());
    assert_eq!(verified.expires_at, key.expires_at());
}

#[tokio::test]
async fn a_verification_from_a_client_records_its_address() {
    let (key, secret) = stored_key_with_secret(22, |_| {});
    let mut usage = MockUsageRecorder::new();
    let client: std::net::IpAddr = "2001:db8:7:8:1:2:3:4".parse().unwrap();
    usage
        .expect_record()
        .with(
            eq(key.id()),
            eq(NOW),
            eq(UseOutcome::Verified),
            eq(Some(
                "2001:db8:7:8::/64"
                    .parse::<keyward_domain::usage::ClientAddress>()
                    .unwrap(),
            )),
        )
        .times(1)
        .return_const(());
    let svc = service(
        repo_finding(&key),
        PinnedClock::at(NOW),
        random_bytes(1),
        usage,
    );

    let verified = svc
        .verify_from(secret.expose(), [], Some(client))
        .await
        .unwrap();

    assert_eq!(verified.key_id, key.id());
}

/// The uses a recorder saw, in order.
type SeenUses = Arc<Mutex<Vec<(KeyId, UseOutcome)>>>;

/// A usage recorder that keeps every outcome, in order.
fn recording_usage() -> (MockUsageRecorder, SeenUses) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut usage = MockUsageRecorder::new();
    let sink = Arc::clone(&seen);
    usage.expect_record().returning(move |key, _, outcome, _| {
        sink.lock().unwrap().push((key, outcome));
    });
    (usage, seen)
}

#[tokio::test]
async fn a_missing_scope_is_recorded_once_as_denied_and_a_granted_one_once_as_verified() {
    let (key, secret) = stored_key_with_secret(21, |p| {
        p.scopes = ScopeSet::parse(["songdb:read"]).unwrap();
    });
    let (usage, seen) = recording_usage();
    let svc = service(
        repo_finding(&key),
        PinnedClock::at(NOW),
        random_bytes(1),
        usage,
    );

    let denied = svc
        .verify_with_scope(secret.expose(), Scope::RequestsWrite)
        .await
        .unwrap_err();
    svc.verify_with_scope(secret.expose(), Scope::SongdbRead)
        .await
        .unwrap();

    assert!(
        matches!(denied, VerifyError::InsufficientScope(Scope::RequestsWrite)),
        "got {denied:?}"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            (key.id(), UseOutcome::ScopeDenied),
            (key.id(), UseOutcome::Verified)
        ]
    );
}

#[tokio::test]
async fn revoked_expired_inactive_and_rotated_out_keys_presented_are_recorded_as_refused() {
    let revoked = stored_key_with_secret(22, |p| {
        p.active = false;
        p.revoked_at = Some(NOW - Duration::hours(1));
    });
    let expired = stored_key_with_secret(23, |p| p.expires_at = Some(NOW - Duration::seconds(1)));
    let inactive = stored_key_with_secret(24, |p| p.active = false);
    for ((key, secret), reason) in [
        (revoked, RefusalReason::Revoked),
        (expired, RefusalReason::Expired),
        (inactive, RefusalReason::Deactivated),
    ] {
        let (usage, seen) = recording_usage();
        let svc = service(
            repo_finding(&key),
            PinnedClock::at(NOW),
            random_bytes(1),
            usage,
        );

        let err = svc.verify(secret.expose()).await.unwrap_err();

        assert!(matches!(err, VerifyError::Invalid), "got {err:?}");
        assert_eq!(
            *seen.lock().unwrap(),
            vec![(key.id(), UseOutcome::Refused(reason))]
        );
    }
}

#[tokio::test]
async fn a_lookup_answering_a_key_of_neither_secret_counts_for_no_key() {
    // A cache racing a rotation can answer a key whose secrets both differ from the
    // presented one: that use is nobody's, so nothing is recorded.
    let (key, _) = stored_key_with_secret(27, |_| {});
    let stranger = PlainKey::from_random(&KeyPrefix::default(), &[28; 32]);
    let mut usage = MockUsageRecorder::new();
    usage.expect_record().never();
    let svc = service(
        repo_finding(&key),
        PinnedClock::at(NOW),
        random_bytes(1),
        usage,
    );

    let err = svc.verify(stranger.expose()).await.unwrap_err();

    assert!(matches!(err, VerifyError::Invalid), "got {err:?}");
}

#[tokio::test]
async fn a_rotated_out_secret_past_its_grace_counts_as_refused_and_within_it_as_verified() {
    let old = PlainKey::from_random(&KeyPrefix::default(), &[26; 32]);
    let (key, _) = stored_key_with_secret(25, |p| {
        p.retired = Some(RetiredSecret {
            hash: old.hash(),
            valid_until: NOW + Duration::seconds(1),
        });
    });
    let clock = PinnedClock::at(NOW);
    let (usage, seen) = recording_usage();
    let svc = service(
        repo_finding(&key),
        Arc::clone(&clock),
        random_bytes(1),
        usage,
    );

    svc.verify(old.expose()).await.unwrap();
    clock.set(NOW + Duration::seconds(1));
    assert!(matches!(
        svc.verify(old.expose()).await,
        Err(VerifyError::Invalid)
    ));
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            (key.id(), UseOutcome::Verified),
            (key.id(), UseOutcome::Refused(RefusalReason::RotatedOut))
        ]
    );
}

#[tokio::test]
async fn key_is_valid_until_the_instant_it_expires() {
    let expiry = NOW + Duration::hours(1);
    let (key, secret) = stored_key_with_secret(8, |p| p.expires_at = Some(expiry));
    let clock = PinnedClock::at(expiry - Duration::microseconds(1));
    let svc = service(
        repo_finding(&key),
        Arc::clone(&clock),
        random_bytes(1),
        quiet_usage(),
    );

    assert!(svc.verify(secret.expose()).await.is_ok());
    clock.set(expiry);
    assert!(matches!(
        svc.verify(secret.expose()).await,
        Err(VerifyError::Invalid)
    ));
}

#[tokio::test]
async fn revoked_key_fails_verification_immediately() {
    let (key, secret) = stored_key_with_secret(9, |_| {});
    let (customer, id) = (key.customer_id(), key.id());
    let (repo, _) = stateful_repo(key);
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(1), quiet_usage());
    assert!(svc.verify(secret.expose()).await.is_ok());

    svc.revoke(&ctx(), customer, id).await.unwrap();

    assert!(matches!(
        svc.verify(secret.expose()).await,
        Err(VerifyError::Invalid)
    ));
}

#[tokio::test]
async fn revoked_key_cannot_be_reactivated_and_keeps_its_first_revocation_time() {
    // Arrange
    let (key, secret) = stored_key_with_secret(10, |_| {});
    let (customer, id) = (key.customer_id(), key.id());
    let (repo, state) = stateful_repo(key);
    let clock = PinnedClock::at(NOW);
    let svc = service(repo, Arc::clone(&clock), random_bytes(1), quiet_usage());

    // Act
    let revoked = svc.revoke(&ctx(), customer, id).await.unwrap();
    clock.set(NOW + Duration::hours(1));
    let revoked_again = svc.revoke(&ctx(), customer, id).await.unwrap();
    let reactivation = svc
        .update(
            &ctx(),
            customer,
            id,
            KeyChanges {
                active: Some(true),
                ..KeyChanges::default()
            },
        )
        .await;

    // Assert
    assert!(!revoked.is_active());
    assert_eq!(revoked.revoked_at(), Some(NOW));
    assert_eq!(revoked_again.revoked_at(), Some(NOW));
    assert!(
        matches!(reactivation, Err(ApiKeyError::Revoked)),
        "got {reactivation:?}"
    );
    let stored = state.lock().unwrap().clone();
    assert!(!stored.is_active());
    assert_eq!(stored.revoked_at(), Some(NOW));
    assert!(matches!(
        svc.verify(secret.expose()).await,
        Err(VerifyError::Invalid)
    ));
}

#[tokio::test]
async fn deactivated_but_never_revoked_key_can_be_reactivated() {
    let (key, _) = stored_key_with_secret(11, |p| p.active = false);
    let (customer, id) = (key.customer_id(), key.id());
    let (repo, _) = stateful_repo(key);
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(1), quiet_usage());

    let reactivated = svc
        .update(
            &ctx(),
            customer,
            id,
            KeyChanges {
                active: Some(true),
                ..KeyChanges::default()
            },
        )
        .await
        .unwrap();

    assert!(reactivated.is_active());
    assert_eq!(reactivated.revoked_at(), None);
}

/// A repository that keeps one key in memory, for rotation scenarios. Like a real store,
/// it writes only the version it is asked to replace, and bumps it.
fn stateful_repo(key: ApiKey) -> (MockApiKeyRepository, Arc<Mutex<ApiKey>>) {
    let state = Arc::new(Mutex::new(key));
    let mut repo = MockApiKeyRepository::new();
    let read = Arc::clone(&state);
    repo.expect_get()
        .returning(move |_, _| Ok(Some(read.lock().unwrap().clone())));
    let find = Arc::clone(&state);
    repo.expect_find_by_hash()
        .returning(move |_| Ok(Some(find.lock().unwrap().clone())));
    let write = Arc::clone(&state);
    repo.expect_update().returning(move |key, _| {
        let mut stored = write.lock().unwrap();
        if stored.version() != key.version() {
            return Err(KeyWriteError::Stale);
        }
        let mut parts = key.clone().into_parts();
        parts.version = key.version().next();
        *stored = ApiKey::from_parts(parts);
        Ok(())
    });
    (repo, state)
}

#[tokio::test]
async fn rotated_out_secret_fails_at_once_without_grace() {
    let (key, old) = stored_key_with_secret(10, |_| {});
    let (customer, id) = (key.customer_id(), key.id());
    let (repo, _) = stateful_repo(key);
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(11), quiet_usage());

    let issued = svc
        .rotate(&ctx(), customer, id, GracePeriod::default())
        .await
        .unwrap();

    assert!(matches!(
        svc.verify(old.expose()).await,
        Err(VerifyError::Invalid)
    ));
    assert!(svc.verify(issued.secret.expose()).await.is_ok());
    assert_ne!(issued.secret.expose(), old.expose());
}

#[tokio::test]
async fn rotated_out_secret_works_until_the_grace_period_ends() {
    let (key, old) = stored_key_with_secret(12, |p| p.expires_at = None);
    let (customer, id) = (key.customer_id(), key.id());
    let (repo, _) = stateful_repo(key);
    let clock = PinnedClock::at(NOW);
    let svc = service(repo, Arc::clone(&clock), random_bytes(13), quiet_usage());

    svc.rotate(&ctx(), customer, id, GracePeriod::from_seconds(60).unwrap())
        .await
        .unwrap();

    assert!(svc.verify(old.expose()).await.is_ok());
    clock.set(NOW + Duration::seconds(59));
    assert!(svc.verify(old.expose()).await.is_ok());
    clock.set(NOW + Duration::seconds(60));
    assert!(matches!(
        svc.verify(old.expose()).await,
        Err(VerifyError::Invalid)
    ));
}

#[tokio::test]
async fn grace_period_never_outlives_the_key() {
    let expiry = NOW + Duration::seconds(30);
    let (key, _) = stored_key_with_secret(14, |p| p.expires_at = Some(expiry));
    let (customer, id) = (key.customer_id(), key.id());
    let (repo, state) = stateful_repo(key);
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(15), quiet_usage());

    svc.rotate(
        &ctx(),
        customer,
        id,
        GracePeriod::from_seconds(3_600).unwrap(),
    )
    .await
    .unwrap();

    let retired = state.lock().unwrap().retired().unwrap();
    assert_eq!(retired.valid_until, expiry);
}

#[tokio::test]
async fn second_rotation_ends_the_first_grace_period() {
    let (key, first) = stored_key_with_secret(16, |p| p.expires_at = None);
    let (customer, id) = (key.customer_id(), key.id());
    let (repo, _) = stateful_repo(key);
    let mut secrets = MockSecretGenerator::new();
    let mut seeds = [17u8, 18].into_iter();
    secrets
        .expect_secret_bytes()
        .returning(move || Ok([seeds.next().unwrap(); 32]));
    let svc = service(repo, PinnedClock::at(NOW), secrets, quiet_usage());
    let grace = GracePeriod::from_seconds(600).unwrap();

    let second = svc.rotate(&ctx(), customer, id, grace).await.unwrap();
    svc.rotate(&ctx(), customer, id, grace).await.unwrap();

    assert!(matches!(
        svc.verify(first.expose()).await,
        Err(VerifyError::Invalid)
    ));
    assert!(svc.verify(second.secret.expose()).await.is_ok());
}

#[tokio::test]
async fn revoking_a_rotated_key_also_ends_its_grace_period() {
    let (key, old) = stored_key_with_secret(19, |p| p.expires_at = None);
    let (customer, id) = (key.customer_id(), key.id());
    let (repo, _) = stateful_repo(key);
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(20), quiet_usage());
    svc.rotate(
        &ctx(),
        customer,
        id,
        GracePeriod::from_seconds(600).unwrap(),
    )
    .await
    .unwrap();

    svc.revoke(&ctx(), customer, id).await.unwrap();

    assert!(matches!(
        svc.verify(old.expose()).await,
        Err(VerifyError::Invalid)
    ));
}

#[tokio::test]
async fn inactive_key_cannot_be_rotated() {
    let (key, _) = stored_key_with_secret(21, |p| p.active = false);
    let (customer, id) = (key.customer_id(), key.id());
    let (repo, _) = stateful_repo(key);
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(22), quiet_usage());

    let err = svc
        .rotate(&ctx(), customer, id, GracePeriod::default())
        .await
        .unwrap_err();

    assert!(matches!(err, ApiKeyError::NotRotatable), "got {err:?}");
}

#[tokio::test]
async fn write_scope_satisfies_read_scope_in_verification() {
    let (key, secret) = stored_key_with_secret(23, |p| {
        p.scopes = ScopeSet::of(&[Scope::RequestsWrite]).unwrap();
    });
    let svc = service(
        repo_finding(&key),
        PinnedClock::at(NOW),
        random_bytes(1),
        quiet_usage(),
    );

    assert!(
        svc.verify_with_scope(secret.expose(), Scope::RequestsRead)
            .await
            .is_ok()
    );
    assert!(matches!(
        svc.verify_with_scope(secret.expose(), Scope::SongdbRead)
            .await,
        Err(VerifyError::InsufficientScope(Scope::SongdbRead))
    ));
}

#[test]
fn grace_period_bounds() {
    assert!(GracePeriod::from_seconds(-1).is_err());
    assert!(GracePeriod::from_seconds(604_800).is_ok());
    assert!(GracePeriod::from_seconds(604_801).is_err());
}

#[tokio::test]
async fn cleanup_deletes_keys_expired_longer_than_the_retention() {
    let mut repo = MockApiKeyRepository::new();
    repo.expect_delete_expired_before()
        .with(eq(NOW - Duration::days(30)))
        .times(1)
        .returning(|_| {
            Ok((0..4)
                .map(|_| (CustomerId::generate(), KeyId::generate()))
                .collect())
        });
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(1), quiet_usage());

    assert_eq!(
        svc.cleanup_expired(&ctx(), Duration::days(30))
            .await
            .unwrap(),
        4
    );
}

// ---- compare-and-swap: a change that finds the key changed is applied again --------

/// A repository whose key `get` hands out `reads` in turn (the last one from then on),
/// and whose `update` answers `writes` in turn, keeping every key it was asked to write.
fn scripted_repo(
    reads: Vec<ApiKey>,
    writes: Vec<Result<(), KeyWriteError>>,
) -> (MockApiKeyRepository, Arc<Mutex<Vec<ApiKey>>>) {
    let mut repo = MockApiKeyRepository::new();
    let reads = Mutex::new(reads);
    repo.expect_get().returning(move |_, _| {
        let mut reads = reads.lock().unwrap();
        let next = if reads.len() > 1 {
            reads.remove(0)
        } else {
            reads[0].clone()
        };
        Ok(Some(next))
    });
    let written = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&written);
    let writes = Mutex::new(writes.into_iter());
    repo.expect_update().returning(move |key, _| {
        sink.lock().unwrap().push(key.clone());
        writes
            .lock()
            .unwrap()
            .next()
            .unwrap_or(Err(KeyWriteError::Stale))
    });
    (repo, written)
}

/// `key` as someone else stored it in between: one version on, changed by `change`.
fn written_by_someone_else(key: &ApiKey, change: impl FnOnce(&mut ApiKeyParts)) -> ApiKey {
    let mut parts = key.clone().into_parts();
    parts.version = key.version().next();
    change(&mut parts);
    ApiKey::from_parts(parts)
}

#[tokio::test]
async fn stale_rotation_is_applied_again_to_the_fresh_key_with_the_same_secret() {
    // Arrange: the key is renamed by someone else between our read and our write.
    let (key, first) = stored_key_with_secret(30, |p| p.expires_at = None);
    let fresh = written_by_someone_else(&key, |p| p.name = KeyName::new("Renamed").unwrap());
    let (repo, written) = scripted_repo(
        vec![key.clone(), fresh.clone()],
        vec![Err(KeyWriteError::Stale), Ok(())],
    );
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(31), quiet_usage());
    let grace = GracePeriod::from_seconds(60).unwrap();

    // Act
    let issued = svc
        .rotate(&ctx(), key.customer_id(), key.id(), grace)
        .await
        .unwrap();

    // Assert
    let written = written.lock().unwrap().clone();
    assert_eq!(written.len(), 2);
    assert_eq!(written[0].version(), KeyVersion::FIRST);
    let retry = &written[1];
    assert_eq!(
        retry.version(),
        fresh.version(),
        "the retry names the fresh version"
    );
    assert_eq!(retry.name().as_str(), "Renamed", "the rename is kept");
    assert_eq!(
        retry.hash(),
        issued.secret.hash(),
        "the returned secret is the stored one"
    );
    assert_eq!(
        retry.hash(),
        written[0].hash(),
        "one secret for every attempt"
    );
    assert_eq!(retry.retired().unwrap().hash, first.hash());
    assert_eq!(issued.key.version(), fresh.version().next());
    assert_eq!(issued.key.name().as_str(), "Renamed");
}

#[tokio::test]
async fn stale_rotation_of_a_key_revoked_meanwhile_is_not_rotatable() {
    let (key, _) = stored_key_with_secret(32, |_| {});
    let revoked = written_by_someone_else(&key, |p| {
        p.active = false;
        p.revoked_at = Some(NOW);
    });
    let (repo, written) =
        scripted_repo(vec![key.clone(), revoked], vec![Err(KeyWriteError::Stale)]);
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(33), quiet_usage());

    let err = svc
        .rotate(&ctx(), key.customer_id(), key.id(), GracePeriod::default())
        .await
        .unwrap_err();

    assert!(matches!(err, ApiKeyError::NotRotatable), "got {err:?}");
    assert_eq!(
        written.lock().unwrap().len(),
        1,
        "nothing written after the revoke"
    );
}

#[tokio::test]
async fn stale_reactivation_of_a_key_revoked_meanwhile_is_refused() {
    let (key, _) = stored_key_with_secret(34, |p| p.active = false);
    let revoked = written_by_someone_else(&key, |p| p.revoked_at = Some(NOW));
    let (repo, written) =
        scripted_repo(vec![key.clone(), revoked], vec![Err(KeyWriteError::Stale)]);
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(1), quiet_usage());
    let changes = KeyChanges {
        active: Some(true),
        ..KeyChanges::default()
    };

    let err = svc
        .update(&ctx(), key.customer_id(), key.id(), changes)
        .await
        .unwrap_err();

    assert!(matches!(err, ApiKeyError::Revoked), "got {err:?}");
    assert_eq!(written.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn stale_revoke_is_applied_again_and_ends_the_fresh_grace_period() {
    // Arrange: the key was rotated with a grace period between our read and our write.
    let (key, _) = stored_key_with_secret(35, |_| {});
    let rotated = written_by_someone_else(&key, |p| {
        p.retired = Some(keyward_domain::keys::RetiredSecret {
            hash: key.hash(),
            valid_until: NOW + Duration::hours(1),
        });
        p.hash = PlainKey::from_random(&KeyPrefix::default(), &[36; 32]).hash();
    });
    let (repo, written) = scripted_repo(
        vec![key.clone(), rotated.clone()],
        vec![Err(KeyWriteError::Stale), Ok(())],
    );
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(1), quiet_usage());

    // Act
    let revoked = svc
        .revoke(&ctx(), key.customer_id(), key.id())
        .await
        .unwrap();

    // Assert
    let retry = written.lock().unwrap()[1].clone();
    assert_eq!(retry.hash(), rotated.hash(), "the rotation is kept");
    assert_eq!(retry.retired(), None, "its grace period ends");
    assert!(!retry.is_active());
    assert_eq!(retry.revoked_at(), Some(NOW));
    assert_eq!(revoked.version(), rotated.version().next());
}

#[tokio::test]
async fn update_of_a_key_deleted_meanwhile_is_not_found() {
    let (key, _) = stored_key_with_secret(37, |_| {});
    let mut repo = MockApiKeyRepository::new();
    let mut reads = vec![Some(key.clone()), None].into_iter();
    repo.expect_get()
        .times(2)
        .returning(move |_, _| Ok(reads.next().flatten()));
    repo.expect_update()
        .times(1)
        .returning(|_, _| Err(KeyWriteError::Stale));
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(1), quiet_usage());
    let changes = KeyChanges {
        name: Some(KeyName::new("Late").unwrap()),
        ..KeyChanges::default()
    };

    let err = svc
        .update(&ctx(), key.customer_id(), key.id(), changes)
        .await
        .unwrap_err();

    assert!(matches!(err, ApiKeyError::NotFound), "got {err:?}");
}

#[tokio::test]
async fn a_key_that_keeps_changing_is_a_conflict_after_a_bounded_number_of_attempts() {
    let (key, _) = stored_key_with_secret(38, |_| {});
    let (customer, id) = (key.customer_id(), key.id());
    let mut repo = MockApiKeyRepository::new();
    repo.expect_get()
        .times(3 * MAX_WRITE_ATTEMPTS)
        .returning(move |_, _| Ok(Some(key.clone())));
    repo.expect_update()
        .times(3 * MAX_WRITE_ATTEMPTS)
        .returning(|_, _| Err(KeyWriteError::Stale));
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(39), quiet_usage());
    let rename = KeyChanges {
        name: Some(KeyName::new("Never").unwrap()),
        ..KeyChanges::default()
    };

    let updated = svc.update(&ctx(), customer, id, rename).await;
    let revoked = svc.revoke(&ctx(), customer, id).await;
    let rotated = svc
        .rotate(&ctx(), customer, id, GracePeriod::default())
        .await;

    assert!(
        matches!(updated, Err(ApiKeyError::Conflict)),
        "got {updated:?}"
    );
    assert!(
        matches!(revoked, Err(ApiKeyError::Conflict)),
        "got {revoked:?}"
    );
    assert!(
        matches!(rotated, Err(ApiKeyError::Conflict)),
        "got {rotated:?}"
    );
}

#[tokio::test]
async fn a_successful_change_returns_the_key_with_its_stored_version() {
    let (key, _) = stored_key_with_secret(40, |p| p.expires_at = None);
    let (customer, id) = (key.customer_id(), key.id());
    let (repo, state) = stateful_repo(key);
    let svc = service(repo, PinnedClock::at(NOW), random_bytes(41), quiet_usage());

    let rotated = svc
        .rotate(&ctx(), customer, id, GracePeriod::default())
        .await
        .unwrap();
    let renamed = svc
        .update(
            &ctx(),
            customer,
            id,
            KeyChanges {
                name: Some(KeyName::new("Renamed").unwrap()),
                ..KeyChanges::default()
            },
        )
        .await
        .unwrap();
    let revoked = svc.revoke(&ctx(), customer, id).await.unwrap();

    assert_eq!(rotated.key.version().get(), 2);
    assert_eq!(renamed.version().get(), 3);
    assert_eq!(revoked.version().get(), 4);
    assert_eq!(*state.lock().unwrap(), revoked);
}
