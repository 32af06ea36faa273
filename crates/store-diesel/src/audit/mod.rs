//! `AuditLog` on Diesel: events in `audit_events` (ADR 0055). A batch is one INSERT
//! whatever its size ([`insert`], the one place the SQL differs per backend), run in a
//! write transaction (`BEGIN IMMEDIATE` on SQLite): stored all or none, a clashing id (the
//! primary key) failing it as a `Conflict`. Nothing else is locked: events reference no
//! other table. The list and the retention delete are written once through the macros of
//! [`crate::conn`].

mod insert;
mod row;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use keyward_domain::CustomerId;
use keyward_domain::audit::{AuditAction, AuditEvent, AuditFilter};
use keyward_domain::ports::{AuditLog, Page, PageRequest, StorageError};
use time::OffsetDateTime;

use self::insert::InsertAuditEvents;
use self::row::{AuditEventRow, EventValues};
use crate::DieselStore;
use crate::conn::{TxError, with_connection, write_transaction};
use crate::error::storage_error;
use crate::schema::audit_events;
use crate::types::{DbInstant, DbUuid};

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
        let deleted = with_connection!(self.pools, |conn| {
            diesel::delete(audit_events::table.filter(audit_events::at.lt(DbInstant(cutoff))))
                .execute(conn)
                .await
        })
        .map_err(storage_error)?;
        Ok(deleted as u64)
    }
}
