//! `SignInLinkRepository` on Diesel: one-time dashboard sign-in links in
//! `dashboard_sign_in_links`, keyed by the SHA-256 hex of their token (ADR 0062).
//!
//! Every method is one statement, written once for both backends:
//!
//! * insert: a plain `INSERT`; a clashing hash breaks the primary key (`Conflict`).
//! * redeem: `UPDATE … SET used_at = $now WHERE token_hash = $1 AND used_at IS NULL AND
//!   expires_at > $now RETURNING …`. On PostgreSQL a second redeemer of the same row
//!   waits for the first one's row lock and then re-checks the `WHERE` against the row
//!   the first one committed (READ COMMITTED), which has `used_at` set: no row, `None`.
//!   On SQLite the statement holds the database's only write lock (taken before it reads,
//!   as every writing statement does; `busy_timeout` queues the others). Either way exactly
//!   one redeemer gets the row back, on however many instances.
//! * delete: `DELETE … WHERE expires_at < $before` over the `expires_at` index.
//!
//! `permissions` travels as a JSON array in a text column: names come back in order with
//! duplicates, whatever they hold (a comma included), and an empty list stays empty.

use std::fmt::Write as _;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use keyward_domain::CustomerId;
use keyward_domain::ports::{
    NewSignInLink, RedeemedSignInLink, SignInLinkRepository, StorageError,
};
use time::OffsetDateTime;

use crate::DieselStore;
use crate::conn::with_connection;
use crate::error::storage_error;
use crate::schema::dashboard_sign_in_links as links;
use crate::types::{DbInstant, DbUuid};

/// Every column of a new link, as inserted (`used_at` starts NULL).
#[derive(Debug, Insertable)]
#[diesel(table_name = links)]
struct NewLinkRow<'a> {
    token_hash: String,
    customer_id: DbUuid,
    subject: &'a str,
    permissions: String,
    created_at: DbInstant,
    expires_at: DbInstant,
}

/// What a redeem reads back.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = links)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct RedeemedRow {
    customer_id: DbUuid,
    subject: String,
    permissions: String,
    expires_at: DbInstant,
}

/// A stored `permissions` that is not a JSON array of strings, which only a hand edit of
/// the table could cause. Names the customer, never the hash.
#[derive(Debug, thiserror::Error)]
#[error("stored dashboard_sign_in_links row of customer {customer} has unreadable permissions")]
struct CorruptPermissions {
    customer: CustomerId,
}

/// Lower-case hex, as `api_keys.key_hash` is stored.
fn hex(hash: &[u8; 32]) -> String {
    let mut text = String::with_capacity(64);
    for byte in hash {
        // Writing to a String cannot fail.
        let _ = write!(text, "{byte:02x}");
    }
    text
}

impl TryFrom<RedeemedRow> for RedeemedSignInLink {
    type Error = StorageError;

    fn try_from(row: RedeemedRow) -> Result<Self, StorageError> {
        let customer_id = CustomerId::from_uuid(row.customer_id.0);
        let permissions = serde_json::from_str::<Vec<String>>(&row.permissions).map_err(|_| {
            StorageError::other(CorruptPermissions {
                customer: customer_id,
            })
        })?;
        Ok(Self {
            customer_id,
            subject: row.subject,
            permissions,
            expires_at: row.expires_at.0,
        })
    }
}

#[async_trait]
impl SignInLinkRepository for DieselStore {
    async fn insert(&self, link: NewSignInLink) -> Result<(), StorageError> {
        let row = NewLinkRow {
            token_hash: hex(&link.token_hash),
            customer_id: DbUuid(link.customer_id.as_uuid()),
            subject: &link.subject,
            permissions: serde_json::to_string(&link.permissions).map_err(StorageError::other)?,
            created_at: DbInstant(link.created_at),
            expires_at: DbInstant(link.expires_at),
        };
        with_connection!(self.pools, |conn| {
            diesel::insert_into(links::table)
                .values(&row)
                .execute(conn)
                .await
                .map(drop)
        })
        .map_err(storage_error)
    }

    async fn redeem(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<RedeemedSignInLink>, StorageError> {
        let hash = hex(token_hash);
        let now = DbInstant(now);
        let row: Option<RedeemedRow> = with_connection!(self.pools, |conn| {
            diesel::update(
                links::table
                    .filter(links::token_hash.eq(&hash))
                    .filter(links::used_at.is_null())
                    .filter(links::expires_at.gt(now)),
            )
            .set(links::used_at.eq(now))
            .returning(RedeemedRow::as_returning())
            .get_result(conn)
            .await
            .optional()
        })
        .map_err(storage_error)?;
        row.map(RedeemedSignInLink::try_from).transpose()
    }

    async fn delete_expired(&self, before: OffsetDateTime) -> Result<u64, StorageError> {
        let before = DbInstant(before);
        let deleted = with_connection!(self.pools, |conn| {
            diesel::delete(links::table.filter(links::expires_at.lt(before)))
                .execute(conn)
                .await
        })
        .map_err(storage_error)?;
        Ok(deleted as u64)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn hashes_are_stored_as_lower_case_hex() {
        let mut hash = [0u8; 32];
        hash[0] = 0xAB;
        hash[31] = 0x0F;

        let text = hex(&hash);

        assert_eq!(text.len(), 64);
        assert!(text.starts_with("ab00"), "{text}");
        assert!(text.ends_with("000f"), "{text}");
    }

    #[test]
    fn unreadable_permissions_are_an_error_not_a_panic() {
        for stored in ["", "api_keys:read", "{}", "[1]", "[\"a\""] {
            let row = RedeemedRow {
                customer_id: DbUuid(uuid::Uuid::from_u128(7)),
                subject: "a".to_owned(),
                permissions: stored.to_owned(),
                expires_at: DbInstant(datetime!(2026-06-01 12:00 UTC)),
            };

            let err = RedeemedSignInLink::try_from(row).unwrap_err();

            assert!(matches!(err, StorageError::Other(_)), "{stored:?}: {err:?}");
        }
    }
}
