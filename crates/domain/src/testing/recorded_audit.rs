//! An [`AuditLog`] that keeps events in a `Vec`, for service tests that check which
//! events a change records (and for tests that need an audit trail but ignore it).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::{AuditEvent, AuditFilter};
use crate::ids::CustomerId;
use crate::ports::{AuditLog, Clock, Page, PageRequest, StorageError, SystemClock};
use crate::services::AuditTrail;

/// Every event recorded, in order.
#[derive(Debug, Default)]
pub struct RecordedAudit {
    events: Mutex<Vec<AuditEvent>>,
}

impl RecordedAudit {
    /// A trail writing into a fresh log, with the system clock; and the log.
    pub fn trail() -> (AuditTrail, Arc<Self>) {
        Self::trail_with_clock(Arc::new(SystemClock))
    }

    /// A trail writing into a fresh log, with `clock`; and the log.
    pub fn trail_with_clock(clock: Arc<dyn Clock>) -> (AuditTrail, Arc<Self>) {
        let log = Arc::new(Self::default());
        (AuditTrail::new(log.clone(), clock), log)
    }

    /// The events recorded so far, oldest first.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events.lock().unwrap().clone()
    }
}

#[async_trait]
impl AuditLog for RecordedAudit {
    async fn record_audit_events(&self, events: &[AuditEvent]) -> Result<(), StorageError> {
        self.events.lock().unwrap().extend_from_slice(events);
        Ok(())
    }

    async fn list_audit_events(
        &self,
        customer: CustomerId,
        filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>, StorageError> {
        let mut matching: Vec<AuditEvent> = self
            .events()
            .into_iter()
            .filter(|event| {
                event.customer == customer
                    && filter.action.is_none_or(|action| event.action == action)
                    && filter.target_id.is_none_or(|id| event.target_id == id)
            })
            .collect();
        matching.sort_by_key(|event| std::cmp::Reverse((event.at, event.id)));
        let total = matching.len() as u64;
        let items = matching
            .into_iter()
            .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
            .take(page.limit() as usize)
            .collect();
        Ok(Page {
            items,
            total,
            request: page,
        })
    }

    async fn delete_audit_events_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<u64, StorageError> {
        let mut events = self.events.lock().unwrap();
        let before = events.len();
        events.retain(|event| event.at >= cutoff);
        Ok((before - events.len()) as u64)
    }
}
