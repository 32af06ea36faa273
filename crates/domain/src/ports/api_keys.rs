//! The storage port for API keys.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::ids::{CustomerId, KeyId};
use crate::keys::{ApiKey, KeyHash};
use crate::ports::storage::{Page, PageRequest, StorageError};

/// Which keys a listing returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyFilter {
    /// `Some(b)`: only keys whose `active` flag is `b`.
    pub active: Option<bool>,
}

/// The cap on keys that count toward a customer's limit (active and unexpired at `now`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveKeyCap {
    pub max: u32,
    pub now: OffsetDateTime,
}

/// A key whose `last_used_at` [`ApiKeyRepository::record_last_used`] moved forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastUseMoved {
    pub key: KeyId,
    /// The new `last_used_at` (microseconds, as stored).
    pub at: OffsetDateTime,
    /// `last_used_at` before the move; `None` when the key had never been used.
    pub previous: Option<OffsetDateTime>,
    /// When the key was created.
    pub created_at: OffsetDateTime,
}

impl LastUseMoved {
    /// The last sign of life before this use: the previous use, or the key's creation
    /// when it had never been used.
    pub fn idle_since(&self) -> OffsetDateTime {
        self.previous.unwrap_or(self.created_at)
    }
}

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyWriteError {
    /// No key with that id belongs to that customer.
    #[error("api key not found")]
    NotFound,
    /// Writing would leave the customer with more than `cap.max` counted keys.
    #[error("active key limit reached")]
    LimitReached,
    /// The key was changed since it was read: its stored version is no longer the one
    /// the write names. Nothing was written; read the key again and re-apply the change.
    #[error("the key was changed since it was read")]
    Stale,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Persistence of API keys. Every method that names a key also names its customer, so no
/// call can reach another tenant's key.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ApiKeyRepository: Send + Sync {
    /// Stores a new key, creating the customer's record on first use. The count of keys
    /// that are active and unexpired at `cap.now` is checked in the same transaction.
    /// The key is stored with `key.version()` (services pass
    /// [`KeyVersion::FIRST`](crate::keys::KeyVersion::FIRST)).
    ///
    /// # Errors
    /// `LimitReached` when the customer already has `cap.max` counted keys and the new key
    /// is active; `Storage(Conflict("key_hash"))` when the hash (or id) already exists;
    /// `Storage(Unavailable)` when the backend cannot be reached.
    async fn insert(&self, key: &ApiKey, cap: ActiveKeyCap) -> Result<(), KeyWriteError>;

    /// The key `id` if it belongs to `customer`.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure; a missing or foreign key is `Ok(None)`.
    async fn get(&self, customer: CustomerId, id: KeyId) -> Result<Option<ApiKey>, StorageError>;

    /// The key `id` whatever customer it belongs to: an operator's lookup, for
    /// `keyward keys revoke <id>` (SPEC §14), which names no customer. Request handlers
    /// never call it; they name the customer through [`get`](Self::get).
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure; a missing key is `Ok(None)`.
    async fn find_by_id(&self, id: KeyId) -> Result<Option<ApiKey>, StorageError>;

    /// The key whose current secret, or retired secret (regardless of its grace period),
    /// hashes to `hash`. The caller decides whether the match is still valid.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure; no match is `Ok(None)`.
    async fn find_by_hash(&self, hash: KeyHash) -> Result<Option<ApiKey>, StorageError>;

    /// The customer's keys matching `filter`, newest first (`created_at` descending, then
    /// `id` descending), one page of them, and the total count that matches `filter`.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn list(
        &self,
        customer: CustomerId,
        filter: KeyFilter,
        page: PageRequest,
    ) -> Result<Page<ApiKey>, StorageError>;

    /// Compare-and-swap: replaces every mutable field of the stored key (name, description,
    /// display prefix, hash, scopes, active, expiry, retired secret, revocation time,
    /// `updated_at`) with `key`'s, but only if the stored key's version still equals
    /// `key.version()`; the stored version becomes `key.version().next()`. `created_*` and
    /// `last_used_at` are left as stored. With `cap`, the counted keys of the customer
    /// other than this one must stay below `cap.max` when `key` is itself counted. The
    /// version check, the checks below and the write happen atomically.
    ///
    /// # Errors
    /// `NotFound` when the key does not exist for `key.customer_id()`; `Stale` when it
    /// exists but its stored version differs from `key.version()` (someone else wrote it
    /// since it was read; nothing is written); `LimitReached` as above;
    /// `Storage(Conflict("key_hash"))` when the new hash is taken; `Storage(Unavailable)`
    /// when the backend cannot be reached.
    async fn update(&self, key: &ApiKey, cap: Option<ActiveKeyCap>) -> Result<(), KeyWriteError>;

    /// Deletes the key whatever its version; `Ok(false)` when it did not exist for
    /// `customer`.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn delete(&self, customer: CustomerId, id: KeyId) -> Result<bool, StorageError>;

    /// Deletes every key whose `expires_at` is before `cutoff`; returns the deleted keys,
    /// each once, as `(owner, id)` in no particular order (empty when none expired), so
    /// the caller can record or announce each deletion.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure; then nothing is deleted.
    async fn delete_expired_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<Vec<(CustomerId, KeyId)>, StorageError>;

    /// Moves `last_used_at` forward for each `(id, at)`, never backward, in one statement
    /// or transaction; a key named twice takes the later time. Unknown ids are ignored.
    /// Returns each key that changed, once, in no particular order, with the
    /// `last_used_at` it had before (read in the same transaction, so of two concurrent
    /// flushes only one sees a key's old value): what the `dormant_key_used` alert is
    /// judged on (SPEC §12). The keys' versions are left alone: usage bookkeeping never
    /// makes a change to a key stale.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure; nothing is written then.
    async fn record_last_used(
        &self,
        uses: &[(KeyId, OffsetDateTime)],
    ) -> Result<Vec<LastUseMoved>, StorageError>;
}
