//! Master-key rotation over the in-memory store with real ciphers: complete runs,
//! interrupted and resumed runs, records no key opens, and records that change while
//! the rotation runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::num::NonZeroU32;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use keyward_domain::ports::{
    CipherError, CredentialFilter, CredentialRepository, Page, PageRequest, SecretWrite,
    StorageError,
};
use keyward_domain::services::{CredentialChanges, KeyRotation, VaultService};
use keyward_domain::vault::{
    AesGcmCipher, CredentialOwner, KeyVersion, Provider, SealedSecret, ServiceCredential,
};
use keyward_domain::{CredentialId, CustomerId};
use keyward_store_memory::MemoryStore;
use support::{Vault, ctx, master_key, new_credential, openai, put_input, secret};

const OLD: u8 = 1;
const NEW: u8 = 2;

/// The keyring a rotation uses: seals under the new key, still opens the old one.
fn keyring() -> AesGcmCipher {
    AesGcmCipher::new(master_key(NEW)).with_previous(master_key(OLD))
}

fn rotation(repo: Arc<dyn CredentialRepository>, batch: u32) -> KeyRotation {
    KeyRotation::new(repo, Arc::new(keyring()), NonZeroU32::new(batch).unwrap())
}

/// Stores `count` customer credentials under the old key; returns (customer, plaintext).
async fn seed(vault: &Vault, count: usize) -> Vec<(CustomerId, String)> {
    let mut seeded = Vec::new();
    for index in 0..count {
        let customer = CustomerId::generate();
        let plaintext = format!("byok-secret-number-{index:04}");
        vault
            .service
            .put_for_customer(&ctx(), customer, openai(), put_input(&plaintext))
            .await
            .unwrap();
        seeded.push((customer, plaintext));
    }
    seeded
}

async fn assert_all_readable(service: &VaultService, seeded: &[(CustomerId, String)]) {
    for (customer, plaintext) in seeded {
        let revealed = service
            .reveal(&ctx(), CredentialOwner::Customer(*customer), &openai())
            .await
            .unwrap();
        assert_eq!(revealed.secret.expose(), plaintext);
    }
}

fn run_to_end() -> impl FnMut(&keyward_domain::services::RotationProgress) -> ControlFlow<()> + Send
{
    |_| ControlFlow::Continue(())
}

#[tokio::test]
async fn rotation_reseals_every_credential_under_the_new_key() {
    let vault = Vault::new(OLD);
    let seeded = seed(&vault, 7).await;
    vault
        .service
        .create(
            &ctx(),
            CredentialOwner::Platform,
            new_credential("spotify", "spotify-secret-1"),
        )
        .await
        .unwrap();

    let report = rotation(vault.store.clone(), 3)
        .run(&mut run_to_end())
        .await
        .unwrap();

    assert!(report.is_complete());
    assert_eq!(report.progress.pending_at_start, 8);
    assert_eq!(report.progress.resealed, 8);
    assert_eq!(report.target, master_key(NEW).version());
    // Only the new key is needed from now on.
    let switched = vault.with_key(NEW);
    assert_all_readable(&switched.service, &seeded).await;
    let spotify = Provider::new("spotify").unwrap();
    assert!(
        switched
            .service
            .reveal(&ctx(), CredentialOwner::Platform, &spotify)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn rotation_does_not_change_what_users_see() {
    let vault = Vault::new(OLD);
    let seeded = seed(&vault, 1).await;
    let owner = CredentialOwner::Customer(seeded[0].0);
    let before = vault
        .service
        .get_for_customer(seeded[0].0, &openai())
        .await
        .unwrap();

    rotation(vault.store.clone(), 10)
        .run(&mut run_to_end())
        .await
        .unwrap();

    let after = vault.service.get(owner, before.id()).await.unwrap();
    assert_eq!(after.updated_at(), before.updated_at());
    assert_eq!(after.masked_secret(), before.masked_secret());
    assert_ne!(after.sealed(), before.sealed());
}

#[tokio::test]
async fn interrupted_rotation_leaves_every_credential_readable_and_resumes() {
    let vault = Vault::new(OLD);
    let seeded = seed(&vault, 10).await;
    let mut batches = 0;
    let mut stop_after_two_batches = |_: &keyward_domain::services::RotationProgress| {
        batches += 1;
        if batches == 2 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };

    let halfway = rotation(vault.store.clone(), 3)
        .run(&mut stop_after_two_batches)
        .await
        .unwrap();

    assert!(halfway.interrupted);
    assert_eq!(halfway.progress.resealed, 6);
    assert_eq!(halfway.remaining, 4);
    // Mid-rotation, a service holding both keys reads every record.
    assert_all_readable(&vault.with_cipher(keyring()).service, &seeded).await;

    let resumed = rotation(vault.store.clone(), 3)
        .run(&mut run_to_end())
        .await
        .unwrap();

    assert!(resumed.is_complete());
    assert_eq!(resumed.progress.pending_at_start, 4);
    assert_eq!(resumed.progress.resealed, 4);
    assert_all_readable(&vault.with_key(NEW).service, &seeded).await;
}

#[tokio::test]
async fn rotation_with_nothing_to_do_completes_at_once() {
    let vault = Vault::new(NEW);
    seed(&vault, 2).await;

    let report = rotation(vault.store.clone(), 5)
        .run(&mut run_to_end())
        .await
        .unwrap();

    assert!(report.is_complete());
    assert_eq!(report.progress.pending_at_start, 0);
    assert_eq!(report.progress.resealed, 0);
}

#[tokio::test]
async fn credential_no_held_key_opens_is_reported_and_left_alone() {
    let vault = Vault::new(OLD);
    let seeded = seed(&vault, 3).await;
    let stranger = vault.with_key(9);
    let lost = stranger
        .service
        .create(
            &ctx(),
            CredentialOwner::Platform,
            new_credential("openai", "sealed-under-a-lost-key"),
        )
        .await
        .unwrap();

    let report = rotation(vault.store.clone(), 2)
        .run(&mut run_to_end())
        .await
        .unwrap();

    assert!(!report.is_complete());
    assert_eq!(report.remaining, 1);
    assert_eq!(report.progress.resealed, 3);
    assert_eq!(
        report.unreadable.get(&lost.id()),
        Some(&CipherError::UnknownKeyVersion(master_key(9).version()))
    );
    assert_all_readable(&vault.with_key(NEW).service, &seeded).await;
    let untouched = vault
        .store
        .get(CredentialOwner::Platform, lost.id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(untouched.sealed(), lost.sealed());
}

#[tokio::test]
async fn credential_changed_during_rotation_keeps_its_new_secret_and_ends_up_resealed() {
    let vault = Vault::new(OLD);
    let seeded = seed(&vault, 3).await;
    let (victim, _) = seeded[1];
    // A service still on the old key replaces this secret just before the rotation's swap.
    let racing = RacingRepo {
        inner: vault.store.clone(),
        racer: vault.service.clone(),
        victim: Mutex::new(Some(victim)),
    };

    let report = rotation(Arc::new(racing), 1)
        .run(&mut run_to_end())
        .await
        .unwrap();

    assert!(report.is_complete());
    assert_eq!(report.progress.changed_concurrently, 1);
    let switched = vault.with_key(NEW);
    let revealed = switched
        .service
        .reveal(&ctx(), CredentialOwner::Customer(victim), &openai())
        .await
        .unwrap();
    assert_eq!(revealed.secret.expose(), "replaced-while-rotating");
}

/// Delegates to the memory store, but the first time the rotation swaps the victim's
/// secret, the racing service replaces that secret first.
struct RacingRepo {
    inner: Arc<MemoryStore>,
    racer: VaultService,
    victim: Mutex<Option<CustomerId>>,
}

#[async_trait]
impl CredentialRepository for RacingRepo {
    async fn insert(&self, credential: &ServiceCredential) -> Result<(), StorageError> {
        self.inner.insert(credential).await
    }

    async fn get(
        &self,
        owner: CredentialOwner,
        id: CredentialId,
    ) -> Result<Option<ServiceCredential>, StorageError> {
        self.inner.get(owner, id).await
    }

    async fn get_customer_credential(
        &self,
        customer: CustomerId,
        provider: &Provider,
    ) -> Result<Option<ServiceCredential>, StorageError> {
        self.inner.get_customer_credential(customer, provider).await
    }

    async fn find_active(
        &self,
        owner: CredentialOwner,
        provider: &Provider,
    ) -> Result<Option<ServiceCredential>, StorageError> {
        self.inner.find_active(owner, provider).await
    }

    async fn list(
        &self,
        owner: CredentialOwner,
        filter: &CredentialFilter,
        page: PageRequest,
    ) -> Result<Page<ServiceCredential>, StorageError> {
        self.inner.list(owner, filter, page).await
    }

    async fn update(
        &self,
        credential: &ServiceCredential,
        secret: SecretWrite,
    ) -> Result<bool, StorageError> {
        self.inner.update(credential, secret).await
    }

    async fn delete(&self, owner: CredentialOwner, id: CredentialId) -> Result<bool, StorageError> {
        self.inner.delete(owner, id).await
    }

    async fn record_last_used(
        &self,
        id: CredentialId,
        at: time::OffsetDateTime,
    ) -> Result<bool, StorageError> {
        self.inner.record_last_used(id, at).await
    }

    async fn list_sealed_under_other_versions(
        &self,
        target: KeyVersion,
        after: Option<CredentialId>,
        limit: u32,
    ) -> Result<Vec<ServiceCredential>, StorageError> {
        self.inner
            .list_sealed_under_other_versions(target, after, limit)
            .await
    }

    async fn count_sealed_under_other_versions(
        &self,
        target: KeyVersion,
    ) -> Result<u64, StorageError> {
        self.inner.count_sealed_under_other_versions(target).await
    }

    async fn replace_sealed(
        &self,
        id: CredentialId,
        expected: &SealedSecret,
        replacement: &SealedSecret,
    ) -> Result<bool, StorageError> {
        let victim = *self.victim.lock().unwrap();
        if let Some(customer) = victim {
            let owner = CredentialOwner::Customer(customer);
            let stored = self.inner.get(owner, id).await?;
            if stored.is_some() {
                self.victim.lock().unwrap().take();
                let changes = CredentialChanges {
                    secret: Some(secret("replaced-while-rotating")),
                    ..CredentialChanges::default()
                };
                self.racer.update(&ctx(), owner, id, changes).await.unwrap();
            }
        }
        self.inner.replace_sealed(id, expected, replacement).await
    }
}
