//! `UsageRepository` on Diesel: verification counts per key and UTC day in
//! `api_key_usage`. The batched upsert differs per backend ([`add`]); the reads and the
//! retention delete are written once through the macros of [`crate::conn`].
//!
//! Counts are BIGINTs: a count past `i64::MAX` is stored as `i64::MAX` (the memory store
//! does the same). `usage_by_key` sums in SQL — a sum past `i64::MAX` fails as `Other`,
//! where the memory store saturates; reaching it takes a verification every nanosecond
//! for 290 years — and orders in Rust, where `verified + denied` cannot overflow and key
//! ids compare as the port says (their bytes, on both backends).

mod add;

use std::cmp::Reverse;
use std::collections::BTreeMap;

use async_trait::async_trait;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use keyward_domain::ports::{StorageError, UsageRepository};
use keyward_domain::usage::{DailyUsage, DayRange, KeyUsageTotal, UsageCounts};
use keyward_domain::{CustomerId, KeyId};
use time::Date;

use crate::DieselStore;
use crate::conn::{PooledConnection, bounded_postgres, with_connection};
use crate::error::storage_error;
use crate::schema::{api_key_usage, api_keys};
use crate::types::DbUuid;

/// The counts of one `(key, day)` of a batch, its entries added together, as the
/// BIGINTs they are stored as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Merged {
    key: KeyId,
    day: Date,
    verified: i64,
    denied: i64,
}

/// `counts` with the entries of each `(key, day)` added together (saturating), in
/// `(key, day)` order, without the pairs that count nothing.
fn merge(counts: &[DailyUsage]) -> Vec<Merged> {
    let mut merged: BTreeMap<(KeyId, Date), UsageCounts> = BTreeMap::new();
    for entry in counts {
        merged
            .entry((entry.key, entry.date))
            .or_default()
            .add(entry.counts);
    }
    merged
        .into_iter()
        .filter(|(_, counts)| !counts.is_zero())
        .map(|((key, day), counts)| Merged {
            key,
            day,
            verified: stored_count(counts.verified),
            denied: stored_count(counts.denied),
        })
        .collect()
}

/// A count as a BIGINT, saturating.
fn stored_count(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// A negative count read back, which the columns' CHECKs should have made impossible.
#[derive(Debug, thiserror::Error)]
#[error("stored api_key_usage of key {key} has a negative `{column}` count")]
struct CorruptCount {
    key: KeyId,
    column: &'static str,
}

fn to_counts(key: KeyId, verified: i64, denied: i64) -> Result<UsageCounts, StorageError> {
    let read = |count: i64, column| {
        u64::try_from(count).map_err(|_| StorageError::other(CorruptCount { key, column }))
    };
    Ok(UsageCounts {
        verified: read(verified, "verified")?,
        denied: read(denied, "denied")?,
    })
}

/// Orders totals as the port says: `verified + denied` descending, then key id ascending.
fn in_port_order(mut totals: Vec<KeyUsageTotal>) -> Vec<KeyUsageTotal> {
    totals.sort_by_key(|total| {
        let sum = u128::from(total.counts.verified) + u128::from(total.counts.denied);
        (Reverse(sum), total.key)
    });
    totals
}

#[async_trait]
impl UsageRepository for DieselStore {
    async fn add_usage(&self, counts: &[DailyUsage]) -> Result<u64, StorageError> {
        let rows = merge(counts);
        if rows.is_empty() {
            return Ok(0);
        }
        match self.pools.get().await? {
            PooledConnection::Postgres(mut pooled) => {
                bounded_postgres!(pooled, self.pools.statement_timeout(), |conn| {
                    add::postgres(conn, &rows).await
                })
            }
            PooledConnection::Sqlite(mut conn) => add::sqlite(&mut conn, &rows).await,
        }
        .map_err(storage_error)
    }

    async fn key_usage(
        &self,
        customer: CustomerId,
        key: KeyId,
        days: DayRange,
    ) -> Result<Vec<DailyUsage>, StorageError> {
        let rows: Vec<(Date, i64, i64)> = with_connection!(self.pools, |conn| {
            api_key_usage::table
                .filter(api_key_usage::key_id.eq(DbUuid(key.as_uuid())))
                .filter(api_key_usage::customer_id.eq(DbUuid(customer.as_uuid())))
                .filter(api_key_usage::day.between(days.first(), days.last()))
                .order(api_key_usage::day.asc())
                .select((
                    api_key_usage::day,
                    api_key_usage::verified,
                    api_key_usage::denied,
                ))
                .load(conn)
                .await
        })
        .map_err(storage_error)?;
        rows.into_iter()
            .map(|(date, verified, denied)| {
                Ok(DailyUsage {
                    key,
                    date,
                    counts: to_counts(key, verified, denied)?,
                })
            })
            .collect()
    }

    async fn usage_by_key(
        &self,
        customer: CustomerId,
        days: DayRange,
    ) -> Result<Vec<KeyUsageTotal>, StorageError> {
        let customer = DbUuid(customer.as_uuid());
        // Diesel's `sum` of a BIGINT is NUMERIC on PostgreSQL; the cast makes both
        // backends answer a BIGINT.
        let summed =
            |column: &str| sql::<BigInt>(&format!("CAST(sum(api_key_usage.{column}) AS BIGINT)"));
        let rows: Vec<(DbUuid, String, i64, i64)> = with_connection!(self.pools, |conn| {
            api_key_usage::table
                .inner_join(api_keys::table)
                .filter(api_key_usage::customer_id.eq(customer))
                // Implied by the one above; lets the planner read only the customer's
                // keys (api_keys_customer_created_idx) instead of all of them.
                .filter(api_keys::customer_id.eq(customer))
                .filter(api_key_usage::day.between(days.first(), days.last()))
                .group_by((api_keys::id, api_keys::name))
                .select((
                    api_keys::id,
                    api_keys::name,
                    summed("verified"),
                    summed("denied"),
                ))
                .load(conn)
                .await
        })
        .map_err(storage_error)?;
        let totals = rows
            .into_iter()
            .map(|(key, name, verified, denied)| {
                let key = KeyId::from_uuid(key.0);
                Ok(KeyUsageTotal {
                    key,
                    name,
                    counts: to_counts(key, verified, denied)?,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        Ok(in_port_order(totals))
    }

    async fn delete_usage_before(&self, cutoff: Date) -> Result<u64, StorageError> {
        let deleted = with_connection!(self.pools, |conn| {
            diesel::delete(api_key_usage::table.filter(api_key_usage::day.lt(cutoff)))
                .execute(conn)
                .await
        })
        .map_err(storage_error)?;
        Ok(deleted as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn entry(key: KeyId, date: Date, verified: u64, denied: u64) -> DailyUsage {
        DailyUsage {
            key,
            date,
            counts: UsageCounts { verified, denied },
        }
    }

    #[test]
    fn merge_adds_each_pair_once_in_key_and_day_order_and_drops_empty_pairs() {
        let (a, b) = (
            KeyId::from_uuid(uuid::Uuid::from_u128(1)),
            KeyId::from_uuid(uuid::Uuid::from_u128(2)),
        );
        let (d1, d2) = (date!(2026 - 01 - 01), date!(2026 - 01 - 02));
        let merged = merge(&[
            entry(b, d1, 1, 0),
            entry(a, d2, 0, 1),
            entry(b, d1, 2, 5),
            entry(a, d1, 0, 0),
            entry(a, d2, u64::MAX, 1),
        ]);
        assert_eq!(
            merged,
            vec![
                Merged {
                    key: a,
                    day: d2,
                    verified: i64::MAX,
                    denied: 2
                },
                Merged {
                    key: b,
                    day: d1,
                    verified: 3,
                    denied: 5
                },
            ]
        );
    }
}
