//! The storage port for suspicious-activity alerts (SPEC §12).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::alerts::{AlertKind, KeyAlert};
use crate::ids::{AlertId, CustomerId};
use crate::ports::storage::{Page, PageRequest, StorageError};

/// Alerts about keys, at most one per key, kind and UTC hour. A key's alerts go with the
/// key: deleting it (by the API, the CLI or the expired-key cleanup) deletes them too.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AlertRepository: Send + Sync {
    /// Stores each alert unless one of the same key and kind is stored for the same UTC
    /// hour ([`KeyAlert::hour`]) — by this or any other instance, or earlier in the same
    /// batch — or its key does not exist. The key's customer is the key's owner. All in
    /// one transaction. Returns the ids of the alerts stored, in the batch's order: the
    /// ones to report (log) now.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure; nothing is stored then.
    async fn record_alerts(&self, alerts: &[KeyAlert]) -> Result<Vec<AlertId>, StorageError>;

    /// One page of `customer`'s alerts, of `kind` when given, newest first (`at`
    /// descending, then id descending), and how many match.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn list_alerts(
        &self,
        customer: CustomerId,
        kind: Option<AlertKind>,
        page: PageRequest,
    ) -> Result<Page<KeyAlert>, StorageError>;

    /// Deletes every alert noticed before `cutoff`; returns how many.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn delete_alerts_before(&self, cutoff: OffsetDateTime) -> Result<u64, StorageError>;
}
