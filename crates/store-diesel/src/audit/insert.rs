//! Inserting a batch of events in one statement whatever its size, as the song upload
//! does (`songbook/insert.rs`): Diesel's multi-row `VALUES` is not available to SQLite
//! through diesel-async, and one statement per batch keeps the SQL text, and its prepared
//! statement, the same for every batch and clear of any bind-parameter limit.
//!
//! * PostgreSQL: each column bound as an array and expanded with `unnest`.
//! * SQLite: the rows bound as one JSON array of arrays, expanded with `json_each`
//!   (SQLite 3.38+ `->>`); `details` travels as a JSON string, so its text is stored as
//!   serialised, byte for byte.
//!
//! A clashing id fails the statement, and so the batch, on the primary key.

use diesel::QueryResult;
use diesel::sql_types::{Array, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::row::EventValues;
use crate::conn::SqliteConnection;
use crate::types::{PortableInstant, PortableJson, PortableUuid, unix_micros};

const POSTGRES_SQL: &str = "\
INSERT INTO audit_events
    (id, customer_id, at, actor_type, actor_id, ip, action, target_type, target_id, details)
SELECT * FROM unnest(
    $1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[],
    $6::text[], $7::text[], $8::text[], $9::uuid[], $10::jsonb[]
)";

const SQLITE_SQL: &str = "\
INSERT INTO audit_events
    (id, customer_id, at, actor_type, actor_id, ip, action, target_type, target_id, details)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4,
       value ->> 5, value ->> 6, value ->> 7, value ->> 8, value ->> 9
FROM json_each(?)";

/// Stores every event of the batch, or fails.
pub(super) trait InsertAuditEvents {
    async fn insert_audit_events(&mut self, events: &[EventValues<'_>]) -> QueryResult<()>;
}

impl InsertAuditEvents for AsyncPgConnection {
    async fn insert_audit_events(&mut self, events: &[EventValues<'_>]) -> QueryResult<()> {
        fn column<'e, 'a, T>(
            events: &'e [EventValues<'a>],
            pick: impl Fn(&'e EventValues<'a>) -> T,
        ) -> Vec<T> {
            events.iter().map(pick).collect()
        }
        diesel::sql_query(POSTGRES_SQL)
            .bind::<Array<PortableUuid>, _>(column(events, |e| e.id))
            .bind::<Array<PortableUuid>, _>(column(events, |e| e.customer_id))
            .bind::<Array<PortableInstant>, _>(column(events, |e| e.at))
            .bind::<Array<Text>, _>(column(events, |e| e.actor_type))
            .bind::<Array<Text>, _>(column(events, |e| e.actor_id))
            .bind::<Array<Nullable<Text>>, _>(column(events, |e| e.ip.as_deref()))
            .bind::<Array<Text>, _>(column(events, |e| e.action))
            .bind::<Array<Text>, _>(column(events, |e| e.target_type))
            .bind::<Array<PortableUuid>, _>(column(events, |e| e.target_id))
            .bind::<Array<PortableJson>, _>(column(events, |e| &e.details))
            .execute(self)
            .await
            .map(drop)
    }
}

/// One event as the SQLite statement reads it: `[id, customer_id, at (µs), actor_type,
/// actor_id, ip, action, target_type, target_id, details]`.
type SqliteRow<'a> = (
    String,
    String,
    i64,
    &'a str,
    &'a str,
    Option<&'a str>,
    &'a str,
    &'a str,
    String,
    &'a str,
);

impl InsertAuditEvents for SqliteConnection {
    async fn insert_audit_events(&mut self, events: &[EventValues<'_>]) -> QueryResult<()> {
        let serialisation = |err| diesel::result::Error::SerializationError(err);
        let rows = events
            .iter()
            .map(|e| {
                Ok((
                    e.id.0.hyphenated().to_string(),
                    e.customer_id.0.hyphenated().to_string(),
                    unix_micros(e.at.0).map_err(serialisation)?,
                    e.actor_type,
                    e.actor_id,
                    e.ip.as_deref(),
                    e.action,
                    e.target_type,
                    e.target_id.0.hyphenated().to_string(),
                    e.details.0.as_str(),
                ))
            })
            .collect::<QueryResult<Vec<SqliteRow<'_>>>>()?;
        let rows = serde_json::to_string(&rows).map_err(|err| serialisation(Box::new(err)))?;
        diesel::sql_query(SQLITE_SQL)
            .bind::<Text, _>(rows)
            .execute(self)
            .await
            .map(drop)
    }
}
