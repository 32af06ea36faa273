//! `AlertRepository` on Diesel: alerts about keys in `api_key_alerts`, at most one per
//! key, kind and UTC hour (a UNIQUE constraint). Writing a batch is [`record`]; the list
//! and the retention delete are written once through the macros of [`crate::conn`].

mod record;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use keyward_domain::alerts::{AlertKind, KeyAlert};
use keyward_domain::ports::{AlertRepository, Page, PageRequest, StorageError};
use keyward_domain::{AlertId, CustomerId, KeyId};
use time::OffsetDateTime;

use self::record::{InsertAlert, LockKeys};
use crate::DieselStore;
use crate::conn::{TxError, with_connection, write_transaction};
use crate::error::storage_error;
use crate::schema::api_key_alerts;
use crate::types::{DbInstant, DbUuid};

/// An alert as read back: id, at, key, kind, detail.
type AlertRow = (DbUuid, DbInstant, DbUuid, String, String);

/// A kind read back that is none of [`AlertKind`]'s, which the column's CHECK should have
/// made impossible.
#[derive(Debug, thiserror::Error)]
#[error("stored api_key_alerts row {id} has an unknown kind {kind:?}")]
struct CorruptKind {
    id: AlertId,
    kind: String,
}

fn to_alert((id, at, key, kind, detail): AlertRow) -> Result<KeyAlert, StorageError> {
    let id = AlertId::from_uuid(id.0);
    let kind = kind
        .parse::<AlertKind>()
        .map_err(|_| StorageError::other(CorruptKind { id, kind }))?;
    Ok(KeyAlert {
        id,
        at: at.0,
        key: KeyId::from_uuid(key.0),
        kind,
        detail,
    })
}

fn transaction_error(err: TxError<std::convert::Infallible>) -> StorageError {
    match err {
        TxError::Database(err) => storage_error(err),
        TxError::Refused(never) => match never {},
    }
}

#[async_trait]
impl AlertRepository for DieselStore {
    async fn record_alerts(&self, alerts: &[KeyAlert]) -> Result<Vec<AlertId>, StorageError> {
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        let order = record::insertion_order(alerts);
        let keys = record::keys_in_id_order(alerts);
        let stored: Vec<bool> = write_transaction!(self.pools, |conn| {
            conn.lock_keys(&keys).await?;
            let mut stored = vec![false; alerts.len()];
            for index in order.iter().copied() {
                stored[index] = conn.insert_alert(&alerts[index]).await?;
            }
            Ok::<_, TxError<std::convert::Infallible>>(stored)
        })
        .map_err(transaction_error)?;
        Ok(alerts
            .iter()
            .zip(stored)
            .filter_map(|(alert, stored)| stored.then_some(alert.id))
            .collect())
    }

    async fn list_alerts(
        &self,
        customer: CustomerId,
        kind: Option<AlertKind>,
        page: PageRequest,
    ) -> Result<Page<KeyAlert>, StorageError> {
        let customer = DbUuid(customer.as_uuid());
        let limit = i64::from(page.limit());
        let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
        let (total, rows): (i64, Vec<AlertRow>) = with_connection!(self.pools, |conn| {
            let matching = || {
                let query = api_key_alerts::table
                    .filter(api_key_alerts::customer_id.eq(customer))
                    .into_boxed();
                match kind {
                    Some(kind) => query.filter(api_key_alerts::kind.eq(kind.as_str())),
                    None => query,
                }
            };
            async {
                let total: i64 = matching().count().get_result(conn).await?;
                let rows = matching()
                    .order((api_key_alerts::at.desc(), api_key_alerts::id.desc()))
                    .limit(limit)
                    .offset(offset)
                    .select((
                        api_key_alerts::id,
                        api_key_alerts::at,
                        api_key_alerts::key_id,
                        api_key_alerts::kind,
                        api_key_alerts::detail,
                    ))
                    .load(conn)
                    .await?;
                QueryResult::Ok((total, rows))
            }
            .await
        })
        .map_err(storage_error)?;
        Ok(Page {
            items: rows.into_iter().map(to_alert).collect::<Result<_, _>>()?,
            total: u64::try_from(total).unwrap_or(0),
            request: page,
        })
    }

    async fn delete_alerts_before(&self, cutoff: OffsetDateTime) -> Result<u64, StorageError> {
        let deleted = with_connection!(self.pools, |conn| {
            diesel::delete(api_key_alerts::table.filter(api_key_alerts::at.lt(DbInstant(cutoff))))
                .execute(conn)
                .await
        })
        .map_err(storage_error)?;
        Ok(deleted as u64)
    }
}
