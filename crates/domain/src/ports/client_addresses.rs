//! The storage port for the client addresses each key was used from: what the
//! `new_client_ip` alert compares a use against (SPEC §12).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::ids::KeyId;
use crate::ports::storage::StorageError;
use crate::usage::ClientAddress;

/// Most addresses a key learns: a key that had this many stored before a call learns no
/// new one in it (its known ones still move forward), so someone holding a key cannot grow
/// the table without bound by sending it from ever new addresses. A key used from that
/// many addresses within the retention is used from everywhere; a new one says nothing.
pub const MAX_ADDRESSES_PER_KEY: u64 = 1_000;

/// A key seen used from an address (a flush's worth of such uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSighting {
    pub key: KeyId,
    pub address: ClientAddress,
    /// The earliest and latest use in the batch (UTC; stored to the microsecond).
    pub first_at: OffsetDateTime,
    pub last_at: OffsetDateTime,
}

/// A key used from an address it had not been recorded with before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewClientAddress {
    pub key: KeyId,
    pub address: ClientAddress,
    /// The sighting's `first_at`, as stored.
    pub at: OffsetDateTime,
    /// When the key was created.
    pub key_created_at: OffsetDateTime,
    /// How many addresses the key had been recorded with before this call (not counting
    /// any recorded by it): 0 means nothing was known of the key's clients.
    pub known_before: u64,
}

/// The addresses each key was used from, one row per key and address with the first and
/// last time it was seen. A key's addresses go with the key: deleting it (by the API, the
/// CLI or the expired-key cleanup) deletes them too.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ClientAddressRepository: Send + Sync {
    /// Records each sighting: a new `(key, address)` is stored with its `first_at` and
    /// `last_at` (unless the key had [`MAX_ADDRESSES_PER_KEY`] or more stored before this
    /// call); a known one keeps its first time and moves its last time forward (never
    /// back). Sightings of keys that do not exist are skipped; a pair named twice in one
    /// batch counts as one sighting spanning both. All in one transaction, so of two
    /// instances recording the same new pair at once only one is told it was new.
    ///
    /// Returns the pairs this call stored for the first time, once each, in no particular
    /// order.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure; nothing is stored then.
    async fn record_client_addresses(
        &self,
        sightings: &[ClientSighting],
    ) -> Result<Vec<NewClientAddress>, StorageError>;

    /// Deletes every address last seen before `cutoff` (any key); returns how many.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn delete_client_addresses_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<u64, StorageError>;
}
