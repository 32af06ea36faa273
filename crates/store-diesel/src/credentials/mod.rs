//! `CredentialRepository` on Diesel: the vault's sealed records, written once for SQLite
//! and PostgreSQL through the macros of [`crate::conn`]. Storage only ever sees sealed
//! secrets; rotation support is a cursor walk by id and a compare-and-swap on
//! (key version, nonce).

mod row;

use std::convert::Infallible;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use keyward_domain::ports::{
    CredentialFilter, CredentialRepository, Page, PageRequest, SecretWrite, StorageError,
};
use keyward_domain::vault::{
    CredentialOwner, KeyVersion, Provider, SealedSecret, ServiceCredential,
};
use keyward_domain::{CredentialId, CustomerId};
use time::OffsetDateTime;

use self::row::{
    CredentialRow, MetadataChanges, NewCredentialRow, SealedColumns, SealedOnly, owner_column,
    to_credentials, version_column,
};
use crate::DieselStore;
use crate::conn::{TxError, with_connection, write_transaction};
use crate::error::storage_error;
use crate::schema::{customers, service_credentials as sc};
use crate::types::{DbInstant, DbUuid};

/// Filters `$query` (a select, update or delete on `service_credentials`) to the rows of
/// `$owner` (an `Option<DbUuid>`, `None` for the platform) and evaluates `$body` with it
/// bound to `$filtered`. A macro because `IS NULL` and `= $1` are different Diesel types.
macro_rules! owned_by {
    ($owner:expr, $query:expr, |$filtered:ident| $body:expr) => {
        match $owner {
            None => {
                let $filtered = $query.filter(sc::owner_customer_id.is_null());
                $body
            }
            Some(customer) => {
                let $filtered = $query.filter(sc::owner_customer_id.eq(customer));
                $body
            }
        }
    };
}

fn database_error(err: TxError<Infallible>) -> StorageError {
    match err {
        TxError::Database(err) => storage_error(err),
        TxError::Refused(never) => match never {},
    }
}

fn uuid_of(id: CredentialId) -> DbUuid {
    DbUuid(id.as_uuid())
}

#[async_trait]
impl CredentialRepository for DieselStore {
    async fn insert(&self, credential: &ServiceCredential) -> Result<(), StorageError> {
        let owner = owner_column(credential.owner());
        let row = NewCredentialRow::from(credential);
        let created_at = DbInstant(credential.created_at());
        write_transaction!(self.pools, |conn| {
            if let Some(customer) = owner {
                diesel::insert_into(customers::table)
                    .values((
                        customers::id.eq(customer),
                        customers::created_at.eq(created_at),
                    ))
                    .on_conflict(customers::id)
                    .do_nothing()
                    .execute(conn)
                    .await?;
            }
            diesel::insert_into(sc::table)
                .values(&row)
                .execute(conn)
                .await?;
            Ok(())
        })
        .map_err(database_error)
    }

    async fn get(
        &self,
        owner: CredentialOwner,
        id: CredentialId,
    ) -> Result<Option<ServiceCredential>, StorageError> {
        let owner = owner_column(owner);
        let id = uuid_of(id);
        let row: Option<CredentialRow> = with_connection!(self.pools, |conn| {
            owned_by!(owner, sc::table.filter(sc::id.eq(id)), |query| {
                query
                    .select(CredentialRow::as_select())
                    .first(conn)
                    .await
                    .optional()
            })
        })
        .map_err(storage_error)?;
        row.map(ServiceCredential::try_from).transpose()
    }

    async fn get_customer_credential(
        &self,
        customer: CustomerId,
        provider: &Provider,
    ) -> Result<Option<ServiceCredential>, StorageError> {
        let customer = DbUuid(customer.as_uuid());
        let row: Option<CredentialRow> = with_connection!(self.pools, |conn| {
            sc::table
                .filter(sc::owner_customer_id.eq(customer))
                .filter(sc::provider.eq(provider.as_str()))
                .select(CredentialRow::as_select())
                .first(conn)
                .await
                .optional()
        })
        .map_err(storage_error)?;
        row.map(ServiceCredential::try_from).transpose()
    }

    async fn find_active(
        &self,
        owner: CredentialOwner,
        provider: &Provider,
    ) -> Result<Option<ServiceCredential>, StorageError> {
        let owner = owner_column(owner);
        let row: Option<CredentialRow> = with_connection!(self.pools, |conn| {
            let active_for_provider = sc::table
                .filter(sc::provider.eq(provider.as_str()))
                .filter(sc::active);
            owned_by!(owner, active_for_provider, |query| {
                query
                    .order((sc::updated_at.desc(), sc::id.desc()))
                    .select(CredentialRow::as_select())
                    .first(conn)
                    .await
                    .optional()
            })
        })
        .map_err(storage_error)?;
        row.map(ServiceCredential::try_from).transpose()
    }

    async fn list(
        &self,
        owner: CredentialOwner,
        filter: &CredentialFilter,
        page: PageRequest,
    ) -> Result<Page<ServiceCredential>, StorageError> {
        let owner = owner_column(owner);
        let limit = i64::from(page.limit());
        let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
        let (total, rows): (i64, Vec<CredentialRow>) = with_connection!(self.pools, |conn| {
            let matching = || {
                let mut query = sc::table.into_boxed();
                query = owned_by!(owner, query, |owned| owned);
                if let Some(provider) = &filter.provider {
                    query = query.filter(sc::provider.eq(provider.as_str().to_owned()));
                }
                if let Some(active) = filter.active {
                    query = query.filter(sc::active.eq(active));
                }
                query
            };
            async {
                let total: i64 = matching().count().get_result(conn).await?;
                let rows = matching()
                    .order((sc::provider.asc(), sc::updated_at.desc(), sc::id.desc()))
                    .limit(limit)
                    .offset(offset)
                    .select(CredentialRow::as_select())
                    .load(conn)
                    .await?;
                QueryResult::Ok((total, rows))
            }
            .await
        })
        .map_err(storage_error)?;
        Ok(Page {
            items: to_credentials(rows)?,
            total: u64::try_from(total).unwrap_or(0),
            request: page,
        })
    }

    async fn update(
        &self,
        credential: &ServiceCredential,
        secret: SecretWrite,
    ) -> Result<bool, StorageError> {
        let owner = owner_column(credential.owner());
        let id = uuid_of(credential.id());
        let metadata = MetadataChanges::from(credential);
        let sealed = SealedColumns::from(credential);
        let updated = with_connection!(self.pools, |conn| {
            owned_by!(
                owner,
                diesel::update(sc::table.filter(sc::id.eq(id))),
                |query| {
                    match secret {
                        SecretWrite::Keep => query.set(&metadata).execute(conn).await,
                        SecretWrite::Replace => query.set((&metadata, &sealed)).execute(conn).await,
                    }
                }
            )
        })
        .map_err(storage_error)?;
        Ok(updated > 0)
    }

    async fn delete(&self, owner: CredentialOwner, id: CredentialId) -> Result<bool, StorageError> {
        let owner = owner_column(owner);
        let id = uuid_of(id);
        let deleted = with_connection!(self.pools, |conn| {
            owned_by!(
                owner,
                diesel::delete(sc::table.filter(sc::id.eq(id))),
                |query| query.execute(conn).await
            )
        })
        .map_err(storage_error)?;
        Ok(deleted > 0)
    }

    async fn record_last_used(
        &self,
        id: CredentialId,
        at: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let id = uuid_of(id);
        let at = DbInstant(at);
        let moved = with_connection!(self.pools, |conn| {
            diesel::update(
                sc::table
                    .filter(sc::id.eq(id))
                    .filter(sc::last_used_at.is_null().or(sc::last_used_at.lt(at))),
            )
            .set(sc::last_used_at.eq(at))
            .execute(conn)
            .await
        })
        .map_err(storage_error)?;
        Ok(moved > 0)
    }

    async fn list_sealed_under_other_versions(
        &self,
        target: KeyVersion,
        after: Option<CredentialId>,
        limit: u32,
    ) -> Result<Vec<ServiceCredential>, StorageError> {
        let target = version_column(target);
        let after = after.map(uuid_of);
        let rows: Vec<CredentialRow> = with_connection!(self.pools, |conn| {
            let mut query = sc::table.filter(sc::key_version.ne(target)).into_boxed();
            if let Some(after) = after {
                query = query.filter(sc::id.gt(after));
            }
            query
                .order(sc::id.asc())
                .limit(i64::from(limit))
                .select(CredentialRow::as_select())
                .load(conn)
                .await
        })
        .map_err(storage_error)?;
        to_credentials(rows)
    }

    async fn count_sealed_under_other_versions(
        &self,
        target: KeyVersion,
    ) -> Result<u64, StorageError> {
        let target = version_column(target);
        let count: i64 = with_connection!(self.pools, |conn| {
            sc::table
                .filter(sc::key_version.ne(target))
                .count()
                .get_result(conn)
                .await
        })
        .map_err(storage_error)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn replace_sealed(
        &self,
        id: CredentialId,
        expected: &SealedSecret,
        replacement: &SealedSecret,
    ) -> Result<bool, StorageError> {
        let id = uuid_of(id);
        let expected_version = version_column(expected.key_version());
        let expected_nonce = expected.nonce().as_slice();
        let replacement = SealedOnly::from(replacement);
        let swapped = with_connection!(self.pools, |conn| {
            diesel::update(
                sc::table
                    .filter(sc::id.eq(id))
                    .filter(sc::key_version.eq(expected_version))
                    .filter(sc::nonce.eq(expected_nonce)),
            )
            .set(&replacement)
            .execute(conn)
            .await
        })
        .map_err(storage_error)?;
        Ok(swapped > 0)
    }
}
