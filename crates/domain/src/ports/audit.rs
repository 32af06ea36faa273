//! The storage port for audit events (SPEC §12).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::{AuditEvent, AuditFilter};
use crate::ids::CustomerId;
use crate::ports::storage::{Page, PageRequest, StorageError};

/// Where audit events are kept. Events outlive what they are about: deleting a key,
/// venue or credential leaves its events in place; only retention
/// ([`delete_audit_events_before`](AuditLog::delete_audit_events_before)) removes them.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Stores the events, all or none, in one transaction. `at` is kept to the
    /// microsecond; `details` and the actor id come back exactly as given (any valid
    /// UTF-8 without U+0000).
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure; nothing is stored then. `Conflict` when
    /// an event with one of the ids is stored already.
    async fn record_audit_events(&self, events: &[AuditEvent]) -> Result<(), StorageError>;

    /// One page of `customer`'s events matching `filter` (both conditions when both are
    /// given), newest first (`at` descending, then id descending), and how many match.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn list_audit_events(
        &self,
        customer: CustomerId,
        filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>, StorageError>;

    /// Deletes every event made before `cutoff` (any customer); returns how many.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure. A store may delete in batches, each
    /// committed on its own, so some of the events may be deleted already then (the
    /// rest go on a later call).
    async fn delete_audit_events_before(&self, cutoff: OffsetDateTime)
    -> Result<u64, StorageError>;
}
