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

use diesel::query_builder::SqlQuery;
use diesel::sql_types::{Array, Timestamptz, Uuid as PgUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use keyward_domain::KeyId;
use keyward_domain::ports::truncate_to_micros;

use crate::blocking::{begin_immediate, finish_transaction};
use crate::conn::SqliteConnection;
use crate::types::{DbInstant, DbUuid, PortableInstant, PortableUuid};

/// Pairs per SQLite statement: two binds each, far below the 32,766 bind limit, and
/// small enough that one statement's SQL stays short.
const SQLITE_CHUNK: usize = 500;

// Rows are locked in id order before they are updated: two flushes (two instances, or a
// flush overlapping a shutdown flush) touching the same keys would otherwise lock them in
// whatever order their joins produce and could deadlock each other.
const POSTGRES_SQL: &str = "\
WITH v AS (
    SELECT u.id, max(u.at) AS at
    FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at)
    GROUP BY u.id
), locked AS (
    SELECT k.id FROM api_keys AS k
    WHERE k.id IN (SELECT id FROM v)
    ORDER BY k.id
    FOR UPDATE
)
UPDATE api_keys AS k SET last_used_at = v.at
FROM v
WHERE k.id = v.id
  AND k.id IN (SELECT id FROM locked)
  AND (k.last_used_at IS NULL OR k.last_used_at < v.at)";

pub(super) async fn postgres(
    conn: &mut AsyncPgConnection,
    uses: &[(KeyId, OffsetDateTime)],
) -> diesel::QueryResult<u64> {
    let (ids, times): (Vec<uuid::Uuid>, Vec<OffsetDateTime>) = uses
        .iter()
        .map(|(id, at)| (id.as_uuid(), truncate_to_micros(*at)))
        .unzip();
    let changed = diesel::sql_query(POSTGRES_SQL)
        .bind::<Array<PgUuid>, _>(ids)
        .bind::<Array<Timestamptz>, _>(times)
        .execute(conn)
        .await?;
    Ok(changed as u64)
}

pub(super) async fn sqlite(
    conn: &mut SqliteConnection,
    uses: &[(KeyId, OffsetDateTime)],
) -> diesel::QueryResult<u64> {
    begin_immediate(conn).await?;
    let result = async {
        let mut changed = 0u64;
        for chunk in uses.chunks(SQLITE_CHUNK) {
            changed += sqlite_statement(chunk).execute(&mut *conn).await? as u64;
        }
        Ok(changed)
    }
    .await;
    finish_transaction(conn, result).await
}

fn sqlite_statement(
    chunk: &[(KeyId, OffsetDateTime)],
) -> diesel::query_builder::BoxedSqlQuery<'static, diesel::sqlite::Sqlite, SqlQuery> {
    let values = vec!["(?, ?)"; chunk.len()].join(", ");
    let sql = format!(
        "UPDATE api_keys SET last_used_at = v.at \
         FROM (SELECT column1 AS id, max(column2) AS at FROM (VALUES {values}) GROUP BY column1) AS v \
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
