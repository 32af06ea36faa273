//! `AuditLog` in memory: events by id, the key that makes a second event with the same
//! id a conflict. Events are about keys, venues and credentials but hang off none of
//! them: deleting those leaves the events here, and only retention removes them.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use keyward_domain::audit::{AuditEvent, AuditFilter};
use keyward_domain::ports::{AuditLog, Page, PageRequest, StorageError, truncate_to_micros};
use keyward_domain::{AuditEventId, CustomerId};
use time::{OffsetDateTime, UtcOffset};

use crate::MemoryStore;

/// The rule a clashing event id is reported as, as the SQL stores' primary key does.
const ID_RULE: &str = "id";

#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: BTreeMap<AuditEventId, AuditEvent>,
}

impl Table {
    /// `Conflict` when an event of `events` repeats an id of the batch or of the table.
    fn check_ids(&self, events: &[AuditEvent]) -> Result<(), StorageError> {
        let mut seen = BTreeSet::new();
        for event in events {
            if !seen.insert(event.id) || self.rows.contains_key(&event.id) {
                return Err(StorageError::Conflict(ID_RULE));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl AuditLog for MemoryStore {
    async fn record_audit_events(&self, events: &[AuditEvent]) -> Result<(), StorageError> {
        let mut state = self.state();
        // All or none: every id is checked before the first event is stored.
        state.audit.check_ids(events)?;
        for event in events {
            // As the SQL stores keep it: UTC, to the microsecond.
            let at = truncate_to_micros(event.at).to_offset(UtcOffset::UTC);
            state.audit.rows.insert(
                event.id,
                AuditEvent {
                    at,
                    ..event.clone()
                },
            );
        }
        Ok(())
    }

    async fn list_audit_events(
        &self,
        customer: CustomerId,
        filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>, StorageError> {
        let state = self.state();
        let mut matching: Vec<&AuditEvent> = state
            .audit
            .rows
            .values()
            .filter(|event| event.customer == customer)
            .filter(|event| filter.action.is_none_or(|action| event.action == action))
            .filter(|event| filter.target_id.is_none_or(|id| event.target_id == id))
            .collect();
        matching.sort_by_key(|event| Reverse((event.at, event.id)));
        let skip = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let limit = usize::try_from(page.limit()).unwrap_or(usize::MAX);
        Ok(Page {
            items: matching
                .iter()
                .skip(skip)
                .take(limit)
                .map(|event| (*event).clone())
                .collect(),
            total: matching.len() as u64,
            request: page,
        })
    }

    async fn delete_audit_events_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<u64, StorageError> {
        // The SQL stores compare to the microsecond too.
        let cutoff = truncate_to_micros(cutoff);
        let mut state = self.state();
        let before = state.audit.rows.len();
        state.audit.rows.retain(|_, event| event.at >= cutoff);
        Ok((before - state.audit.rows.len()) as u64)
    }
}
