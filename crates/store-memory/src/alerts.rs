//! `AlertRepository` in memory: alerts by `(key, kind, UTC hour)`, the key that makes an
//! alert a duplicate, so a second one for the same hour finds its place taken. An alert's
//! customer is its key's, copied when it is stored; deleting a key removes its alerts
//! (`api_keys.rs` calls [`Table::remove_key`]).

use std::cmp::Reverse;
use std::collections::BTreeMap;

use async_trait::async_trait;
use keyward_domain::alerts::{AlertKind, KeyAlert, hour_of};
use keyward_domain::keys::ApiKey;
use keyward_domain::ports::{AlertRepository, Page, PageRequest, StorageError, truncate_to_micros};
use keyward_domain::{AlertId, CustomerId, KeyId};
use time::{OffsetDateTime, UtcOffset};

use crate::MemoryStore;

#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: BTreeMap<(KeyId, AlertKind, OffsetDateTime), Stored>,
}

#[derive(Debug)]
struct Stored {
    customer: CustomerId,
    alert: KeyAlert,
}

impl Table {
    /// Forgets every alert about `key` (the key is being deleted).
    pub(crate) fn remove_key(&mut self, key: KeyId) {
        self.rows.retain(|(id, _, _), _| *id != key);
    }

    fn holds_id(&self, id: AlertId) -> bool {
        self.rows.values().any(|stored| stored.alert.id == id)
    }
}

#[async_trait]
impl AlertRepository for MemoryStore {
    async fn record_alerts(&self, alerts: &[KeyAlert]) -> Result<Vec<AlertId>, StorageError> {
        let mut state = self.state();
        let mut stored = Vec::new();
        for alert in alerts {
            let Some(customer) = state.api_keys.get(alert.key).map(ApiKey::customer_id) else {
                continue;
            };
            // As the SQL stores keep it: UTC, to the microsecond.
            let at = truncate_to_micros(alert.at).to_offset(UtcOffset::UTC);
            let slot = (alert.key, alert.kind, hour_of(at));
            // An id already stored is skipped too, as the SQL stores' primary key does.
            if state.alerts.rows.contains_key(&slot) || state.alerts.holds_id(alert.id) {
                continue;
            }
            state.alerts.rows.insert(
                slot,
                Stored {
                    customer,
                    alert: KeyAlert {
                        at,
                        ..alert.clone()
                    },
                },
            );
            stored.push(alert.id);
        }
        Ok(stored)
    }

    async fn list_alerts(
        &self,
        customer: CustomerId,
        kind: Option<AlertKind>,
        page: PageRequest,
    ) -> Result<Page<KeyAlert>, StorageError> {
        let state = self.state();
        let mut matching: Vec<&KeyAlert> = state
            .alerts
            .rows
            .values()
            .filter(|stored| stored.customer == customer)
            .filter(|stored| kind.is_none_or(|kind| stored.alert.kind == kind))
            .map(|stored| &stored.alert)
            .collect();
        matching.sort_by_key(|alert| Reverse((alert.at, alert.id)));
        let skip = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let limit = usize::try_from(page.limit()).unwrap_or(usize::MAX);
        Ok(Page {
            items: matching
                .iter()
                .skip(skip)
                .take(limit)
                .map(|alert| (*alert).clone())
                .collect(),
            total: matching.len() as u64,
            request: page,
        })
    }

    async fn delete_alerts_before(&self, cutoff: OffsetDateTime) -> Result<u64, StorageError> {
        // The SQL stores compare to the microsecond too.
        let cutoff = truncate_to_micros(cutoff);
        let mut state = self.state();
        let before = state.alerts.rows.len();
        state
            .alerts
            .rows
            .retain(|_, stored| stored.alert.at >= cutoff);
        Ok((before - state.alerts.rows.len()) as u64)
    }
}
