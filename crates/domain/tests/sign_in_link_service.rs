//! Unit tests of `SignInLinkService` over a recording repository, mocks and a pinned
//! clock: the token's shape, that only its SHA-256 is stored, the ttl and subject bounds,
//! that a malformed token never reaches storage, and that the token is never printed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use keyward_domain::CustomerId;
use keyward_domain::ports::{
    Clock, MockSecretGenerator, MockSignInLinkRepository, NewSignInLink, OsSecretGenerator,
    RandomUnavailable, RedeemedSignInLink, SignInLinkRepository, StorageError,
};
use keyward_domain::services::{
    MAX_SIGN_IN_LINK_TTL, MIN_SIGN_IN_LINK_TTL, SIGN_IN_TOKEN_LEN, SignInLinkError,
    SignInLinkService,
};
use keyward_domain::testing::NOW;
use mockall::predicate::{always, eq};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// A clock that says [`NOW`].
struct PinnedClock;

impl Clock for PinnedClock {
    fn now(&self) -> OffsetDateTime {
        NOW
    }
}

/// Keeps every link inserted; redeems like a store would (once, before expiry).
#[derive(Debug, Default)]
struct RecordingLinks {
    links: Mutex<Vec<(NewSignInLink, bool)>>,
}

impl RecordingLinks {
    fn stored(&self) -> Vec<NewSignInLink> {
        self.links
            .lock()
            .unwrap()
            .iter()
            .map(|(link, _)| link.clone())
            .collect()
    }
}

#[async_trait]
impl SignInLinkRepository for RecordingLinks {
    async fn insert(&self, link: NewSignInLink) -> Result<(), StorageError> {
        self.links.lock().unwrap().push((link, false));
        Ok(())
    }

    async fn redeem(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<RedeemedSignInLink>, StorageError> {
        let mut links = self.links.lock().unwrap();
        Ok(links
            .iter_mut()
            .find(|(link, used)| link.token_hash == *token_hash && !used && link.expires_at > now)
            .map(|(link, used)| {
                *used = true;
                RedeemedSignInLink {
                    customer_id: link.customer_id,
                    subject: link.subject.clone(),
                    permissions: link.permissions.clone(),
                    expires_at: link.expires_at,
                }
            }))
    }

    async fn delete_expired(&self, before: OffsetDateTime) -> Result<u64, StorageError> {
        let mut links = self.links.lock().unwrap();
        let count = links.len();
        links.retain(|(link, _)| link.expires_at >= before);
        Ok((count - links.len()) as u64)
    }
}

fn service_over(repo: Arc<dyn SignInLinkRepository>) -> SignInLinkService {
    SignInLinkService::new(
        repo,
        Arc::new(PinnedClock),
        Arc::new(OsSecretGenerator::default()),
    )
}

fn recording() -> (Arc<RecordingLinks>, SignInLinkService) {
    let repo = Arc::new(RecordingLinks::default());
    (repo.clone(), service_over(repo))
}

/// A repository that must never be called.
fn untouchable() -> SignInLinkService {
    let mut repo = MockSignInLinkRepository::new();
    repo.expect_insert().never();
    repo.expect_redeem().never();
    repo.expect_delete_expired().never();
    service_over(Arc::new(repo))
}

fn every_permission() -> Vec<String> {
    vec!["api_keys:read".to_owned(), "venues:write".to_owned()]
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

#[tokio::test]
async fn an_issued_token_is_kwl_and_43_base62_characters_and_only_its_sha256_is_stored() {
    let (repo, service) = recording();
    let customer = CustomerId::from_uuid(uuid::Uuid::new_v4());

    let issued = service
        .issue(
            customer,
            "ops@example",
            every_permission(),
            Duration::minutes(10),
        )
        .await
        .unwrap();

    let token = issued.token.expose();
    assert_eq!(token.len(), SIGN_IN_TOKEN_LEN);
    let body = token.strip_prefix("kwl_").expect("the kwl_ prefix");
    assert_eq!(body.len(), 43);
    assert!(body.bytes().all(|b| b.is_ascii_alphanumeric()), "{body}");
    let stored = repo.stored();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].token_hash, sha256(token));
    assert_eq!(stored[0].customer_id, customer);
    assert_eq!(stored[0].subject, "ops@example");
    assert_eq!(stored[0].permissions, every_permission());
    assert_eq!(stored[0].created_at, NOW);
    assert_eq!(stored[0].expires_at, NOW + Duration::minutes(10));
    assert_eq!(issued.expires_at, NOW + Duration::minutes(10));
}

#[tokio::test]
async fn two_links_get_different_tokens() {
    let (repo, service) = recording();
    let customer = CustomerId::from_uuid(uuid::Uuid::new_v4());

    let first = service
        .issue(customer, "a", Vec::new(), Duration::minutes(1))
        .await
        .unwrap();
    let second = service
        .issue(customer, "a", Vec::new(), Duration::minutes(1))
        .await
        .unwrap();

    assert_ne!(first.token.expose(), second.token.expose());
    let stored = repo.stored();
    assert_ne!(stored[0].token_hash, stored[1].token_hash);
}

#[tokio::test]
async fn debug_of_an_issued_link_never_shows_the_token() {
    let (_, service) = recording();

    let issued = service
        .issue(
            CustomerId::from_uuid(uuid::Uuid::new_v4()),
            "a",
            every_permission(),
            Duration::minutes(10),
        )
        .await
        .unwrap();

    let token = issued.token.expose();
    for shown in [
        format!("{issued:?}"),
        format!("{issued:#?}"),
        format!("{:?}", issued.token),
    ] {
        assert!(!shown.contains(token), "{shown}");
        assert!(!shown.contains(&token[4..12]), "{shown}");
    }
}

#[tokio::test]
async fn an_issued_token_redeems_once_through_the_service() {
    let (_, service) = recording();
    let customer = CustomerId::from_uuid(uuid::Uuid::new_v4());
    let issued = service
        .issue(customer, "a", every_permission(), Duration::seconds(1))
        .await
        .unwrap();

    let first = service.redeem(issued.token.expose()).await.unwrap();
    let second = service.redeem(issued.token.expose()).await.unwrap();

    assert_eq!(
        first,
        Some(RedeemedSignInLink {
            customer_id: customer,
            subject: "a".to_owned(),
            permissions: every_permission(),
            expires_at: NOW + Duration::seconds(1),
        })
    );
    assert_eq!(second, None);
}

#[tokio::test]
async fn a_ttl_outside_one_second_to_a_day_is_refused_without_storing() {
    let service = untouchable();
    let customer = CustomerId::from_uuid(uuid::Uuid::new_v4());

    for ttl in [
        Duration::ZERO,
        Duration::milliseconds(999),
        Duration::seconds(-1),
        MAX_SIGN_IN_LINK_TTL + Duration::microseconds(1),
        Duration::days(2),
    ] {
        let refused = service.issue(customer, "a", Vec::new(), ttl).await;

        assert!(
            matches!(refused, Err(SignInLinkError::InvalidTtl)),
            "{ttl}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn the_ttl_bounds_themselves_are_accepted() {
    let (repo, service) = recording();
    let customer = CustomerId::from_uuid(uuid::Uuid::new_v4());

    for ttl in [MIN_SIGN_IN_LINK_TTL, MAX_SIGN_IN_LINK_TTL] {
        let issued = service.issue(customer, "a", Vec::new(), ttl).await.unwrap();

        assert_eq!(issued.expires_at, NOW + ttl);
    }
    assert_eq!(repo.stored().len(), 2);
    assert_eq!(MIN_SIGN_IN_LINK_TTL, Duration::seconds(1));
    assert_eq!(MAX_SIGN_IN_LINK_TTL, Duration::seconds(86_400));
}

#[tokio::test]
async fn an_empty_overlong_or_nul_subject_and_an_empty_permission_are_refused() {
    let service = untouchable();
    let customer = CustomerId::from_uuid(uuid::Uuid::new_v4());
    let ttl = Duration::minutes(10);

    for subject in [String::new(), "é".repeat(256), "a\0b".to_owned()] {
        let refused = service.issue(customer, &subject, Vec::new(), ttl).await;
        assert!(
            matches!(refused, Err(SignInLinkError::InvalidSubject)),
            "{subject:?}: {refused:?}"
        );
    }
    for permission in ["", "api_keys:read\0"] {
        let refused = service
            .issue(customer, "a", vec![permission.to_owned()], ttl)
            .await;
        assert!(
            matches!(refused, Err(SignInLinkError::InvalidPermission)),
            "{permission:?}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn a_subject_of_255_characters_is_accepted() {
    let (repo, service) = recording();

    service
        .issue(
            CustomerId::from_uuid(uuid::Uuid::new_v4()),
            &"é".repeat(255),
            Vec::new(),
            Duration::minutes(1),
        )
        .await
        .unwrap();

    assert_eq!(repo.stored()[0].subject.chars().count(), 255);
}

#[tokio::test]
async fn a_malformed_token_is_none_without_touching_storage() {
    let service = untouchable();
    let body = "A".repeat(43);

    for token in [
        String::new(),
        "kwl_".to_owned(),
        format!("kw_{body}"),
        format!("KWL_{body}"),
        format!("kwl_{body}0"),
        format!("kwl_{}", &body[1..]),
        format!("kwl_{}-", &body[1..]),
        format!("kwl_{}=", &body[1..]),
        format!(" kwl_{body}"),
        format!("kwl_{}ü", &body[2..]),
    ] {
        let redeemed = service.redeem(&token).await.unwrap();

        assert_eq!(redeemed, None, "{token:?}");
    }
}

#[tokio::test]
async fn a_well_formed_token_is_looked_up_by_its_sha256_at_the_clocks_now() {
    let token = format!("kwl_{}", "z".repeat(43));
    let mut repo = MockSignInLinkRepository::new();
    repo.expect_redeem()
        .with(eq(sha256(&token)), eq(NOW))
        .times(1)
        .returning(|_, _| Ok(None));
    let service = service_over(Arc::new(repo));

    let redeemed = service.redeem(&token).await.unwrap();

    assert_eq!(redeemed, None);
}

#[tokio::test]
async fn delete_expired_deletes_what_expired_before_now_minus_the_age() {
    let mut repo = MockSignInLinkRepository::new();
    repo.expect_delete_expired()
        .with(eq(NOW - Duration::days(1)))
        .times(1)
        .returning(|_| Ok(3));
    let service = service_over(Arc::new(repo));

    let deleted = service.delete_expired(Duration::days(1)).await.unwrap();

    assert_eq!(deleted, 3);
}

#[tokio::test]
async fn no_randomness_is_an_error_and_stores_nothing() {
    let mut secrets = MockSecretGenerator::new();
    secrets
        .expect_secret_bytes()
        .returning(|| Err(RandomUnavailable));
    let mut repo = MockSignInLinkRepository::new();
    repo.expect_insert().never();
    let service = SignInLinkService::new(Arc::new(repo), Arc::new(PinnedClock), Arc::new(secrets));

    let refused = service
        .issue(
            CustomerId::from_uuid(uuid::Uuid::new_v4()),
            "a",
            Vec::new(),
            Duration::minutes(1),
        )
        .await;

    assert!(
        matches!(refused, Err(SignInLinkError::Random(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_storage_failure_is_passed_on() {
    let mut repo = MockSignInLinkRepository::new();
    repo.expect_insert()
        .with(always())
        .returning(|_| Err(StorageError::unavailable("down")));
    let service = service_over(Arc::new(repo));

    let refused = service
        .issue(
            CustomerId::from_uuid(uuid::Uuid::new_v4()),
            "a",
            Vec::new(),
            Duration::minutes(1),
        )
        .await;

    assert!(
        matches!(
            refused,
            Err(SignInLinkError::Storage(StorageError::Unavailable(_)))
        ),
        "{refused:?}"
    );
}
