//! Unit tests of `VaultService` over mocked ports: the failure paths a real store cannot
//! easily produce (a lost upsert race, an unavailable backend, a cipher that cannot draw
//! a nonce). The happy paths run over the memory store in `keyward-store-memory`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyward_domain::audit::RequestContext;
use keyward_domain::testing::recorded_audit::RecordedAudit;
use std::sync::Arc;

use keyward_domain::CustomerId;
use keyward_domain::ports::{
    CipherError, Clock, MockCipher, MockCredentialRepository, RandomUnavailable, SecretWrite,
    StorageError,
};
use keyward_domain::services::{CustomerCredentialInput, NewCredential, VaultError, VaultService};
use keyward_domain::testing::NOW;
use keyward_domain::testing::credentials::{OLD_VERSION, sample_credential, sample_sealed};
use keyward_domain::vault::{CredentialName, CredentialOwner, Provider, SecretText};
use time::OffsetDateTime;

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        NOW
    }
}

fn working_cipher() -> MockCipher {
    let mut cipher = MockCipher::new();
    cipher.expect_current_version().return_const(OLD_VERSION);
    cipher
        .expect_seal()
        .returning(|_, _| Ok(sample_sealed(OLD_VERSION)));
    cipher
}

fn service(repo: MockCredentialRepository, cipher: MockCipher) -> VaultService {
    VaultService::new(
        Arc::new(repo),
        Arc::new(cipher),
        Arc::new(FixedClock),
        RecordedAudit::trail().0,
    )
}

fn openai() -> Provider {
    Provider::new("openai").unwrap()
}

fn input() -> CustomerCredentialInput {
    CustomerCredentialInput {
        name: None,
        description: None,
        secret: SecretText::new("byok-secret-value-1234").unwrap(),
        active: true,
    }
}

#[tokio::test]
async fn upsert_that_loses_the_insert_race_replaces_the_winners_record() {
    let customer = CustomerId::generate();
    let winner = sample_credential(CredentialOwner::Customer(customer), "openai", NOW);
    let winner_id = winner.id();
    let mut repo = MockCredentialRepository::new();
    let mut lookups = 0;
    repo.expect_get_customer_credential()
        .returning(move |_, _| {
            lookups += 1;
            // Nothing the first time; the concurrent winner's record the second time.
            Ok((lookups > 1).then(|| winner.clone()))
        });
    repo.expect_insert()
        .times(1)
        .returning(|_| Err(StorageError::Conflict("provider")));
    repo.expect_update()
        .withf(move |c, write| c.id() == winner_id && *write == SecretWrite::Replace)
        .times(1)
        .returning(|_, _| Ok(true));

    let upserted = service(repo, working_cipher())
        .put_for_customer(&ctx(), customer, openai(), input())
        .await
        .unwrap();

    assert!(!upserted.created);
    assert_eq!(upserted.credential.id(), winner_id);
}

#[tokio::test]
async fn create_that_cannot_draw_a_nonce_stores_nothing() {
    let mut cipher = MockCipher::new();
    cipher
        .expect_seal()
        .returning(|_, _| Err(CipherError::Random(RandomUnavailable)));
    let mut repo = MockCredentialRepository::new();
    repo.expect_insert().never();

    let request = NewCredential {
        provider: openai(),
        name: CredentialName::new("Production").unwrap(),
        description: None,
        secret: SecretText::new("sk-live-1234567890abcdef").unwrap(),
        active: true,
    };
    let err = service(repo, cipher)
        .create(&ctx(), CredentialOwner::Platform, request)
        .await
        .unwrap_err();

    assert!(matches!(err, VaultError::Seal(_)), "got {err:?}");
}

#[tokio::test]
async fn reveal_that_cannot_decrypt_records_no_use() {
    let stored = sample_credential(CredentialOwner::Platform, "openai", NOW);
    let stored_id = stored.id();
    let mut repo = MockCredentialRepository::new();
    repo.expect_find_active()
        .returning(move |_, _| Ok(Some(stored.clone())));
    repo.expect_record_last_used().never();
    let mut cipher = MockCipher::new();
    cipher
        .expect_open()
        .returning(|_, _| Err(CipherError::Undecryptable));

    let err = service(repo, cipher)
        .reveal(&ctx(), CredentialOwner::Platform, &openai())
        .await
        .unwrap_err();

    assert!(
        matches!(err, VaultError::Undecryptable { credential, source: CipherError::Undecryptable } if credential == stored_id),
        "got {err:?}"
    );
}

#[tokio::test]
async fn unavailable_storage_is_reported_as_storage_failure() {
    let mut repo = MockCredentialRepository::new();
    repo.expect_find_active()
        .returning(|_, _| Err(StorageError::unavailable(std::io::Error::other("down"))));

    let err = service(repo, working_cipher())
        .reveal(&ctx(), CredentialOwner::Platform, &openai())
        .await
        .unwrap_err();

    assert!(
        matches!(err, VaultError::Storage(StorageError::Unavailable(_))),
        "got {err:?}"
    );
}

#[tokio::test]
async fn update_of_a_credential_deleted_meanwhile_is_not_found() {
    let stored = sample_credential(CredentialOwner::Platform, "openai", NOW);
    let id = stored.id();
    let mut repo = MockCredentialRepository::new();
    repo.expect_get()
        .returning(move |_, _| Ok(Some(stored.clone())));
    repo.expect_update().returning(|_, _| Ok(false));

    let err = service(repo, working_cipher())
        .set_active(&ctx(), CredentialOwner::Platform, id, false)
        .await
        .unwrap_err();

    assert!(matches!(err, VaultError::NotFound), "got {err:?}");
}

/// The caller of every change in these tests.
fn ctx() -> RequestContext {
    RequestContext::system("test")
}
