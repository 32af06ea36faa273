//! `VaultService` over the in-memory store with the real AES-256-GCM cipher: the vault's
//! rules end to end, without HTTP or SQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use keyward_domain::ports::{CredentialFilter, CredentialRepository, PageRequest, SecretWrite};
use keyward_domain::services::{CredentialChanges, VaultError};
use keyward_domain::vault::{CredentialName, CredentialOwner, Provider};
use keyward_domain::{CredentialId, CustomerId};
use support::{Vault, ctx, new_credential, openai, put_input, secret};
use time::Duration;

const OPENAI_SECRET: &str = "sk-proj-4f9a8b7c6d5e4f3a2b1cabcd";

#[tokio::test]
async fn created_credential_is_masked_and_reveals_its_secret() {
    let vault = Vault::new(1);

    let created = vault
        .service
        .create(
            &ctx(),
            CredentialOwner::Platform,
            new_credential("openai", OPENAI_SECRET),
        )
        .await
        .unwrap();
    let revealed = vault
        .service
        .reveal(&ctx(), CredentialOwner::Platform, &openai())
        .await
        .unwrap();

    assert_eq!(created.masked_secret().as_str(), "sk-…abcd");
    assert_eq!(revealed.secret.expose(), OPENAI_SECRET);
    assert_eq!(revealed.credential.id(), created.id());
}

#[tokio::test]
async fn stored_record_holds_neither_the_plaintext_nor_prints_it() {
    let vault = Vault::new(1);
    let created = vault
        .service
        .create(
            &ctx(),
            CredentialOwner::Platform,
            new_credential("openai", OPENAI_SECRET),
        )
        .await
        .unwrap();

    let stored = vault
        .store
        .get(CredentialOwner::Platform, created.id())
        .await
        .unwrap()
        .unwrap();

    let ciphertext = stored.sealed().ciphertext();
    assert!(
        !ciphertext
            .windows(8)
            .any(|w| OPENAI_SECRET.as_bytes().windows(8).any(|p| p == w))
    );
    assert!(!format!("{stored:?}").contains("4f9a8b7c"));
    let revealed = vault
        .service
        .reveal(&ctx(), CredentialOwner::Platform, &openai())
        .await
        .unwrap();
    assert!(!format!("{revealed:?}").contains("4f9a8b7c"));
}

#[tokio::test]
async fn reveal_records_the_use() {
    let vault = Vault::new(1);
    let created = vault
        .service
        .create(
            &ctx(),
            CredentialOwner::Platform,
            new_credential("openai", OPENAI_SECRET),
        )
        .await
        .unwrap();
    vault.clock.advance(Duration::minutes(5));

    let revealed = vault
        .service
        .reveal(&ctx(), CredentialOwner::Platform, &openai())
        .await
        .unwrap();

    let expected = Some(created.created_at() + Duration::minutes(5));
    assert_eq!(revealed.credential.last_used_at(), expected);
    let stored = vault
        .service
        .get(CredentialOwner::Platform, created.id())
        .await
        .unwrap();
    assert_eq!(stored.last_used_at(), expected);
}

#[tokio::test]
async fn platform_reveal_picks_the_most_recently_updated_active_credential() {
    let vault = Vault::new(1);
    let platform = CredentialOwner::Platform;
    let first = vault
        .service
        .create(
            &ctx(),
            platform,
            new_credential("openai", "first-openai-secret"),
        )
        .await
        .unwrap();
    vault.clock.advance(Duration::seconds(1));
    let second = vault
        .service
        .create(
            &ctx(),
            platform,
            new_credential("openai", "second-openai-secret"),
        )
        .await
        .unwrap();

    let newest = vault
        .service
        .reveal(&ctx(), platform, &openai())
        .await
        .unwrap();
    assert_eq!(newest.secret.expose(), "second-openai-secret");

    vault.clock.advance(Duration::seconds(1));
    let renamed = CredentialChanges {
        name: Some(CredentialName::new("Primary").unwrap()),
        ..CredentialChanges::default()
    };
    vault
        .service
        .update(&ctx(), platform, first.id(), renamed)
        .await
        .unwrap();
    let after_edit = vault
        .service
        .reveal(&ctx(), platform, &openai())
        .await
        .unwrap();
    assert_eq!(after_edit.secret.expose(), "first-openai-secret");

    vault
        .service
        .set_active(&ctx(), platform, first.id(), false)
        .await
        .unwrap();
    let after_disable = vault
        .service
        .reveal(&ctx(), platform, &openai())
        .await
        .unwrap();
    assert_eq!(after_disable.credential.id(), second.id());
}

#[tokio::test]
async fn disabled_credential_is_never_revealed() {
    let vault = Vault::new(1);
    let created = vault
        .service
        .create(
            &ctx(),
            CredentialOwner::Platform,
            new_credential("openai", OPENAI_SECRET),
        )
        .await
        .unwrap();

    vault
        .service
        .set_active(&ctx(), CredentialOwner::Platform, created.id(), false)
        .await
        .unwrap();

    let err = vault
        .service
        .reveal(&ctx(), CredentialOwner::Platform, &openai())
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::NotFound), "got {err:?}");
}

#[tokio::test]
async fn replacing_the_secret_reseals_and_remasks_it() {
    let vault = Vault::new(1);
    let platform = CredentialOwner::Platform;
    let created = vault
        .service
        .create(&ctx(), platform, new_credential("openai", OPENAI_SECRET))
        .await
        .unwrap();

    let changes = CredentialChanges {
        secret: Some(secret("sk-proj-replacement-secret-wxyz")),
        ..CredentialChanges::default()
    };
    let updated = vault
        .service
        .update(&ctx(), platform, created.id(), changes)
        .await
        .unwrap();

    assert_eq!(updated.masked_secret().as_str(), "sk-…wxyz");
    assert_ne!(updated.sealed().nonce(), created.sealed().nonce());
    let revealed = vault
        .service
        .reveal(&ctx(), platform, &openai())
        .await
        .unwrap();
    assert_eq!(revealed.secret.expose(), "sk-proj-replacement-secret-wxyz");
    assert_eq!(revealed.credential.created_at(), created.created_at());
}

#[tokio::test]
async fn metadata_edit_leaves_the_sealed_secret_untouched() {
    let vault = Vault::new(1);
    let platform = CredentialOwner::Platform;
    let created = vault
        .service
        .create(&ctx(), platform, new_credential("openai", OPENAI_SECRET))
        .await
        .unwrap();

    let changes = CredentialChanges {
        description: Some(None),
        ..CredentialChanges::default()
    };
    let updated = vault
        .service
        .update(&ctx(), platform, created.id(), changes)
        .await
        .unwrap();

    assert_eq!(updated.description(), None);
    let stored = vault.service.get(platform, created.id()).await.unwrap();
    assert_eq!(stored.sealed(), created.sealed());
    assert_eq!(stored.masked_secret(), created.masked_secret());
}

#[tokio::test]
async fn customer_put_creates_then_replaces_the_same_record() {
    let vault = Vault::new(1);
    let customer = CustomerId::generate();

    let first = vault
        .service
        .put_for_customer(
            &ctx(),
            customer,
            openai(),
            put_input("first-byok-secret-aaaa"),
        )
        .await
        .unwrap();
    vault.clock.advance(Duration::minutes(1));
    let second = vault
        .service
        .put_for_customer(
            &ctx(),
            customer,
            openai(),
            put_input("second-byok-secret-bbbb"),
        )
        .await
        .unwrap();

    assert!(first.created);
    assert!(!second.created);
    assert_eq!(second.credential.id(), first.credential.id());
    assert_eq!(
        second.credential.created_at(),
        first.credential.created_at()
    );
    assert!(second.credential.updated_at() > first.credential.updated_at());
    let owner = CredentialOwner::Customer(customer);
    let revealed = vault
        .service
        .reveal(&ctx(), owner, &openai())
        .await
        .unwrap();
    assert_eq!(revealed.secret.expose(), "second-byok-secret-bbbb");
    let listed = vault
        .service
        .list(owner, &CredentialFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
}

#[tokio::test]
async fn customer_put_without_a_name_is_named_after_the_provider() {
    let vault = Vault::new(1);

    let put = vault
        .service
        .put_for_customer(
            &ctx(),
            CustomerId::generate(),
            openai(),
            put_input("byok-secret-value-1234"),
        )
        .await
        .unwrap();

    assert_eq!(put.credential.name().as_str(), "openai");
}

#[tokio::test]
async fn customer_never_reaches_another_customers_credential() {
    let vault = Vault::new(1);
    let (alice, mallory) = (CustomerId::generate(), CustomerId::generate());
    let put = vault
        .service
        .put_for_customer(
            &ctx(),
            alice,
            openai(),
            put_input("alice-secret-value-1234"),
        )
        .await
        .unwrap();
    let mallory_owner = CredentialOwner::Customer(mallory);

    let by_provider = vault
        .service
        .get_for_customer(mallory, &openai())
        .await
        .unwrap_err();
    let by_id = vault
        .service
        .get(mallory_owner, put.credential.id())
        .await
        .unwrap_err();
    let reveal = vault
        .service
        .reveal(&ctx(), mallory_owner, &openai())
        .await
        .unwrap_err();
    let platform_reveal = vault
        .service
        .reveal(&ctx(), CredentialOwner::Platform, &openai())
        .await
        .unwrap_err();
    let delete = vault
        .service
        .delete_for_customer(&ctx(), mallory, &openai())
        .await
        .unwrap_err();

    for err in [by_provider, by_id, reveal, platform_reveal, delete] {
        assert!(matches!(err, VaultError::NotFound), "got {err:?}");
    }
    assert!(
        vault
            .service
            .get_for_customer(alice, &openai())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn customer_create_of_a_second_credential_for_a_provider_is_refused() {
    let vault = Vault::new(1);
    let owner = CredentialOwner::Customer(CustomerId::generate());
    vault
        .service
        .create(
            &ctx(),
            owner,
            new_credential("openai", "first-secret-value-1"),
        )
        .await
        .unwrap();

    let err = vault
        .service
        .create(
            &ctx(),
            owner,
            new_credential("openai", "second-secret-value"),
        )
        .await
        .unwrap_err();

    assert!(matches!(err, VaultError::ProviderTaken), "got {err:?}");
}

#[tokio::test]
async fn deleted_credential_is_gone() {
    let vault = Vault::new(1);
    let customer = CustomerId::generate();
    vault
        .service
        .put_for_customer(
            &ctx(),
            customer,
            openai(),
            put_input("byok-secret-value-1234"),
        )
        .await
        .unwrap();

    vault
        .service
        .delete_for_customer(&ctx(), customer, &openai())
        .await
        .unwrap();

    let err = vault
        .service
        .get_for_customer(customer, &openai())
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::NotFound), "got {err:?}");
    let again = vault
        .service
        .delete(&ctx(), CredentialOwner::Platform, CredentialId::generate())
        .await
        .unwrap_err();
    assert!(matches!(again, VaultError::NotFound), "got {again:?}");
}

#[tokio::test]
async fn ciphertext_moved_to_another_record_is_refused_not_revealed() {
    let vault = Vault::new(1);
    let (alice, mallory) = (CustomerId::generate(), CustomerId::generate());
    let alices = vault
        .service
        .put_for_customer(
            &ctx(),
            alice,
            openai(),
            put_input("alice-secret-value-1234"),
        )
        .await
        .unwrap();
    let mallorys = vault
        .service
        .put_for_customer(
            &ctx(),
            mallory,
            openai(),
            put_input("mallory-own-secret-99"),
        )
        .await
        .unwrap();

    // Someone with write access to the database copies Alice's ciphertext into Mallory's row.
    let mut parts = mallorys.credential.clone().into_parts();
    parts.sealed = alices.credential.sealed().clone();
    let tampered = keyward_domain::vault::ServiceCredential::from_parts(parts);
    vault
        .store
        .update(&tampered, SecretWrite::Replace)
        .await
        .unwrap();

    let err = vault
        .service
        .reveal(&ctx(), CredentialOwner::Customer(mallory), &openai())
        .await
        .unwrap_err();
    assert!(
        matches!(err, VaultError::Undecryptable { credential, .. } if credential == mallorys.credential.id()),
        "got {err:?}"
    );
}

#[tokio::test]
async fn vault_opened_with_the_wrong_master_key_says_so() {
    let vault = Vault::new(1);
    vault
        .service
        .create(
            &ctx(),
            CredentialOwner::Platform,
            new_credential("openai", OPENAI_SECRET),
        )
        .await
        .unwrap();

    let misconfigured = vault.with_key(2);
    let err = misconfigured
        .service
        .reveal(&ctx(), CredentialOwner::Platform, &openai())
        .await
        .unwrap_err();

    let VaultError::Undecryptable { source, .. } = &err else {
        panic!("expected Undecryptable, got {err:?}");
    };
    assert!(source.to_string().contains("not configured"), "{source}");
}

#[tokio::test]
async fn provider_filter_lists_only_that_provider() {
    let vault = Vault::new(1);
    let platform = CredentialOwner::Platform;
    vault
        .service
        .create(&ctx(), platform, new_credential("openai", OPENAI_SECRET))
        .await
        .unwrap();
    vault
        .service
        .create(
            &ctx(),
            platform,
            new_credential("spotify", "spotify-client-secret-1"),
        )
        .await
        .unwrap();

    let filter = CredentialFilter {
        provider: Some(Provider::new("spotify").unwrap()),
        active: None,
    };
    let listed = vault
        .service
        .list(platform, &filter, PageRequest::default())
        .await
        .unwrap();

    assert_eq!(listed.total, 1);
    assert_eq!(listed.items[0].provider().as_str(), "spotify");
}

/// An audit log that cannot store anything (its database is gone).
struct BrokenAuditLog;

#[async_trait::async_trait]
impl keyward_domain::ports::AuditLog for BrokenAuditLog {
    async fn record_audit_events(
        &self,
        _: &[keyward_domain::audit::AuditEvent],
    ) -> Result<(), keyward_domain::ports::StorageError> {
        Err(keyward_domain::ports::StorageError::unavailable(
            "audit table unreachable",
        ))
    }

    async fn list_audit_events(
        &self,
        _: CustomerId,
        _: keyward_domain::audit::AuditFilter,
        page: PageRequest,
    ) -> Result<
        keyward_domain::ports::Page<keyward_domain::audit::AuditEvent>,
        keyward_domain::ports::StorageError,
    > {
        Ok(keyward_domain::ports::Page {
            items: Vec::new(),
            total: 0,
            request: page,
        })
    }

    async fn delete_audit_events_before(
        &self,
        _: time::OffsetDateTime,
    ) -> Result<u64, keyward_domain::ports::StorageError> {
        Ok(0)
    }
}

/// SPEC §12, ADR 0056: a plaintext read is audited before the secret leaves; when the
/// event cannot be stored the secret does not leave, and no use is recorded.
#[tokio::test]
async fn a_reveal_that_cannot_be_audited_hands_out_no_secret() {
    let vault = Vault::new(1);
    let customer = CustomerId::generate();
    vault
        .service
        .put_for_customer(&ctx(), customer, openai(), put_input(OPENAI_SECRET))
        .await
        .unwrap();
    let unaudited = keyward_domain::services::VaultService::new(
        vault.store.clone(),
        std::sync::Arc::new(keyward_domain::vault::AesGcmCipher::new(
            support::master_key(1),
        )),
        vault.clock.clone(),
        keyward_domain::services::AuditTrail::new(
            std::sync::Arc::new(BrokenAuditLog),
            vault.clock.clone(),
        ),
    );

    let revealed = unaudited
        .reveal(&ctx(), CredentialOwner::Customer(customer), &openai())
        .await;

    assert!(
        matches!(revealed, Err(VaultError::Storage(_))),
        "{:?}",
        revealed.map(|r| r.credential.id())
    );
    let stored = vault
        .service
        .get_for_customer(customer, &openai())
        .await
        .unwrap();
    assert_eq!(stored.last_used_at(), None, "a use was recorded");
    let audited = vault
        .service
        .reveal(&ctx(), CredentialOwner::Customer(customer), &openai())
        .await
        .unwrap();
    assert_eq!(audited.secret.expose(), OPENAI_SECRET);
}
