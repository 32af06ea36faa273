//! The batched upsert of usage counts, flushed from the usage buffer. The SQL differs per
//! backend, as for `api_keys/last_used.rs`:
//!
//! * PostgreSQL: one statement for the whole batch, the rows bound as four arrays and
//!   joined with `unnest`, so the SQL text (and its prepared statement) never changes.
//!   `ON CONFLICT DO UPDATE` may touch a row only once per statement, so the caller hands
//!   over each `(key, day)` once ([`super::Merged`]). The keys are locked `FOR KEY SHARE`
//!   and the rows written in `(key, day)` order: a key deleted while the statement waits
//!   is skipped rather than failing the batch on the foreign key, and two flushes of the
//!   same rows (two instances) lock them in the same order, so they cannot deadlock.
//! * SQLite: the same `INSERT … SELECT … ON CONFLICT` over `VALUES`, in chunks that stay
//!   well below SQLite's bind limit, all inside one `BEGIN IMMEDIATE` transaction.
//!
//! Both take the customer from `api_keys` (so keys that do not exist are skipped) and add
//! to a stored row saturating at `i64::MAX`, the largest count a BIGINT keeps, so an
//! absurd count can never fail (and so block) every later flush.

use diesel::query_builder::SqlQuery;
use diesel::sql_types::{Array, BigInt, Date, Uuid as PgUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::Merged;
use crate::blocking::{begin_immediate, finish_transaction};
use crate::conn::SqliteConnection;
use crate::types::{DbUuid, PortableUuid};

/// Rows per SQLite statement: four binds each, far below the 32,766 bind limit.
const SQLITE_CHUNK: usize = 500;

/// The conflict clause both backends share: add, saturating at `i64::MAX` (`excluded`
/// is never negative, so the subtraction cannot overflow).
const ADD_TO_STORED: &str = "\
ON CONFLICT (key_id, day) DO UPDATE SET
    verified = CASE
        WHEN api_key_usage.verified > 9223372036854775807 - excluded.verified
        THEN 9223372036854775807
        ELSE api_key_usage.verified + excluded.verified END,
    denied = CASE
        WHEN api_key_usage.denied > 9223372036854775807 - excluded.denied
        THEN 9223372036854775807
        ELSE api_key_usage.denied + excluded.denied END";

const POSTGRES_INSERT: &str = "\
INSERT INTO api_key_usage (key_id, customer_id, day, verified, denied)
SELECT k.id, k.customer_id, v.day, v.verified, v.denied
FROM unnest($1::uuid[], $2::date[], $3::bigint[], $4::bigint[]) AS v(key_id, day, verified, denied)
JOIN api_keys AS k ON k.id = v.key_id
ORDER BY v.key_id, v.day
FOR KEY SHARE OF k
";

pub(super) async fn postgres(
    conn: &mut AsyncPgConnection,
    rows: &[Merged],
) -> diesel::QueryResult<u64> {
    let keys = rows.iter().map(|row| row.key.as_uuid()).collect::<Vec<_>>();
    let days = rows.iter().map(|row| row.day).collect::<Vec<_>>();
    let verified = rows.iter().map(|row| row.verified).collect::<Vec<_>>();
    let denied = rows.iter().map(|row| row.denied).collect::<Vec<_>>();
    let written = diesel::sql_query(format!("{POSTGRES_INSERT}{ADD_TO_STORED}"))
        .bind::<Array<PgUuid>, _>(keys)
        .bind::<Array<Date>, _>(days)
        .bind::<Array<BigInt>, _>(verified)
        .bind::<Array<BigInt>, _>(denied)
        .execute(conn)
        .await?;
    Ok(written as u64)
}

pub(super) async fn sqlite(
    conn: &mut SqliteConnection,
    rows: &[Merged],
) -> diesel::QueryResult<u64> {
    begin_immediate(conn).await?;
    let result = async {
        let mut written = 0u64;
        for chunk in rows.chunks(SQLITE_CHUNK) {
            written += sqlite_statement(chunk).execute(&mut *conn).await? as u64;
        }
        Ok(written)
    }
    .await;
    finish_transaction(conn, result).await
}

fn sqlite_statement(
    chunk: &[Merged],
) -> diesel::query_builder::BoxedSqlQuery<'static, diesel::sqlite::Sqlite, SqlQuery> {
    let values = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
    // `WHERE true` settles SQLite's parsing ambiguity between a join's ON and the
    // upsert's ON CONFLICT.
    let sql = format!(
        "INSERT INTO api_key_usage (key_id, customer_id, day, verified, denied) \
         SELECT k.id, k.customer_id, v.column2, v.column3, v.column4 \
         FROM (VALUES {values}) AS v \
         JOIN api_keys AS k ON k.id = v.column1 \
         WHERE true \
         {ADD_TO_STORED}"
    );
    chunk
        .iter()
        .fold(diesel::sql_query(sql).into_boxed(), |query, row| {
            query
                .bind::<PortableUuid, _>(DbUuid(row.key.as_uuid()))
                .bind::<Date, _>(row.day)
                .bind::<BigInt, _>(row.verified)
                .bind::<BigInt, _>(row.denied)
        })
}
