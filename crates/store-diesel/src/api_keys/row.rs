//! `api_keys` rows and their conversion to and from the domain's [`ApiKey`]. A row that
//! breaks a domain rule (unknown scope, bad hash) is reported as corrupt, naming only
//! the column: stored values may be hashes and never go into an error.

use diesel::prelude::*;
use keyward_domain::keys::{
    ApiKey, ApiKeyParts, Description, DisplayPrefix, KeyHash, KeyName, KeyVersion, RetiredSecret,
};
use keyward_domain::ports::StorageError;
use keyward_domain::scope::ScopeSet;
use keyward_domain::{CustomerId, KeyId};

use crate::schema::api_keys;
use crate::types::{DbInstant, DbUuid};

/// Separator of scope names in the `scopes` column.
const SCOPE_SEPARATOR: char = ',';

/// Every column of `api_keys`, as read.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct ApiKeyRow {
    id: DbUuid,
    customer_id: DbUuid,
    name: String,
    description: Option<String>,
    display_prefix: String,
    key_hash: String,
    scopes: String,
    active: bool,
    expires_at: Option<DbInstant>,
    last_used_at: Option<DbInstant>,
    created_at: DbInstant,
    updated_at: DbInstant,
    created_by: Option<String>,
    retired_key_hash: Option<String>,
    retired_valid_until: Option<DbInstant>,
    revoked_at: Option<DbInstant>,
    version: i64,
}

/// Every column of `api_keys`, as inserted.
#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub(crate) struct NewApiKeyRow<'a> {
    id: DbUuid,
    customer_id: DbUuid,
    created_at: DbInstant,
    created_by: Option<&'a str>,
    last_used_at: Option<DbInstant>,
    version: i64,
    #[diesel(embed)]
    changes: ApiKeyChanges<'a>,
}

/// The columns an update replaces: everything but `id`, `customer_id`, `created_*`,
/// `last_used_at` and `version` (which the update bumps in SQL). `None` writes NULL.
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = api_keys, treat_none_as_null = true)]
pub(crate) struct ApiKeyChanges<'a> {
    name: &'a str,
    description: Option<String>,
    display_prefix: &'a str,
    key_hash: String,
    scopes: String,
    active: bool,
    expires_at: Option<DbInstant>,
    updated_at: DbInstant,
    retired_key_hash: Option<String>,
    retired_valid_until: Option<DbInstant>,
    revoked_at: Option<DbInstant>,
}

impl<'a> From<&'a ApiKey> for ApiKeyChanges<'a> {
    fn from(key: &'a ApiKey) -> Self {
        let retired = key.retired();
        Self {
            name: key.name().as_str(),
            description: key.description().map(|d| d.as_str().to_owned()),
            display_prefix: key.display_prefix().as_str(),
            key_hash: key.hash().to_hex(),
            scopes: scopes_column(key.scopes()),
            active: key.is_active(),
            expires_at: key.expires_at().map(DbInstant),
            updated_at: DbInstant(key.updated_at()),
            retired_key_hash: retired.map(|r| r.hash.to_hex()),
            retired_valid_until: retired.map(|r| DbInstant(r.valid_until)),
            revoked_at: key.revoked_at().map(DbInstant),
        }
    }
}

impl<'a> From<&'a ApiKey> for NewApiKeyRow<'a> {
    fn from(key: &'a ApiKey) -> Self {
        Self {
            id: DbUuid(key.id().as_uuid()),
            customer_id: DbUuid(key.customer_id().as_uuid()),
            created_at: DbInstant(key.created_at()),
            created_by: key.created_by(),
            last_used_at: key.last_used_at().map(DbInstant),
            version: key.version().get(),
            changes: ApiKeyChanges::from(key),
        }
    }
}

fn scopes_column(scopes: ScopeSet) -> String {
    scopes.names().join(&SCOPE_SEPARATOR.to_string())
}

/// A stored row that does not make a valid domain value.
#[derive(Debug, thiserror::Error)]
#[error("stored api_keys row {id} has an invalid `{column}` column")]
pub(crate) struct CorruptRow {
    id: uuid::Uuid,
    column: &'static str,
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = StorageError;

    fn try_from(row: ApiKeyRow) -> Result<Self, StorageError> {
        let id = row.id.0;
        let corrupt = |column| StorageError::other(CorruptRow { id, column });
        let retired = match (row.retired_key_hash, row.retired_valid_until) {
            (None, None) => None,
            (Some(hash), Some(valid_until)) => Some(RetiredSecret {
                hash: KeyHash::from_hex(&hash).map_err(|_| corrupt("retired_key_hash"))?,
                valid_until: valid_until.0,
            }),
            _ => return Err(corrupt("retired_valid_until")),
        };
        Ok(ApiKey::from_parts(ApiKeyParts {
            id: KeyId::from_uuid(id),
            customer_id: CustomerId::from_uuid(row.customer_id.0),
            name: KeyName::new(row.name).map_err(|_| corrupt("name"))?,
            description: row
                .description
                .map(Description::new)
                .transpose()
                .map_err(|_| corrupt("description"))?,
            display_prefix: DisplayPrefix::from_stored(row.display_prefix),
            hash: KeyHash::from_hex(&row.key_hash).map_err(|_| corrupt("key_hash"))?,
            scopes: ScopeSet::parse(row.scopes.split(SCOPE_SEPARATOR))
                .map_err(|_| corrupt("scopes"))?,
            active: row.active,
            expires_at: row.expires_at.map(|at| at.0),
            last_used_at: row.last_used_at.map(|at| at.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            created_by: row.created_by,
            retired,
            revoked_at: row.revoked_at.map(|at| at.0),
            version: KeyVersion::new(row.version).map_err(|_| corrupt("version"))?,
        }))
    }
}
