//! The storage port for key usage counts (SPEC §12).

use async_trait::async_trait;
use time::Date;

use crate::ids::{CustomerId, KeyId};
use crate::ports::storage::StorageError;
use crate::usage::{DailyUsage, DayRange, KeyUsageTotal};

/// Verification counts per key and UTC day. A key's counts go with the key: deleting it
/// (by the API, the CLI or the expired-key cleanup) deletes them too.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait UsageRepository: Send + Sync {
    /// Adds each entry's counts to the stored counts of its `(key, date)` (which start at
    /// zero), all in one transaction. The same `(key, date)` may appear more than once;
    /// each entry adds. Entries of keys that do not exist (deleted since they were
    /// counted, or deleted while this runs) and entries counting nothing are ignored.
    /// A stored count saturates at `i64::MAX` rather than failing (a batch that failed
    /// would be retried forever). Returns how many distinct `(key, date)` pairs were
    /// written.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure; nothing is added then.
    async fn add_usage(&self, counts: &[DailyUsage]) -> Result<u64, StorageError>;

    /// The stored counts of key `key` of `customer` on the days of `days`, in date order;
    /// days without counts are absent. A key of another customer, or no key, has none.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn key_usage(
        &self,
        customer: CustomerId,
        key: KeyId,
        days: DayRange,
    ) -> Result<Vec<DailyUsage>, StorageError>;

    /// The counts of each of `customer`'s keys summed over `days`, for the keys with any
    /// count in the range, ordered by `verified + denied` descending, then key id
    /// ascending (as the UUID's bytes, i.e. its lower-case text).
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn usage_by_key(
        &self,
        customer: CustomerId,
        days: DayRange,
    ) -> Result<Vec<KeyUsageTotal>, StorageError>;

    /// Deletes the counts of every day before `cutoff` (retention, `usage.retention_days`);
    /// returns how many `(key, date)` rows went.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn delete_usage_before(&self, cutoff: Date) -> Result<u64, StorageError>;
}
