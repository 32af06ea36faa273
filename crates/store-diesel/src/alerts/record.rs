//! Storing a batch of alerts, in one write transaction (`BEGIN IMMEDIATE` on SQLite, a
//! plain transaction on PostgreSQL). Each alert is one
//! `INSERT … SELECT … FROM api_keys WHERE id = … ON CONFLICT DO NOTHING RETURNING id`:
//!
//! * the customer is taken from the key, and an alert whose key does not exist selects
//!   no row, so it is skipped;
//! * a conflict on `(key_id, kind, hour)` — an alert stored by another instance, or
//!   earlier in this batch — stores nothing and returns no id. So does a conflict on
//!   the id: a batch retried with its ids is stored once;
//! * on PostgreSQL the batch's keys are locked `FOR KEY SHARE` first, in id order (as the
//!   usage flushes and the expired-key cleanup lock them): a key deleted meanwhile is
//!   then skipped, instead of failing the batch on the foreign key, and a locked key
//!   cannot be deleted until the batch commits.
//!
//! The alerts are inserted in `(key, kind, hour)` order, ties in batch order, so the
//! first of the batch wins a slot, and two instances inserting the same slots wait for
//! each other in the same order instead of deadlocking on the unique index.

use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use keyward_domain::alerts::KeyAlert;

use crate::conn::SqliteConnection;
use crate::schema::{api_key_alerts, api_keys};
use crate::types::{DbInstant, DbUuid, PortableInstant, PortableUuid};

/// The batch's indexes in the order the alerts are inserted (see the module docs).
pub(super) fn insertion_order(alerts: &[KeyAlert]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..alerts.len()).collect();
    order.sort_by_key(|&index| {
        let alert = &alerts[index];
        (alert.key, alert.kind, alert.hour(), index)
    });
    order
}

/// The batch's keys, each once, in id order.
pub(super) fn keys_in_id_order(alerts: &[KeyAlert]) -> Vec<DbUuid> {
    let mut keys: Vec<_> = alerts.iter().map(|alert| alert.key).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter().map(|key| DbUuid(key.as_uuid())).collect()
}

/// Locks that differ per backend, called from the shared transaction body.
pub(super) trait LockKeys {
    /// Keeps `keys` (in id order) from being deleted until the transaction ends.
    async fn lock_keys(&mut self, keys: &[DbUuid]) -> QueryResult<()>;
}

impl LockKeys for AsyncPgConnection {
    async fn lock_keys(&mut self, keys: &[DbUuid]) -> QueryResult<()> {
        api_keys::table
            .filter(api_keys::id.eq_any(keys))
            .order(api_keys::id)
            .select(api_keys::id)
            .for_key_share()
            .execute(self)
            .await
            .map(drop)
    }
}

impl LockKeys for SqliteConnection {
    /// Nothing to do: `BEGIN IMMEDIATE` already holds the database's only write lock.
    async fn lock_keys(&mut self, _keys: &[DbUuid]) -> QueryResult<()> {
        Ok(())
    }
}

/// Inserts `alert` unless its key is missing or its id or slot is taken; whether it was.
macro_rules! insert_alert {
    ($conn:expr, $alert:expr) => {{
        let alert: &KeyAlert = $alert;
        let from_key = api_keys::table
            .filter(api_keys::id.eq(DbUuid(alert.key.as_uuid())))
            .select((
                DbUuid(alert.id.as_uuid()).into_sql::<PortableUuid>(),
                api_keys::id,
                api_keys::customer_id,
                alert.kind.as_str().into_sql::<Text>(),
                DbInstant(alert.at).into_sql::<PortableInstant>(),
                DbInstant(alert.hour()).into_sql::<PortableInstant>(),
                alert.detail.as_str().into_sql::<Text>(),
            ));
        let stored: Vec<DbUuid> = diesel::insert_into(api_key_alerts::table)
            .values(from_key)
            .into_columns((
                api_key_alerts::id,
                api_key_alerts::key_id,
                api_key_alerts::customer_id,
                api_key_alerts::kind,
                api_key_alerts::at,
                api_key_alerts::hour,
                api_key_alerts::detail,
            ))
            .on_conflict_do_nothing()
            .returning(api_key_alerts::id)
            .get_results($conn)
            .await?;
        QueryResult::Ok(!stored.is_empty())
    }};
}

/// Stores `alert` (see the module docs); whether it was.
pub(super) trait InsertAlert {
    async fn insert_alert(&mut self, alert: &KeyAlert) -> QueryResult<bool>;
}

impl InsertAlert for AsyncPgConnection {
    async fn insert_alert(&mut self, alert: &KeyAlert) -> QueryResult<bool> {
        insert_alert!(self, alert)
    }
}

impl InsertAlert for SqliteConnection {
    async fn insert_alert(&mut self, alert: &KeyAlert) -> QueryResult<bool> {
        insert_alert!(self, alert)
    }
}
