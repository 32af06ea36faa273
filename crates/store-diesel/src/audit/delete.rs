//! Retention: deleting the events before a cutoff at most [`AUDIT_DELETE_BATCH`] at a
//! time, oldest first, the batch picked by the `(at)` index (`audit_events_at_idx`) and
//! deleted by the rows' physical addresses:
//!
//! * PostgreSQL: the batch's `ctid`s gathered into an array by an index scan, then a `Tid
//!   Scan`. (`id IN (SELECT id … LIMIT n)` plans as a hash semi-join over a sequential
//!   scan of the whole table, for every batch.)
//! * SQLite: the batch's `rowid`s from the covering `(at)` index, then one rowid lookup
//!   each.
//!
//! A `ctid` is stable within the statement: audit events are never updated, and a row
//! this statement's snapshot sees cannot be vacuumed away under it.

use diesel::QueryResult;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::AUDIT_DELETE_BATCH;
use crate::conn::SqliteConnection;
use crate::types::{DbInstant, PortableInstant};

const POSTGRES_SQL: &str = "\
DELETE FROM audit_events WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM audit_events WHERE at < $1 ORDER BY at LIMIT $2
))";

const SQLITE_SQL: &str = "\
DELETE FROM audit_events WHERE rowid IN (
    SELECT rowid FROM audit_events WHERE at < ? ORDER BY at LIMIT ?
)";

/// [`AUDIT_DELETE_BATCH`] as bound to `LIMIT`.
#[allow(clippy::cast_possible_wrap)] // A small constant.
const LIMIT: i64 = AUDIT_DELETE_BATCH as i64;

/// Deletes the oldest [`AUDIT_DELETE_BATCH`] events before a cutoff, or all of them when
/// there are fewer; returns how many.
pub(super) trait DeleteAuditEventsBatch {
    async fn delete_audit_events_batch(&mut self, cutoff: DbInstant) -> QueryResult<usize>;
}

/// One impl per connection type: the statements differ only in their SQL text.
macro_rules! delete_batch_impl {
    ($connection:ty, $sql:expr) => {
        impl DeleteAuditEventsBatch for $connection {
            async fn delete_audit_events_batch(&mut self, cutoff: DbInstant) -> QueryResult<usize> {
                diesel::sql_query($sql)
                    .bind::<PortableInstant, _>(cutoff)
                    .bind::<BigInt, _>(LIMIT)
                    .execute(self)
                    .await
            }
        }
    };
}

delete_batch_impl!(AsyncPgConnection, POSTGRES_SQL);
delete_batch_impl!(SqliteConnection, SQLITE_SQL);
