//! `ApiKeyRepository` on Diesel: the query code is written once and runs on SQLite and
//! PostgreSQL through the macros of [`crate::conn`]. Writes that check the customer's
//! key cap count and write in one transaction, with the customer's writers serialised
//! (`BEGIN IMMEDIATE` on SQLite, the customer row locked on PostgreSQL), so concurrent
//! creations can never exceed the cap. Updates are compare-and-swap on the `version`
//! column: they write only the version they read and bump it.

mod last_used;
mod queries;
mod row;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use keyward_domain::keys::{ApiKey, KeyHash};
use keyward_domain::ports::{
    ActiveKeyCap, ApiKeyRepository, KeyFilter, KeyWriteError, LastUseMoved, Page, PageRequest,
    StorageError, truncate_to_micros,
};
use keyward_domain::{CustomerId, KeyId};
use time::OffsetDateTime;

use self::queries::{counted_keys, identity_clashes, owned_key};
use self::row::{ApiKeyChanges, ApiKeyRow, NewApiKeyRow};
use crate::DieselStore;
use crate::conn::{
    BackendSql, PooledConnection, TxError, bounded_postgres, with_connection, write_transaction,
};
use crate::error::storage_error;
use crate::schema::{api_keys, customers};
use crate::types::{DbInstant, DbUuid};

/// The rule every key-identity clash is reported as (see the port's `# Errors`).
const KEY_HASH_RULE: &str = "key_hash";

/// Hex of every hash `key` would make findable: its current and its retired secret.
fn hashes_of(key: &ApiKey) -> Vec<String> {
    std::iter::once(key.hash())
        .chain(key.retired().map(|retired| retired.hash))
        .map(|hash| hash.to_hex())
        .collect()
}

/// `LimitReached` when `key` counts toward `cap` and the customer's other counted keys
/// already fill it.
fn refuse_over_cap(key: &ApiKey, cap: ActiveKeyCap, others: i64) -> Result<(), KeyWriteError> {
    if key.counts_toward_cap(cap.now) && others >= i64::from(cap.max) {
        return Err(KeyWriteError::LimitReached);
    }
    Ok(())
}

fn refused<E>(err: KeyWriteError) -> Result<E, TxError<KeyWriteError>> {
    Err(TxError::Refused(err))
}

fn write_error(err: TxError<KeyWriteError>) -> KeyWriteError {
    match err {
        TxError::Database(err) => KeyWriteError::Storage(storage_error(err)),
        TxError::Refused(err) => err,
    }
}

fn to_keys(rows: Vec<ApiKeyRow>) -> Result<Vec<ApiKey>, StorageError> {
    rows.into_iter().map(ApiKey::try_from).collect()
}

/// `delete_expired_before` on PostgreSQL: the doomed rows locked in id order, then deleted
/// and named.
const DELETE_EXPIRED_IN_ID_ORDER: &str = "\
WITH doomed AS (
    SELECT id FROM api_keys WHERE expires_at < $1 ORDER BY id FOR UPDATE
)
DELETE FROM api_keys WHERE id IN (SELECT id FROM doomed) RETURNING customer_id, id";

/// A key deleted by [`DELETE_EXPIRED_IN_ID_ORDER`].
#[derive(Debug, QueryableByName)]
struct DeletedKey {
    #[diesel(sql_type = crate::types::PortableUuid)]
    customer_id: DbUuid,
    #[diesel(sql_type = crate::types::PortableUuid)]
    id: DbUuid,
}

#[async_trait]
impl ApiKeyRepository for DieselStore {
    async fn insert(&self, key: &ApiKey, cap: ActiveKeyCap) -> Result<(), KeyWriteError> {
        let customer = DbUuid(key.customer_id().as_uuid());
        let id = DbUuid(key.id().as_uuid());
        let hashes = hashes_of(key);
        write_transaction!(self.pools, |conn| {
            diesel::insert_into(customers::table)
                .values((
                    customers::id.eq(customer),
                    customers::created_at.eq(DbInstant(key.created_at())),
                ))
                .on_conflict(customers::id)
                .do_nothing()
                .execute(conn)
                .await?;
            conn.lock_customer(customer).await?;
            let clash: Option<DbUuid> = identity_clashes(id, hashes.clone())
                .first(conn)
                .await
                .optional()?;
            if clash.is_some() {
                return refused(StorageError::Conflict(KEY_HASH_RULE).into());
            }
            let others: i64 = counted_keys(customer, id, DbInstant(cap.now))
                .get_result(conn)
                .await?;
            if let Err(err) = refuse_over_cap(key, cap, others) {
                return refused(err);
            }
            diesel::insert_into(api_keys::table)
                .values(NewApiKeyRow::from(key))
                .execute(conn)
                .await?;
            Ok(())
        })
        .map_err(write_error)
    }

    async fn get(&self, customer: CustomerId, id: KeyId) -> Result<Option<ApiKey>, StorageError> {
        let query = owned_key(DbUuid(customer.as_uuid()), DbUuid(id.as_uuid()));
        let row: Option<ApiKeyRow> = with_connection!(self.pools, |conn| {
            query
                .select(ApiKeyRow::as_select())
                .first(conn)
                .await
                .optional()
        })
        .map_err(storage_error)?;
        row.map(ApiKey::try_from).transpose()
    }

    async fn find_by_id(&self, id: KeyId) -> Result<Option<ApiKey>, StorageError> {
        let row: Option<ApiKeyRow> = with_connection!(self.pools, |conn| {
            api_keys::table
                .find(DbUuid(id.as_uuid()))
                .select(ApiKeyRow::as_select())
                .first(conn)
                .await
                .optional()
        })
        .map_err(storage_error)?;
        row.map(ApiKey::try_from).transpose()
    }

    async fn find_by_hash(&self, hash: KeyHash) -> Result<Option<ApiKey>, StorageError> {
        let hex = hash.to_hex();
        let row: Option<ApiKeyRow> = with_connection!(self.pools, |conn| {
            api_keys::table
                .filter(
                    api_keys::key_hash
                        .eq(&hex)
                        .or(api_keys::retired_key_hash.eq(&hex)),
                )
                .select(ApiKeyRow::as_select())
                .first(conn)
                .await
                .optional()
        })
        .map_err(storage_error)?;
        row.map(ApiKey::try_from).transpose()
    }

    async fn list(
        &self,
        customer: CustomerId,
        filter: KeyFilter,
        page: PageRequest,
    ) -> Result<Page<ApiKey>, StorageError> {
        let customer = DbUuid(customer.as_uuid());
        let limit = i64::from(page.limit());
        let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
        let (total, rows): (i64, Vec<ApiKeyRow>) = with_connection!(self.pools, |conn| {
            let matching = || {
                let query = api_keys::table
                    .filter(api_keys::customer_id.eq(customer))
                    .into_boxed();
                match filter.active {
                    Some(active) => query.filter(api_keys::active.eq(active)),
                    None => query,
                }
            };
            async {
                let total: i64 = matching().count().get_result(conn).await?;
                let rows = matching()
                    .order((api_keys::created_at.desc(), api_keys::id.desc()))
                    .limit(limit)
                    .offset(offset)
                    .select(ApiKeyRow::as_select())
                    .load(conn)
                    .await?;
                QueryResult::Ok((total, rows))
            }
            .await
        })
        .map_err(storage_error)?;
        Ok(Page {
            items: to_keys(rows)?,
            total: u64::try_from(total).unwrap_or(0),
            request: page,
        })
    }

    async fn update(&self, key: &ApiKey, cap: Option<ActiveKeyCap>) -> Result<(), KeyWriteError> {
        let customer = DbUuid(key.customer_id().as_uuid());
        let id = DbUuid(key.id().as_uuid());
        let read_version = key.version().get();
        let hashes = hashes_of(key);
        write_transaction!(self.pools, |conn| {
            if cap.is_some() {
                conn.lock_customer(customer).await?;
            }
            // Compare-and-swap in one statement: PostgreSQL re-checks the version after
            // waiting for a concurrent writer's row lock; SQLite holds the write lock.
            let written =
                diesel::update(owned_key(customer, id).filter(api_keys::version.eq(read_version)))
                    .set((
                        ApiKeyChanges::from(key),
                        api_keys::version.eq(api_keys::version + 1),
                    ))
                    .execute(conn)
                    .await?;
            if written == 0 {
                let exists: bool = diesel::select(diesel::dsl::exists(owned_key(customer, id)))
                    .get_result(conn)
                    .await?;
                return refused(if exists {
                    KeyWriteError::Stale
                } else {
                    KeyWriteError::NotFound
                });
            }
            // The checks below leave this key out, so they see the same whether they run
            // before or after its row changed; refusing rolls the update back.
            let clash: Option<DbUuid> = identity_clashes(id, hashes.clone())
                .first(conn)
                .await
                .optional()?;
            if clash.is_some() {
                return refused(StorageError::Conflict(KEY_HASH_RULE).into());
            }
            if let Some(cap) = cap {
                let others: i64 = counted_keys(customer, id, DbInstant(cap.now))
                    .get_result(conn)
                    .await?;
                if let Err(err) = refuse_over_cap(key, cap, others) {
                    return refused(err);
                }
            }
            Ok(())
        })
        .map_err(write_error)
    }

    async fn delete(&self, customer: CustomerId, id: KeyId) -> Result<bool, StorageError> {
        let query = owned_key(DbUuid(customer.as_uuid()), DbUuid(id.as_uuid()));
        let deleted = with_connection!(self.pools, |conn| {
            diesel::delete(query).execute(conn).await
        })
        .map_err(storage_error)?;
        Ok(deleted > 0)
    }

    async fn delete_expired_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<Vec<(CustomerId, KeyId)>, StorageError> {
        let deleted: Vec<(DbUuid, DbUuid)> = match self.pools.get().await? {
            // The keys are locked in id order first, as the usage flushes lock them
            // (`record_last_used`, `add_usage`): a cleanup deleting many keys in scan
            // order could otherwise deadlock with a flush touching the same keys (expired
            // keys still presented are counted and flushed every few seconds).
            PooledConnection::Postgres(mut pooled) => {
                bounded_postgres!(pooled, self.pools.statement_timeout(), |conn| {
                    diesel::sql_query(DELETE_EXPIRED_IN_ID_ORDER)
                        .bind::<diesel::sql_types::Timestamptz, _>(truncate_to_micros(cutoff))
                        .load::<DeletedKey>(conn)
                        .await
                        .map(|keys| {
                            keys.into_iter()
                                .map(|key| (key.customer_id, key.id))
                                .collect()
                        })
                })
            }
            // One statement: SQLite's single writer leaves no order to deadlock over.
            PooledConnection::Sqlite(mut conn) => {
                diesel::delete(api_keys::table.filter(api_keys::expires_at.lt(DbInstant(cutoff))))
                    .returning((api_keys::customer_id, api_keys::id))
                    .get_results(&mut conn)
                    .await
            }
        }
        .map_err(storage_error)?;
        Ok(deleted
            .into_iter()
            .map(|(customer, id)| (CustomerId::from_uuid(customer.0), KeyId::from_uuid(id.0)))
            .collect())
    }

    async fn record_last_used(
        &self,
        uses: &[(KeyId, OffsetDateTime)],
    ) -> Result<Vec<LastUseMoved>, StorageError> {
        if uses.is_empty() {
            return Ok(Vec::new());
        }
        match self.pools.get().await? {
            PooledConnection::Postgres(mut pooled) => {
                bounded_postgres!(pooled, self.pools.statement_timeout(), |conn| {
                    last_used::postgres(conn, uses).await
                })
            }
            PooledConnection::Sqlite(mut conn) => last_used::sqlite(&mut conn, uses).await,
        }
        .map_err(storage_error)
    }
}
