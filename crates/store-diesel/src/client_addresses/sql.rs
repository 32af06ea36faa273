//! The SQL of `key_client_addresses`, which differs per backend. Both run inside the
//! write transaction of `record_client_addresses` (`BEGIN IMMEDIATE` on SQLite, a plain
//! transaction on PostgreSQL) and get the batch merged, each `(key, address)` once.
//!
//! * PostgreSQL: the batch's keys are locked first, in id order, `FOR NO KEY UPDATE`
//!   (a lock that conflicts with itself, but not with the `FOR KEY SHARE` of the usage and
//!   alert flushes). That is what makes "new" exact under concurrency: two instances
//!   recording addresses of the same key take turns, and the second one's statements run
//!   after the first committed, so it counts the first one's addresses in `known_before`
//!   and finds its pairs stored (the `ON CONFLICT` alone would tell only one of them a
//!   pair was new, but could let both count `known_before` without the other's new
//!   addresses). A key deleted meanwhile is gone when the lock is granted, so it is
//!   skipped; a locked key cannot be deleted until the batch commits. Then one statement
//!   writes the whole batch, bound as four arrays joined with `unnest` (so its text, and
//!   its prepared statement, never change): `INSERT … ON CONFLICT DO UPDATE` moving
//!   `last_seen_at` forward only, `RETURNING (xmax = 0)` to tell the rows it inserted
//!   from the ones it updated (a freshly inserted row version has no `xmax`; one written
//!   by `ON CONFLICT DO UPDATE` carries the updating transaction's), and a CTE counting
//!   each key's rows as they were before the statement (a statement does not see its own
//!   writes), which under the key lock is what the key had before this call.
//! * SQLite: `BEGIN IMMEDIATE` holds the database's only write lock, so the steps need no
//!   more: read the keys and count their addresses, then per chunk of `VALUES` insert the
//!   new pairs of keys below the cap (`ON CONFLICT DO NOTHING RETURNING`: only the rows
//!   inserted come back) and move the known pairs' `last_seen_at` forward (an `UPDATE …
//!   FROM (VALUES …)`, which inserts nothing).
//!
//! Both leave out the new pairs of a key that had `MAX_ADDRESSES_PER_KEY` addresses or
//! more before the call (PostgreSQL in the upsert's `SELECT`, from the same `known` count).
//!
//! Retention: a plain `DELETE` on SQLite. On PostgreSQL the rows are locked in primary
//! key order first, the order in which the batch upsert locks the rows it updates, so a
//! retention delete and a flush that sights two old pairs of one key again cannot
//! deadlock; a row whose `last_seen_at` a flush moved past the cutoff meanwhile is
//! re-checked when its lock is granted, and kept.

use std::collections::{HashMap, HashSet};

use diesel::QueryableByName;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Array, BigInt, Text, Timestamptz, Uuid as PgUuid};
use diesel::sqlite::Sqlite;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use super::Merged;
use keyward_domain::ports::MAX_ADDRESSES_PER_KEY;

use crate::conn::SqliteConnection;
use crate::types::{DbInstant, DbUuid, PortableInstant, PortableUuid};

/// Keys per SQLite `IN (…)` and rows per SQLite `VALUES` (four binds each): far below the
/// 32,766 bind limit.
const SQLITE_CHUNK: usize = 500;

/// [`MAX_ADDRESSES_PER_KEY`] as the SQL compares it (a small constant).
#[allow(clippy::cast_possible_wrap)]
const MAX_KNOWN: i64 = MAX_ADDRESSES_PER_KEY as i64;

/// A row the batch inserted, with what the port reports about it.
#[derive(Debug, QueryableByName)]
pub(super) struct Inserted {
    #[diesel(sql_type = PortableUuid)]
    pub(super) key: DbUuid,
    #[diesel(sql_type = Text)]
    pub(super) address: String,
    #[diesel(sql_type = PortableInstant)]
    pub(super) first_seen_at: DbInstant,
    #[diesel(sql_type = PortableInstant)]
    pub(super) key_created_at: DbInstant,
    /// The key's rows before this call.
    #[diesel(sql_type = BigInt)]
    pub(super) known_before: i64,
}

/// An existing key of the batch.
#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = PortableUuid)]
    id: DbUuid,
    #[diesel(sql_type = PortableInstant)]
    created_at: DbInstant,
}

/// How many addresses a key has stored.
#[derive(QueryableByName)]
struct KnownRow {
    #[diesel(sql_type = PortableUuid)]
    key_id: DbUuid,
    #[diesel(sql_type = BigInt)]
    known: i64,
}

/// A pair an SQLite chunk inserted.
#[derive(QueryableByName)]
struct SqliteInserted {
    #[diesel(sql_type = PortableUuid)]
    key_id: DbUuid,
    #[diesel(sql_type = Text)]
    address: String,
    #[diesel(sql_type = PortableInstant)]
    first_seen_at: DbInstant,
}

/// The SQL of this module, as methods of both connection types, so the shared
/// transaction body in `mod.rs` can call them on either.
pub(super) trait ClientAddressSql {
    /// Stores `rows` (merged, in `(key, address)` order) as the module docs say; returns
    /// the rows inserted. Must run inside a write transaction.
    async fn record_addresses(&mut self, rows: &[Merged]) -> diesel::QueryResult<Vec<Inserted>>;

    /// Deletes every row last seen before `cutoff`; how many.
    async fn delete_seen_before(&mut self, cutoff: OffsetDateTime) -> diesel::QueryResult<u64>;
}

const POSTGRES_LOCK_KEYS: &str = "\
SELECT id, created_at FROM api_keys
WHERE id = ANY($1::uuid[])
ORDER BY id
FOR NO KEY UPDATE";

// `known` reads the rows as they were when the statement started: without the ones
// `written` inserts (a statement never sees its own writes), and, under the key locks,
// with every row an earlier call committed.
const POSTGRES_UPSERT: &str = "\
WITH v AS (
    SELECT u.key_id, u.address, u.first_at, u.last_at
    FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[])
        AS u(key_id, address, first_at, last_at)
), known AS (
    SELECT c.key_id, count(*) AS known
    FROM key_client_addresses AS c
    WHERE c.key_id IN (SELECT key_id FROM v)
    GROUP BY c.key_id
), written AS (
    INSERT INTO key_client_addresses AS c (key_id, address, first_seen_at, last_seen_at)
    SELECT v.key_id, v.address, v.first_at, v.last_at FROM v
    LEFT JOIN known ON known.key_id = v.key_id
    WHERE coalesce(known.known, 0) < $5
       OR EXISTS (
           SELECT 1 FROM key_client_addresses AS stored
           WHERE stored.key_id = v.key_id AND stored.address = v.address
       )
    ORDER BY v.key_id, v.address
    ON CONFLICT (key_id, address) DO UPDATE SET last_seen_at = excluded.last_seen_at
        WHERE c.last_seen_at < excluded.last_seen_at
    RETURNING c.key_id, c.address, c.first_seen_at, (c.xmax = 0) AS inserted
)
SELECT w.key_id AS key, w.address, w.first_seen_at, k.created_at AS key_created_at,
       coalesce(known.known, 0) AS known_before
FROM written AS w
JOIN api_keys AS k ON k.id = w.key_id
LEFT JOIN known ON known.key_id = w.key_id
WHERE w.inserted";

const POSTGRES_DELETE: &str = "\
WITH doomed AS MATERIALIZED (
    SELECT key_id, address FROM key_client_addresses
    WHERE last_seen_at < $1
    ORDER BY key_id, address
    FOR UPDATE
)
DELETE FROM key_client_addresses AS c USING doomed
WHERE c.key_id = doomed.key_id AND c.address = doomed.address";

/// The keys of `rows`, each once, in id order (`rows` are in key order).
fn keys_of(rows: &[Merged]) -> Vec<DbUuid> {
    let mut keys: Vec<DbUuid> = rows.iter().map(|row| DbUuid(row.key.as_uuid())).collect();
    keys.dedup();
    keys
}

impl ClientAddressSql for AsyncPgConnection {
    async fn record_addresses(&mut self, rows: &[Merged]) -> diesel::QueryResult<Vec<Inserted>> {
        let keys: Vec<uuid::Uuid> = keys_of(rows).into_iter().map(|key| key.0).collect();
        let existing: Vec<KeyRow> = diesel::sql_query(POSTGRES_LOCK_KEYS)
            .bind::<Array<PgUuid>, _>(keys)
            .load(self)
            .await?;
        let existing: HashSet<uuid::Uuid> = existing.into_iter().map(|key| key.id.0).collect();
        let rows: Vec<&Merged> = rows
            .iter()
            .filter(|row| existing.contains(&row.key.as_uuid()))
            .collect();
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        diesel::sql_query(POSTGRES_UPSERT)
            .bind::<Array<PgUuid>, _>(rows.iter().map(|row| row.key.as_uuid()).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(
                rows.iter()
                    .map(|row| row.address.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Timestamptz>, _>(rows.iter().map(|row| row.first).collect::<Vec<_>>())
            .bind::<Array<Timestamptz>, _>(rows.iter().map(|row| row.last).collect::<Vec<_>>())
            .bind::<BigInt, _>(MAX_KNOWN)
            .load(self)
            .await
    }

    async fn delete_seen_before(&mut self, cutoff: OffsetDateTime) -> diesel::QueryResult<u64> {
        let deleted = diesel::sql_query(POSTGRES_DELETE)
            .bind::<PortableInstant, _>(DbInstant(cutoff))
            .execute(self)
            .await?;
        Ok(deleted as u64)
    }
}

impl ClientAddressSql for SqliteConnection {
    async fn record_addresses(&mut self, rows: &[Merged]) -> diesel::QueryResult<Vec<Inserted>> {
        let keys = keys_of(rows);
        let mut created: HashMap<uuid::Uuid, DbInstant> = HashMap::with_capacity(keys.len());
        let mut known: HashMap<uuid::Uuid, i64> = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(SQLITE_CHUNK) {
            let existing: Vec<KeyRow> = sqlite_keys(
                "SELECT id, created_at FROM api_keys WHERE id IN ({ids})",
                chunk,
            )
            .load(&mut *self)
            .await?;
            created.extend(existing.into_iter().map(|key| (key.id.0, key.created_at)));
            let counted: Vec<KnownRow> = sqlite_keys(
                "SELECT key_id, count(*) AS known FROM key_client_addresses \
                 WHERE key_id IN ({ids}) GROUP BY key_id",
                chunk,
            )
            .load(&mut *self)
            .await?;
            known.extend(counted.into_iter().map(|row| (row.key_id.0, row.known)));
        }
        let rows: Vec<&Merged> = rows
            .iter()
            .filter(|row| created.contains_key(&row.key.as_uuid()))
            .collect();
        let mut inserted = Vec::new();
        for chunk in rows.chunks(SQLITE_CHUNK) {
            // Keys at the cap learn no new address; their known ones still move forward.
            let learning: Vec<&Merged> = chunk
                .iter()
                .copied()
                .filter(|row| known.get(&row.key.as_uuid()).copied().unwrap_or(0) < MAX_KNOWN)
                .collect();
            let new: Vec<SqliteInserted> = if learning.is_empty() {
                Vec::new()
            } else {
                sqlite_rows(
                    "ON CONFLICT (key_id, address) DO NOTHING \
                     RETURNING key_id, address, first_seen_at",
                    &learning,
                )
                .load(&mut *self)
                .await?
            };
            sqlite_move_forward(chunk).execute(&mut *self).await?;
            inserted.extend(new.into_iter().filter_map(|row| {
                let key_created_at = *created.get(&row.key_id.0)?;
                Some(Inserted {
                    key: row.key_id,
                    address: row.address,
                    first_seen_at: row.first_seen_at,
                    key_created_at,
                    known_before: known.get(&row.key_id.0).copied().unwrap_or(0),
                })
            }));
        }
        Ok(inserted)
    }

    async fn delete_seen_before(&mut self, cutoff: OffsetDateTime) -> diesel::QueryResult<u64> {
        use crate::schema::key_client_addresses;
        use diesel::{ExpressionMethods, QueryDsl};
        let deleted = diesel::delete(
            key_client_addresses::table
                .filter(key_client_addresses::last_seen_at.lt(DbInstant(cutoff))),
        )
        .execute(self)
        .await?;
        Ok(deleted as u64)
    }
}

/// Moves the stored pairs of `chunk` forward to their `last` (never back); inserts
/// nothing.
fn sqlite_move_forward(chunk: &[&Merged]) -> BoxedSqlQuery<'static, Sqlite, SqlQuery> {
    let values = vec!["(?, ?, ?)"; chunk.len()].join(", ");
    let sql = format!(
        "UPDATE key_client_addresses SET last_seen_at = v.last_at \
         FROM (SELECT column1 AS key_id, column2 AS address, column3 AS last_at \
               FROM (VALUES {values})) AS v \
         WHERE key_client_addresses.key_id = v.key_id \
         AND key_client_addresses.address = v.address \
         AND key_client_addresses.last_seen_at < v.last_at"
    );
    chunk
        .iter()
        .fold(diesel::sql_query(sql).into_boxed(), |query, row| {
            query
                .bind::<PortableUuid, _>(DbUuid(row.key.as_uuid()))
                .bind::<Text, _>(row.address.clone())
                .bind::<PortableInstant, _>(DbInstant(row.last))
        })
}

/// `sql` with `{ids}` replaced by one placeholder per key of `chunk`, the keys bound.
fn sqlite_keys(sql: &str, chunk: &[DbUuid]) -> BoxedSqlQuery<'static, Sqlite, SqlQuery> {
    let sql = sql.replace("{ids}", &vec!["?"; chunk.len()].join(", "));
    chunk
        .iter()
        .fold(diesel::sql_query(sql).into_boxed(), |query, key| {
            query.bind::<PortableUuid, _>(*key)
        })
}

/// `INSERT` of `chunk`'s rows, ending in `conflict` (an `ON CONFLICT` clause and what
/// follows it).
fn sqlite_rows(conflict: &str, chunk: &[&Merged]) -> BoxedSqlQuery<'static, Sqlite, SqlQuery> {
    let values = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
    // `WHERE true` settles SQLite's parsing ambiguity between a SELECT's clauses and the
    // upsert's ON CONFLICT.
    let sql = format!(
        "INSERT INTO key_client_addresses (key_id, address, first_seen_at, last_seen_at) \
         SELECT column1, column2, column3, column4 FROM (VALUES {values}) WHERE true \
         {conflict}"
    );
    chunk
        .iter()
        .fold(diesel::sql_query(sql).into_boxed(), |query, row| {
            query
                .bind::<PortableUuid, _>(DbUuid(row.key.as_uuid()))
                .bind::<Text, _>(row.address.clone())
                .bind::<PortableInstant, _>(DbInstant(row.first))
                .bind::<PortableInstant, _>(DbInstant(row.last))
        })
}
