//! The storage port for service credentials (the vault's records).
//!
//! Storage only ever sees sealed secrets and their masked form. Besides the usual reads
//! and writes it offers what a master-key rotation needs: batched iteration over records
//! sealed under another key version, and a compare-and-swap replacement of the sealed
//! secret, so a rotation can be interrupted and resumed, and never overwrites a secret
//! that changed while it ran.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::ids::{CredentialId, CustomerId};
use crate::ports::storage::{Page, PageRequest, StorageError};
use crate::vault::{CredentialOwner, KeyVersion, Provider, SealedSecret, ServiceCredential};

/// Which credentials a listing returns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CredentialFilter {
    /// `Some(p)`: only credentials for provider `p`.
    pub provider: Option<Provider>,
    /// `Some(b)`: only credentials whose `active` flag is `b`.
    pub active: Option<bool>,
}

/// Whether an update writes the sealed secret and masked form too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretWrite {
    /// Leave the stored sealed secret and masked form as they are. Metadata-only edits
    /// use this, so they can never write back a secret a concurrent rotation re-sealed.
    Keep,
    /// Store the credential's sealed secret and masked form.
    Replace,
}

/// Persistence of service credentials. Every method that names a record also names its
/// owner, so no call can reach another tenant's credential — except the rotation
/// methods, which work across owners by design and never return plaintext.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait CredentialRepository: Send + Sync {
    /// Stores a new credential.
    ///
    /// # Errors
    /// `Conflict("provider")` when the owner is a customer who already has a credential
    /// for this provider (the platform may have several per provider);
    /// `Conflict("id")` when the id exists; `Unavailable`/`Other` on backend failure.
    async fn insert(&self, credential: &ServiceCredential) -> Result<(), StorageError>;

    /// The credential `id` if it belongs to `owner`.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure; a missing or foreign record is `Ok(None)`.
    async fn get(
        &self,
        owner: CredentialOwner,
        id: CredentialId,
    ) -> Result<Option<ServiceCredential>, StorageError>;

    /// The customer's credential for `provider` (at most one exists), active or not.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure; none is `Ok(None)`.
    async fn get_customer_credential(
        &self,
        customer: CustomerId,
        provider: &Provider,
    ) -> Result<Option<ServiceCredential>, StorageError>;

    /// The owner's active credential for `provider`; when several are active, the most
    /// recently updated (`updated_at` descending, then `id` descending).
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure; none is `Ok(None)`.
    async fn find_active(
        &self,
        owner: CredentialOwner,
        provider: &Provider,
    ) -> Result<Option<ServiceCredential>, StorageError>;

    /// The owner's credentials matching `filter`, ordered by provider ascending, then most
    /// recently updated first (`updated_at` descending, then `id` descending) — so the
    /// first active row of each provider is the one [`Self::find_active`] picks — one page
    /// of them, and the total that matches `filter`.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn list(
        &self,
        owner: CredentialOwner,
        filter: &CredentialFilter,
        page: PageRequest,
    ) -> Result<Page<ServiceCredential>, StorageError>;

    /// Replaces name, description, active flag and `updated_at` of the stored credential
    /// with `credential`'s, and with [`SecretWrite::Replace`] also its sealed secret and
    /// masked form. Owner, provider, `created_at` and `last_used_at` are left as stored.
    /// Returns `false` when no credential with that id belongs to `credential.owner()`.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure; nothing is written then.
    async fn update(
        &self,
        credential: &ServiceCredential,
        secret: SecretWrite,
    ) -> Result<bool, StorageError>;

    /// Deletes the credential; `Ok(false)` when it did not exist for `owner`.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn delete(&self, owner: CredentialOwner, id: CredentialId) -> Result<bool, StorageError>;

    /// Moves `last_used_at` of credential `id` forward to `at`, never backward. Returns
    /// whether it moved; an unknown id is `Ok(false)`.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn record_last_used(
        &self,
        id: CredentialId,
        at: OffsetDateTime,
    ) -> Result<bool, StorageError>;

    /// Up to `limit` credentials of any owner whose secret is sealed under a key version
    /// other than `target`, with ids greater than `after` (all when `None`), in ascending
    /// id order: the cursor a rotation walks with.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn list_sealed_under_other_versions(
        &self,
        target: KeyVersion,
        after: Option<CredentialId>,
        limit: u32,
    ) -> Result<Vec<ServiceCredential>, StorageError>;

    /// How many credentials (of any owner) are sealed under a key version other than
    /// `target`.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn count_sealed_under_other_versions(
        &self,
        target: KeyVersion,
    ) -> Result<u64, StorageError>;

    /// Compare-and-swap of a sealed secret: stores `replacement` only if the record `id`
    /// still holds exactly `expected` (same key version and nonce). Metadata, masked form
    /// and `updated_at` are untouched: re-sealing does not change the credential. Returns
    /// whether it was swapped; `false` when the record changed or is gone.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn replace_sealed(
        &self,
        id: CredentialId,
        expected: &SealedSecret,
        replacement: &SealedSecret,
    ) -> Result<bool, StorageError>;
}
