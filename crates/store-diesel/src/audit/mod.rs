//! `AuditLog` on Diesel: events in `audit_events` (ADR 0055). A batch is one INSERT
//! whatever its size ([`insert`], the one place the SQL differs per backend), run in a
//! write transaction (`BEGIN IMMEDIATE` on SQLite): stored all or none, a clashing id (the
//! primary key) failing it as a `Conflict`. Nothing else is locked: events reference no
//! other table. The list is written once through the macros of [`crate::conn`].
//!
//! Retention deletes in batches of [`AUDIT_DELETE_BATCH`] events, oldest first, each batch
//! one statement in a write transaction of its own ([`delete`]), until a batch comes up
//! short. However many events are due, no statement outlasts PostgreSQL's statement
//! timeout, and SQLite's write lock is released between batches, for long enough that
//! other writes get in ([`SQLITE_DELETE_PAUSE`]).

mod delete;
mod insert;
mod row;

use std::time::Duration;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use keyward_domain::CustomerId;
use keyward_domain::audit::{AuditAction, AuditEvent, AuditFilter};
use keyward_domain::ports::{AuditLog, Page, PageRequest, StorageError};
use time::OffsetDateTime;

use self::delete::DeleteAuditEventsBatch;
use self::insert::InsertAuditEvents;
use self::row::{AuditEventRow, EventValues};
use crate::conn::{TxError, with_connection, write_transaction};
use crate::error::storage_error;
use crate::schema::audit_events;
use crate::types::{DbInstant, DbUuid};
use crate::{Backend, DieselStore};

/// Most events one statement of `delete_audit_events_before` deletes. Small enough that a
/// batch takes milliseconds (well inside PostgreSQL's statement timeout, and a short hold
/// of SQLite's write lock), large enough that a flood of millions is cleared in hundreds
/// of statements.
pub const AUDIT_DELETE_BATCH: usize = 5_000;

/// How long retention leaves SQLite's write lock free between two batches. A writer
/// that found the lock taken is retried by SQLite's busy handler, which polls instead of
/// queueing: at most 25 ms apart for its first ~130 ms of waiting, then up to 100 ms
/// apart. Batches back to back leave it a gap of well under a millisecond, so a write
/// could wait seconds for a long deletion (up to 2 s while a million events went, in a
/// debug build); this pause lets in every writer that started waiting during the batch
/// before it (a batch takes tens of milliseconds; the worst wait fell below 0.1 s), for a
/// deletion about a third slower. PostgreSQL needs none: its writers wait for no lock
/// the deletion holds.
const SQLITE_DELETE_PAUSE: Duration = Duration::from_millis(25);

fn transaction_error(err: TxError<std::convert::Infallible>) -> StorageError {
    match err {
        TxError::Database(err) => storage_error(err),
        TxError::Refused(never) => match never {},
    }
}

#[async_trait]
impl AuditLog for DieselStore {
    async fn record_audit_events(&self, events: &[AuditEvent]) -> Result<(), StorageError> {
        if events.is_empty() {
            return Ok(());
        }
        let rows = events
            .iter()
            .map(EventValues::of)
            .collect::<Result<Vec<_>, _>>()?;
        write_transaction!(self.pools, |conn| {
            conn.insert_audit_events(&rows).await?;
            Ok::<_, TxError<std::convert::Infallible>>(())
        })
        .map_err(transaction_error)
    }

    async fn list_audit_events(
        &self,
        customer: CustomerId,
        filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>, StorageError> {
        let customer = DbUuid(customer.as_uuid());
        let action = filter.action.map(AuditAction::as_str);
        let target = filter.target_id.map(DbUuid);
        let limit = i64::from(page.limit());
        let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
        let (total, rows): (i64, Vec<AuditEventRow>) = with_connection!(self.pools, |conn| {
            let matching = || {
                let mut query = audit_events::table
                    .filter(audit_events::customer_id.eq(customer))
                    .into_boxed();
                if let Some(action) = action {
                    query = query.filter(audit_events::action.eq(action));
                }
                if let Some(target) = target {
                    query = query.filter(audit_events::target_id.eq(target));
                }
                query
            };
            async {
                let total: i64 = matching().count().get_result(conn).await?;
                let rows = matching()
                    .order((audit_events::at.desc(), audit_events::id.desc()))
                    .limit(limit)
                    .offset(offset)
                    .select(AuditEventRow::as_select())
                    .load(conn)
                    .await?;
                QueryResult::Ok((total, rows))
            }
            .await
        })
        .map_err(storage_error)?;
        Ok(Page {
            items: rows
                .into_iter()
                .map(AuditEvent::try_from)
                .collect::<Result<_, _>>()?,
            total: u64::try_from(total).unwrap_or(0),
            request: page,
        })
    }

    async fn delete_audit_events_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<u64, StorageError> {
        let cutoff = DbInstant(cutoff);
        let mut total: u64 = 0;
        loop {
            // A transaction, and a connection, per batch: PostgreSQL's timeout bounds each
            // batch alone, and SQLite's write lock is free between batches.
            let deleted = write_transaction!(self.pools, |conn| {
                Ok::<_, TxError<std::convert::Infallible>>(
                    conn.delete_audit_events_batch(cutoff).await?,
                )
            })
            .map_err(transaction_error)?;
            total += deleted as u64;
            if deleted < AUDIT_DELETE_BATCH {
                return Ok(total);
            }
            if self.pools.backend() == Backend::Sqlite {
                tokio::time::sleep(SQLITE_DELETE_PAUSE).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use keyward_domain::testing::audit::EXPIRED_BACKLOG;

    use super::AUDIT_DELETE_BATCH;

    #[test]
    fn the_contract_backlog_spans_several_delete_batches_and_a_partial_one() {
        let backlog = usize::try_from(EXPIRED_BACKLOG).unwrap_or(usize::MAX);
        assert!(backlog > 2 * AUDIT_DELETE_BATCH, "{backlog}");
        assert_ne!(backlog % AUDIT_DELETE_BATCH, 0, "{backlog}");
    }
}
