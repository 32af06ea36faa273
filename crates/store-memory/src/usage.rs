//! `UsageRepository` in memory: counts by `(key, day)` in an ordered map, so one key's
//! days come out in date order. A row's customer is its key's: reads look the key up, and
//! deleting a key removes its rows (`api_keys.rs` calls [`Table::remove_key`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use keyward_domain::ports::{StorageError, UsageRepository};
use keyward_domain::usage::{DailyUsage, DayRange, KeyUsageTotal, UsageCounts};
use keyward_domain::{CustomerId, KeyId};
use time::Date;

use crate::MemoryStore;

/// The largest count the SQL stores keep (a BIGINT); this store stops there too.
const LARGEST: u64 = i64::MAX.unsigned_abs();

#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: BTreeMap<(KeyId, Date), UsageCounts>,
}

impl Table {
    /// Forgets every count of `key` (the key is being deleted).
    pub(crate) fn remove_key(&mut self, key: KeyId) {
        self.rows.retain(|(id, _), _| *id != key);
    }
}

/// `stored + added`, saturating at [`LARGEST`].
fn add_capped(stored: &mut UsageCounts, added: UsageCounts) {
    stored.add(added);
    stored.verified = stored.verified.min(LARGEST);
    stored.denied = stored.denied.min(LARGEST);
}

#[async_trait]
impl UsageRepository for MemoryStore {
    async fn add_usage(&self, counts: &[DailyUsage]) -> Result<u64, StorageError> {
        let mut state = self.state();
        let mut written = HashSet::new();
        for entry in counts {
            if entry.counts.is_zero() || state.api_keys.get(entry.key).is_none() {
                continue;
            }
            let stored = state.usage.rows.entry((entry.key, entry.date)).or_default();
            add_capped(stored, entry.counts);
            written.insert((entry.key, entry.date));
        }
        Ok(written.len() as u64)
    }

    async fn key_usage(
        &self,
        customer: CustomerId,
        key: KeyId,
        days: DayRange,
    ) -> Result<Vec<DailyUsage>, StorageError> {
        let state = self.state();
        if state
            .api_keys
            .get(key)
            .is_none_or(|stored| stored.customer_id() != customer)
        {
            return Ok(Vec::new());
        }
        Ok(state
            .usage
            .rows
            .range((key, days.first())..=(key, days.last()))
            .map(|((key, date), counts)| DailyUsage {
                key: *key,
                date: *date,
                counts: *counts,
            })
            .collect())
    }

    async fn usage_by_key(
        &self,
        customer: CustomerId,
        days: DayRange,
    ) -> Result<Vec<KeyUsageTotal>, StorageError> {
        let state = self.state();
        let mut totals: HashMap<KeyId, KeyUsageTotal> = HashMap::new();
        for ((id, date), counts) in &state.usage.rows {
            if !days.contains(*date) {
                continue;
            }
            let Some(key) = state
                .api_keys
                .get(*id)
                .filter(|key| key.customer_id() == customer)
            else {
                continue;
            };
            let total = totals.entry(*id).or_insert_with(|| KeyUsageTotal {
                key: *id,
                name: key.name().as_str().to_owned(),
                counts: UsageCounts::default(),
            });
            add_capped(&mut total.counts, *counts);
        }
        let mut totals: Vec<KeyUsageTotal> = totals.into_values().collect();
        totals.sort_by_key(|total| {
            let sum = u128::from(total.counts.verified) + u128::from(total.counts.denied);
            (std::cmp::Reverse(sum), total.key)
        });
        Ok(totals)
    }

    async fn delete_usage_before(&self, cutoff: Date) -> Result<u64, StorageError> {
        let mut state = self.state();
        let before = state.usage.rows.len();
        state.usage.rows.retain(|(_, date), _| *date >= cutoff);
        Ok((before - state.usage.rows.len()) as u64)
    }
}
