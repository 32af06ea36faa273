//! The batched, forward-only `last_used_at` update: the one write on the key
//! verification path, flushed from the usage buffer. The SQL differs per backend:
//!
//! * PostgreSQL: one statement for the whole batch, the pairs bound as two arrays and
//!   joined with `unnest`, so the SQL text (and its prepared statement) never changes;
//!   the rows are locked in id order first so concurrent flushes cannot deadlock.
//! * SQLite: `UPDATE … FROM (VALUES …)`, in chunks that stay well below SQLite's bind
//!   limit, all inside one `BEGIN IMMEDIATE` transaction.
//!
//! Both group the batch by key and keep the latest time, and write only where it moves
//! `last_used_at` forward (`IS NULL OR <`), so an old batch can never undo a newer one.
//! Both return the keys that moved with the `last_used_at` they had, read under the same
//! lock as the write: PostgreSQL from the locking CTE (`FOR UPDATE` reads the latest
//! committed row), SQLite by a `SELECT` inside the `BEGIN IMMEDIATE` transaction (no
//! other writer can come between).

use std::collections::HashMap;

use diesel::QueryableByName;
use diesel::query_builder::SqlQuery;
use diesel::sql_types::{Array, Nullable, Timestamptz, Uuid as PgUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use keyward_domain::KeyId;
use keyward_domain::ports::{LastUseMoved, truncate_to_micros};

use crate::blocking::{begin_immediate, finish_transaction};
use crate::conn::SqliteConnection;
use crate::types::{DbInstant, DbUuid, PortableInstant, PortableUuid};

/// Pairs per SQLite statement: two binds each, far below the 32,766 bind limit, and
/// small enough that one statement's SQL stays short.
const SQLITE_CHUNK: usize = 500;

// Rows are locked in id order before they are updated: two flushes (two instances, or a
// flush overlapping a shutdown flush) touching the same keys would otherwise lock them in
// whatever order their joins produce and could deadlock each other. `locked` also keeps
// each row's `last_used_at` before the update, for RETURNING.
const POSTGRES_SQL: &str = "\
WITH v AS (
    SELECT u.id, max(u.at) AS at
    FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at)
    GROUP BY u.id
), locked AS (
    SELECT k.id, k.last_used_at AS previous, k.created_at FROM api_keys AS k
    WHERE k.id IN (SELECT id FROM v)
    ORDER BY k.id
    FOR UPDATE
)
UPDATE api_keys AS k SET last_used_at = v.at
FROM v JOIN locked ON locked.id = v.id
WHERE k.id = v.id
  AND (k.last_used_at IS NULL OR k.last_used_at < v.at)
RETURNING k.id, k.last_used_at AS at, locked.previous, locked.created_at";

/// A key whose `last_used_at` moved, as the PostgreSQL statement returns it.
#[derive(QueryableByName)]
struct MovedRow {
    #[diesel(sql_type = PortableUuid)]
    id: DbUuid,
    #[diesel(sql_type = PortableInstant)]
    at: DbInstant,
    #[diesel(sql_type = Nullable<PortableInstant>)]
    previous: Option<DbInstant>,
    #[diesel(sql_type = PortableInstant)]
    created_at: DbInstant,
}

/// A key's state before the SQLite update.
#[derive(QueryableByName)]
struct StoredRow {
    #[diesel(sql_type = PortableUuid)]
    id: DbUuid,
    #[diesel(sql_type = Nullable<PortableInstant>)]
    previous: Option<DbInstant>,
    #[diesel(sql_type = PortableInstant)]
    created_at: DbInstant,
}

pub(super) async fn postgres(
    conn: &mut AsyncPgConnection,
    uses: &[(KeyId, OffsetDateTime)],
) -> diesel::QueryResult<Vec<LastUseMoved>> {
    let (ids, times): (Vec<uuid::Uuid>, Vec<OffsetDateTime>) = uses
        .iter()
        .map(|(id, at)| (id.as_uuid(), truncate_to_micros(*at)))
        .unzip();
    let moved: Vec<MovedRow> = diesel::sql_query(POSTGRES_SQL)
        .bind::<Array<PgUuid>, _>(ids)
        .bind::<Array<Timestamptz>, _>(times)
        .load(conn)
        .await?;
    Ok(moved
        .into_iter()
        .map(|row| LastUseMoved {
            key: KeyId::from_uuid(row.id.0),
            at: row.at.0,
            previous: row.previous.map(|previous| previous.0),
            created_at: row.created_at.0,
        })
        .collect())
}

pub(super) async fn sqlite(
    conn: &mut SqliteConnection,
    uses: &[(KeyId, OffsetDateTime)],
) -> diesel::QueryResult<Vec<LastUseMoved>> {
    let mut latest: HashMap<KeyId, OffsetDateTime> = HashMap::with_capacity(uses.len());
    for (id, at) in uses {
        let at = truncate_to_micros(*at);
        latest
            .entry(*id)
            .and_modify(|seen| *seen = (*seen).max(at))
            .or_insert(at);
    }
    let latest: Vec<(KeyId, OffsetDateTime)> = latest.into_iter().collect();
    begin_immediate(conn).await?;
    let result = async {
        let mut moved = Vec::new();
        for chunk in latest.chunks(SQLITE_CHUNK) {
            let stored: Vec<StoredRow> = sqlite_select(chunk).load(&mut *conn).await?;
            let stored: HashMap<KeyId, StoredRow> = stored
                .into_iter()
                .map(|row| (KeyId::from_uuid(row.id.0), row))
                .collect();
            let forward: Vec<(KeyId, OffsetDateTime)> = chunk
                .iter()
                .filter(|(id, at)| {
                    stored
                        .get(id)
                        .is_some_and(|row| row.previous.is_none_or(|previous| previous.0 < *at))
                })
                .copied()
                .collect();
            if forward.is_empty() {
                continue;
            }
            sqlite_update(&forward).execute(&mut *conn).await?;
            moved.extend(forward.into_iter().filter_map(|(id, at)| {
                stored.get(&id).map(|row| LastUseMoved {
                    key: id,
                    at,
                    previous: row.previous.map(|previous| previous.0),
                    created_at: row.created_at.0,
                })
            }));
        }
        Ok(moved)
    }
    .await;
    finish_transaction(conn, result).await
}

/// The stored `last_used_at` and `created_at` of a chunk's keys.
fn sqlite_select(
    chunk: &[(KeyId, OffsetDateTime)],
) -> diesel::query_builder::BoxedSqlQuery<'static, diesel::sqlite::Sqlite, SqlQuery> {
    let ids = vec!["?"; chunk.len()].join(", ");
    let sql = format!(
        "SELECT id, last_used_at AS previous, created_at FROM api_keys WHERE id IN ({ids})"
    );
    chunk
        .iter()
        .fold(diesel::sql_query(sql).into_boxed(), |query, (id, _)| {
            query.bind::<PortableUuid, _>(DbUuid(id.as_uuid()))
        })
}

/// Sets the chunk's times, each key once (the forward-only condition stays, though the
/// caller already checked it under the same lock).
fn sqlite_update(
    chunk: &[(KeyId, OffsetDateTime)],
) -> diesel::query_builder::BoxedSqlQuery<'static, diesel::sqlite::Sqlite, SqlQuery> {
    let values = vec!["(?, ?)"; chunk.len()].join(", ");
    let sql = format!(
        "UPDATE api_keys SET last_used_at = v.at \
         FROM (SELECT column1 AS id, column2 AS at FROM (VALUES {values})) AS v \
         WHERE api_keys.id = v.id \
         AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < v.at)"
    );
    chunk
        .iter()
        .fold(diesel::sql_query(sql).into_boxed(), |query, (id, at)| {
            query
                .bind::<PortableUuid, _>(DbUuid(id.as_uuid()))
                .bind::<PortableInstant, _>(DbInstant(*at))
        })
}
