//! `service_credentials` rows and their conversion to and from the domain's
//! [`ServiceCredential`]. A row that breaks a domain rule is reported as corrupt, naming
//! only the column: stored values never go into an error.

use diesel::prelude::*;
use keyward_domain::ports::StorageError;
use keyward_domain::vault::{
    CredentialDescription, CredentialName, CredentialOwner, CredentialParts, KeyVersion,
    MaskedSecret, Provider, SealedSecret, ServiceCredential,
};
use keyward_domain::{CredentialId, CustomerId};

use crate::schema::service_credentials;
use crate::types::{DbInstant, DbUuid};

/// Every column of `service_credentials`, as read.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = service_credentials)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct CredentialRow {
    id: DbUuid,
    owner_customer_id: Option<DbUuid>,
    provider: String,
    name: String,
    description: Option<String>,
    masked_secret: String,
    key_version: i64,
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
    active: bool,
    last_used_at: Option<DbInstant>,
    created_at: DbInstant,
    updated_at: DbInstant,
}

/// Every column, as inserted.
#[derive(Debug, Insertable)]
#[diesel(table_name = service_credentials)]
pub(crate) struct NewCredentialRow<'a> {
    id: DbUuid,
    owner_customer_id: Option<DbUuid>,
    provider: &'a str,
    created_at: DbInstant,
    last_used_at: Option<DbInstant>,
    #[diesel(embed)]
    metadata: MetadataChanges<'a>,
    #[diesel(embed)]
    secret: SealedColumns<'a>,
}

/// What a metadata edit replaces. `None` writes NULL.
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = service_credentials, treat_none_as_null = true)]
pub(crate) struct MetadataChanges<'a> {
    name: &'a str,
    description: Option<String>,
    active: bool,
    updated_at: DbInstant,
}

/// The sealed secret and its masked hint.
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = service_credentials)]
pub(crate) struct SealedColumns<'a> {
    masked_secret: &'a str,
    key_version: i64,
    nonce: &'a [u8],
    ciphertext: &'a [u8],
}

/// The sealed secret alone (a rotation's swap leaves the masked hint as it is).
#[derive(Debug, AsChangeset)]
#[diesel(table_name = service_credentials)]
pub(crate) struct SealedOnly<'a> {
    key_version: i64,
    nonce: &'a [u8],
    ciphertext: &'a [u8],
}

impl<'a> From<&'a SealedSecret> for SealedOnly<'a> {
    fn from(sealed: &'a SealedSecret) -> Self {
        Self {
            key_version: version_column(sealed.key_version()),
            nonce: sealed.nonce(),
            ciphertext: sealed.ciphertext(),
        }
    }
}

/// The owner as the `owner_customer_id` column: NULL for the platform.
pub(crate) fn owner_column(owner: CredentialOwner) -> Option<DbUuid> {
    owner.customer().map(|customer| DbUuid(customer.as_uuid()))
}

pub(crate) fn version_column(version: KeyVersion) -> i64 {
    i64::from(version.get())
}

impl<'a> From<&'a ServiceCredential> for MetadataChanges<'a> {
    fn from(credential: &'a ServiceCredential) -> Self {
        Self {
            name: credential.name().as_str(),
            description: credential.description().map(|d| d.as_str().to_owned()),
            active: credential.is_active(),
            updated_at: DbInstant(credential.updated_at()),
        }
    }
}

impl<'a> From<&'a ServiceCredential> for SealedColumns<'a> {
    fn from(credential: &'a ServiceCredential) -> Self {
        let sealed = credential.sealed();
        Self {
            masked_secret: credential.masked_secret().as_str(),
            key_version: version_column(sealed.key_version()),
            nonce: sealed.nonce(),
            ciphertext: sealed.ciphertext(),
        }
    }
}

impl<'a> From<&'a ServiceCredential> for NewCredentialRow<'a> {
    fn from(credential: &'a ServiceCredential) -> Self {
        Self {
            id: DbUuid(credential.id().as_uuid()),
            owner_customer_id: owner_column(credential.owner()),
            provider: credential.provider().as_str(),
            created_at: DbInstant(credential.created_at()),
            last_used_at: credential.last_used_at().map(DbInstant),
            metadata: MetadataChanges::from(credential),
            secret: SealedColumns::from(credential),
        }
    }
}

/// A stored row that does not make a valid domain value.
#[derive(Debug, thiserror::Error)]
#[error("stored service_credentials row {id} has an invalid `{column}` column")]
pub(crate) struct CorruptRow {
    id: uuid::Uuid,
    column: &'static str,
}

impl TryFrom<CredentialRow> for ServiceCredential {
    type Error = StorageError;

    fn try_from(row: CredentialRow) -> Result<Self, StorageError> {
        let id = row.id.0;
        let corrupt = |column| StorageError::other(CorruptRow { id, column });
        let key_version = u32::try_from(row.key_version).map_err(|_| corrupt("key_version"))?;
        let nonce = row.nonce.try_into().map_err(|_| corrupt("nonce"))?;
        Ok(ServiceCredential::from_parts(CredentialParts {
            id: CredentialId::from_uuid(id),
            owner: row
                .owner_customer_id
                .map_or(CredentialOwner::Platform, |customer| {
                    CredentialOwner::Customer(CustomerId::from_uuid(customer.0))
                }),
            provider: Provider::new(row.provider).map_err(|_| corrupt("provider"))?,
            name: CredentialName::new(row.name).map_err(|_| corrupt("name"))?,
            description: row
                .description
                .map(CredentialDescription::new)
                .transpose()
                .map_err(|_| corrupt("description"))?,
            masked_secret: MaskedSecret::from_stored(row.masked_secret),
            sealed: SealedSecret::new(KeyVersion::new(key_version), nonce, row.ciphertext),
            active: row.active,
            last_used_at: row.last_used_at.map(|at| at.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        }))
    }
}

pub(crate) fn to_credentials(
    rows: Vec<CredentialRow>,
) -> Result<Vec<ServiceCredential>, StorageError> {
    rows.into_iter().map(ServiceCredential::try_from).collect()
}
