//! `VaultService`: the rules of the service credentials vault (SPEC §10) — sealing every
//! secret with its record bound as associated data, the masked hint computed at write
//! time, one credential per provider for a customer, the choice of the platform's
//! credential for a provider, and last-used tracking on every decrypt.

use std::sync::Arc;

use crate::audit::{AuditAction, AuditDetails, RequestContext};
use crate::ids::{CredentialId, CustomerId};
use crate::ports::{
    AssociatedData, Cipher, CipherError, Clock, CredentialFilter, CredentialRepository, Page,
    PageRequest, SecretWrite, StorageError,
};
use crate::services::audit::AuditTrail;
use crate::vault::{
    CredentialDescription, CredentialName, CredentialOwner, CredentialParts, Provider, SecretText,
    ServiceCredential,
};

/// How many times a customer upsert retries when a concurrent upsert of the same
/// provider wins the race to insert.
const UPSERT_ATTEMPTS: usize = 2;

/// A credential to create.
#[derive(Debug)]
pub struct NewCredential {
    pub provider: Provider,
    pub name: CredentialName,
    pub description: Option<CredentialDescription>,
    pub secret: SecretText,
    pub active: bool,
}

/// A partial update; `None` leaves a field as it is. `description: Some(None)` clears it.
/// The provider cannot change: it is part of what the ciphertext is bound to.
#[derive(Debug, Default)]
pub struct CredentialChanges {
    pub name: Option<CredentialName>,
    pub description: Option<Option<CredentialDescription>>,
    pub secret: Option<SecretText>,
    pub active: Option<bool>,
}

/// A customer's bring-your-own-key credential for one provider, as a whole: an upsert
/// makes the stored credential exactly this. Without a name, the provider slug is used.
#[derive(Debug)]
pub struct CustomerCredentialInput {
    pub name: Option<CredentialName>,
    pub description: Option<CredentialDescription>,
    pub secret: SecretText,
    pub active: bool,
}

/// The result of a customer upsert: the stored credential and whether it is new.
#[derive(Debug)]
pub struct Upserted {
    pub credential: ServiceCredential,
    pub created: bool,
}

/// A decrypted credential: the record (with `last_used_at` just recorded) and its
/// plaintext.
#[derive(Debug)]
pub struct RevealedSecret {
    pub credential: ServiceCredential,
    pub secret: SecretText,
}

/// Why a vault operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("service credential not found")]
    NotFound,
    /// A customer already has a credential for this provider (use the upsert).
    #[error("a credential for this provider already exists")]
    ProviderTaken,
    /// The stored secret could not be opened: wrong master key, or the row was altered.
    #[error("service credential {credential} could not be decrypted")]
    Undecryptable {
        credential: CredentialId,
        #[source]
        source: CipherError,
    },
    /// The secret could not be sealed (no random nonce available).
    #[error("the secret could not be encrypted")]
    Seal(#[source] CipherError),
    #[error(transparent)]
    Storage(StorageError),
}

impl From<StorageError> for VaultError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Conflict("provider") => Self::ProviderTaken,
            other => Self::Storage(other),
        }
    }
}

/// The vault: credentials in, masked records and (for authorised callers) plaintext out.
#[derive(Clone)]
pub struct VaultService {
    repo: Arc<dyn CredentialRepository>,
    cipher: Arc<dyn Cipher>,
    clock: Arc<dyn Clock>,
    audit: AuditTrail,
}

impl std::fmt::Debug for VaultService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultService")
            .field("key_version", &self.cipher.current_version())
            .finish_non_exhaustive()
    }
}

fn associated_data(credential: &ServiceCredential) -> AssociatedData {
    AssociatedData::for_credential(credential.id(), credential.owner(), credential.provider())
}

impl VaultService {
    pub fn new(
        repo: Arc<dyn CredentialRepository>,
        cipher: Arc<dyn Cipher>,
        clock: Arc<dyn Clock>,
        audit: AuditTrail,
    ) -> Self {
        Self {
            repo,
            cipher,
            clock,
            audit,
        }
    }

    /// Audits `action` on `credential` (stored for a customer's, logged for the
    /// platform's). `details` gets the provider; never the secret.
    async fn audit(
        &self,
        context: &RequestContext,
        action: AuditAction,
        credential: &ServiceCredential,
        mut details: AuditDetails,
    ) {
        details.insert("provider".into(), credential.provider().as_str().into());
        self.audit
            .record(
                context,
                credential.owner().customer(),
                action,
                credential.id().as_uuid(),
                details,
            )
            .await;
    }

    /// Seals `secret` into `credential` (whose id, owner and provider are final) and
    /// refreshes its masked hint.
    fn seal_into(
        &self,
        credential: &mut ServiceCredential,
        secret: &SecretText,
    ) -> Result<(), VaultError> {
        let sealed = self
            .cipher
            .seal(secret, &associated_data(credential))
            .map_err(VaultError::Seal)?;
        let parts = credential.parts_mut();
        parts.sealed = sealed;
        parts.masked_secret = secret.masked();
        Ok(())
    }

    fn build(
        &self,
        owner: CredentialOwner,
        request: &NewCredential,
    ) -> Result<ServiceCredential, VaultError> {
        let id = CredentialId::generate();
        let now = self.clock.now();
        let ad = AssociatedData::for_credential(id, owner, &request.provider);
        let sealed = self
            .cipher
            .seal(&request.secret, &ad)
            .map_err(VaultError::Seal)?;
        Ok(ServiceCredential::from_parts(CredentialParts {
            id,
            owner,
            provider: request.provider.clone(),
            name: request.name.clone(),
            description: request.description.clone(),
            masked_secret: request.secret.masked(),
            sealed,
            active: request.active,
            last_used_at: None,
            created_at: now,
            updated_at: now,
        }))
    }

    /// Seals and stores a new credential. Audited as `service_key.created`.
    ///
    /// # Errors
    /// `ProviderTaken` (a customer's second credential for a provider), `Seal`, `Storage`.
    pub async fn create(
        &self,
        context: &RequestContext,
        owner: CredentialOwner,
        request: NewCredential,
    ) -> Result<ServiceCredential, VaultError> {
        let credential = self.build(owner, &request)?;
        self.repo.insert(&credential).await?;
        self.audit(
            context,
            AuditAction::ServiceKeyCreated,
            &credential,
            stored_details(&credential),
        )
        .await;
        Ok(credential)
    }

    /// # Errors
    /// `NotFound` (also for another owner's credential), `Storage`.
    pub async fn get(
        &self,
        owner: CredentialOwner,
        id: CredentialId,
    ) -> Result<ServiceCredential, VaultError> {
        self.repo.get(owner, id).await?.ok_or(VaultError::NotFound)
    }

    /// The owner's credentials, masked; see `CredentialRepository::list` for the order.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn list(
        &self,
        owner: CredentialOwner,
        filter: &CredentialFilter,
        page: PageRequest,
    ) -> Result<Page<ServiceCredential>, VaultError> {
        Ok(self.repo.list(owner, filter, page).await?)
    }

    /// Applies `changes`; a new secret is sealed afresh (new nonce, current key).
    /// Audited as `service_key.updated` (the fields given; `secretReplaced`, never the
    /// secret).
    ///
    /// # Errors
    /// `NotFound`, `Seal`, `Storage`.
    pub async fn update(
        &self,
        context: &RequestContext,
        owner: CredentialOwner,
        id: CredentialId,
        changes: CredentialChanges,
    ) -> Result<ServiceCredential, VaultError> {
        let mut credential = self.get(owner, id).await?;
        if let Some(secret) = &changes.secret {
            self.seal_into(&mut credential, secret)?;
        }
        let mut details = AuditDetails::new();
        {
            let parts = credential.parts_mut();
            if let Some(name) = changes.name {
                details.insert("name".into(), name.as_str().into());
                parts.name = name;
            }
            if let Some(description) = changes.description {
                details.insert(
                    "description".into(),
                    description
                        .as_ref()
                        .map_or(serde_json::Value::Null, |text| text.as_str().into()),
                );
                parts.description = description;
            }
            if let Some(active) = changes.active {
                details.insert("active".into(), active.into());
                parts.active = active;
            }
            parts.updated_at = self.clock.now();
        }
        details.insert("secretReplaced".into(), changes.secret.is_some().into());
        let write = if changes.secret.is_some() {
            SecretWrite::Replace
        } else {
            SecretWrite::Keep
        };
        if self.repo.update(&credential, write).await? {
            // An empty change (no field, no secret) records nothing.
            if details.len() > 1 || write == SecretWrite::Replace {
                self.audit(
                    context,
                    AuditAction::ServiceKeyUpdated,
                    &credential,
                    details,
                )
                .await;
            }
            Ok(credential)
        } else {
            Err(VaultError::NotFound)
        }
    }

    /// Enables or disables a credential. A disabled credential is never decrypted.
    ///
    /// # Errors
    /// `NotFound`, `Storage`.
    pub async fn set_active(
        &self,
        context: &RequestContext,
        owner: CredentialOwner,
        id: CredentialId,
        active: bool,
    ) -> Result<ServiceCredential, VaultError> {
        let changes = CredentialChanges {
            active: Some(active),
            ..CredentialChanges::default()
        };
        self.update(context, owner, id, changes).await
    }

    /// Audited as `service_key.deleted`.
    ///
    /// # Errors
    /// `NotFound`, `Storage`.
    pub async fn delete(
        &self,
        context: &RequestContext,
        owner: CredentialOwner,
        id: CredentialId,
    ) -> Result<(), VaultError> {
        let credential = self.get(owner, id).await?;
        if self.repo.delete(owner, id).await? {
            self.audit(
                context,
                AuditAction::ServiceKeyDeleted,
                &credential,
                AuditDetails::new(),
            )
            .await;
            Ok(())
        } else {
            Err(VaultError::NotFound)
        }
    }

    /// The customer's credential for `provider`, masked.
    ///
    /// # Errors
    /// `NotFound`, `Storage`.
    pub async fn get_for_customer(
        &self,
        customer: CustomerId,
        provider: &Provider,
    ) -> Result<ServiceCredential, VaultError> {
        self.repo
            .get_customer_credential(customer, provider)
            .await?
            .ok_or(VaultError::NotFound)
    }

    /// Creates or replaces the customer's credential for `provider` (one per provider).
    /// A replacement keeps the record's id, creation time and last use. Audited as
    /// `service_key.created` or `service_key.updated` (`secretReplaced: true`).
    ///
    /// # Errors
    /// `Seal`, `Storage`.
    pub async fn put_for_customer(
        &self,
        context: &RequestContext,
        customer: CustomerId,
        provider: Provider,
        input: CustomerCredentialInput,
    ) -> Result<Upserted, VaultError> {
        let owner = CredentialOwner::Customer(customer);
        let request = NewCredential {
            name: input
                .name
                .unwrap_or_else(|| CredentialName::for_provider(&provider)),
            provider,
            description: input.description,
            secret: input.secret,
            active: input.active,
        };
        for _ in 0..UPSERT_ATTEMPTS {
            let existing = self
                .repo
                .get_customer_credential(customer, &request.provider)
                .await?;
            if let Some(mut credential) = existing {
                self.seal_into(&mut credential, &request.secret)?;
                let parts = credential.parts_mut();
                parts.name = request.name.clone();
                parts.description.clone_from(&request.description);
                parts.active = request.active;
                parts.updated_at = self.clock.now();
                if self.repo.update(&credential, SecretWrite::Replace).await? {
                    let mut details = stored_details(&credential);
                    details.insert("secretReplaced".into(), true.into());
                    self.audit(
                        context,
                        AuditAction::ServiceKeyUpdated,
                        &credential,
                        details,
                    )
                    .await;
                    return Ok(Upserted {
                        credential,
                        created: false,
                    });
                }
                // Deleted between the read and the write: go round and create it.
                continue;
            }
            let credential = self.build(owner, &request)?;
            match self
                .repo
                .insert(&credential)
                .await
                .map_err(VaultError::from)
            {
                Ok(()) => {
                    self.audit(
                        context,
                        AuditAction::ServiceKeyCreated,
                        &credential,
                        stored_details(&credential),
                    )
                    .await;
                    return Ok(Upserted {
                        credential,
                        created: true,
                    });
                }
                // A concurrent upsert inserted first: go round and replace its record.
                Err(VaultError::ProviderTaken) => {}
                Err(other) => return Err(other),
            }
        }
        Err(VaultError::Storage(StorageError::Conflict("provider")))
    }

    /// Deletes the customer's credential for `provider`.
    ///
    /// # Errors
    /// `NotFound`, `Storage`.
    pub async fn delete_for_customer(
        &self,
        context: &RequestContext,
        customer: CustomerId,
        provider: &Provider,
    ) -> Result<(), VaultError> {
        let credential = self.get_for_customer(customer, provider).await?;
        self.delete(
            context,
            CredentialOwner::Customer(customer),
            credential.id(),
        )
        .await
    }

    /// Decrypts the owner's active credential for `provider` — for the platform, the most
    /// recently updated active one — and records the use. Audited as
    /// `service_key.revealed` before the secret is returned: when the event cannot be
    /// stored, the secret is not returned.
    ///
    /// # Errors
    /// `NotFound` (none, or only disabled ones), `Undecryptable`, `Storage` (also when
    /// the reveal could not be audited).
    pub async fn reveal(
        &self,
        context: &RequestContext,
        owner: CredentialOwner,
        provider: &Provider,
    ) -> Result<RevealedSecret, VaultError> {
        let mut credential = self
            .repo
            .find_active(owner, provider)
            .await?
            .ok_or(VaultError::NotFound)?;
        let secret = self
            .cipher
            .open(credential.sealed(), &associated_data(&credential))
            .map_err(|source| VaultError::Undecryptable {
                credential: credential.id(),
                source,
            })?;
        let mut details = AuditDetails::new();
        details.insert("provider".into(), credential.provider().as_str().into());
        self.audit
            .record_before_reveal(
                context,
                credential.owner().customer(),
                credential.id().as_uuid(),
                details,
            )
            .await?;
        let now = self.clock.now();
        self.repo.record_last_used(credential.id(), now).await?;
        let parts = credential.parts_mut();
        parts.last_used_at = parts.last_used_at.max(Some(now));
        Ok(RevealedSecret { credential, secret })
    }
}

/// What an event about a freshly stored credential says: its name and whether it is
/// active (the provider is added by `VaultService::audit`).
fn stored_details(credential: &ServiceCredential) -> AuditDetails {
    let mut details = AuditDetails::new();
    details.insert("name".into(), credential.name().as_str().into());
    details.insert("active".into(), credential.is_active().into());
    details
}
