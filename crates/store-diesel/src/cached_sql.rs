//! Hand-written SQL that diesel keeps prepared on each connection.
//!
//! diesel never caches a [`diesel::sql_query`] statement (`SqlQuery` marks itself unsafe to
//! cache), so every call has SQLite parse its SQL again and PostgreSQL parse and plan it
//! again: for song search, 0.2–0.5 ms of PostgreSQL planning per statement, about a fifth
//! of a search's database time on a 200,000-song book (docs/PERFORMANCE.md). [`CachedSql`]
//! is the same SQL with the same placeholders (`$n` on PostgreSQL, `?` on SQLite), walked
//! as text and bind parameters in turn, so nothing in it is unsafe to cache and diesel's
//! per-connection statement cache, keyed by the SQL it renders, keeps it prepared.
//!
//! Only for SQL whose text comes from a small, fixed set (shapes chosen by the code, never
//! text built from values): each distinct text stays prepared for the connection's life.
//!
//! A prepared PostgreSQL statement is planned for its values on its first five runs and
//! may then switch to one generic plan for all values. Where the best plan depends on a
//! value (a `LIKE` pattern that is rare in one search and in every row in the next), use
//! [`CachedSql::per_call`], which is planned on every call as `sql_query` is.

use diesel::backend::Backend;
use diesel::expression::{AsExpression, TypedExpressionType};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::{Error, QueryResult};
use diesel::sql_types::{SqlType, Untyped};

/// SQL text with placeholders and the values bound to them; run it like a
/// [`diesel::sql_query`] (rows through `QueryableByName`).
pub(crate) struct CachedSql<DB: Backend> {
    sql: String,
    binds: Vec<Box<dyn QueryFragment<DB> + Send>>,
    /// Whether diesel may keep the statement prepared (see the module docs).
    keep_prepared: bool,
}

impl<DB: Backend> CachedSql<DB> {
    /// `sql` with PostgreSQL's numbered placeholders (`$1`, `$2`, …, each usable more than
    /// once) or SQLite's `?` (one bind per `?`, in order). It must hold no `$` or `?`
    /// other than placeholders (string literals included).
    pub(crate) fn new(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            binds: Vec::new(),
            keep_prepared: true,
        }
    }

    /// Like [`CachedSql::new`], but prepared and planned again on every call, for SQL
    /// whose best plan depends on its values (see the module docs).
    pub(crate) fn per_call(sql: impl Into<String>) -> Self {
        Self {
            keep_prepared: false,
            ..Self::new(sql)
        }
    }

    /// Binds the next value (`$n` for the n-th call, or the n-th `?`) as SQL type `ST`.
    pub(crate) fn bind<ST, T>(mut self, value: T) -> Self
    where
        ST: SqlType + TypedExpressionType,
        T: AsExpression<ST>,
        T::Expression: QueryFragment<DB> + Send + 'static,
    {
        self.binds.push(Box::new(value.as_expression()));
        self
    }
}

impl<DB: Backend> QueryFragment<DB> for CachedSql<DB> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if !self.keep_prepared {
            out.unsafe_to_cache_prepared();
        }
        let mut rest = self.sql.as_str();
        let mut next_question_mark = 0;
        while let Some(at) = rest.find(['$', '?']) {
            let after = &rest[at + 1..];
            let (index, length) = if rest[at..].starts_with('?') {
                next_question_mark += 1;
                (next_question_mark - 1, 1)
            } else {
                let digits = after.bytes().take_while(u8::is_ascii_digit).count();
                let number: usize = after[..digits].parse().map_err(|_| {
                    Error::QueryBuilderError(format!("`$` without a number at byte {at}").into())
                })?;
                (number.saturating_sub(1), 1 + digits)
            };
            out.push_sql(&rest[..at]);
            let bind = self.binds.get(index).ok_or_else(|| {
                Error::QueryBuilderError(format!("placeholder {} has no bind", index + 1).into())
            })?;
            bind.walk_ast(out.reborrow())?;
            rest = &rest[at + length..];
        }
        out.push_sql(rest);
        Ok(())
    }
}

impl<DB: Backend> QueryId for CachedSql<DB> {
    type QueryId = ();

    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB: Backend> Query for CachedSql<DB> {
    type SqlType = Untyped;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use diesel::pg::Pg;
    use diesel::sql_types::{BigInt, Integer, Text};
    use diesel::sqlite::Sqlite;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

    use super::CachedSql;
    use crate::testing::TestDatabase;

    #[derive(diesel::QueryableByName)]
    struct Number {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    #[test]
    fn postgres_placeholders_may_repeat_and_are_renumbered_in_order() {
        let query = CachedSql::<Pg>::new("SELECT $2, $1 || $2")
            .bind::<Integer, _>(7)
            .bind::<Text, _>("x".to_owned());

        let rendered = diesel::debug_query::<Pg, _>(&query).to_string();

        assert_eq!(rendered, "SELECT $1, $2 || $3 -- binds: [\"x\", 7, \"x\"]");
    }

    #[test]
    fn sqlite_question_marks_take_the_binds_in_order() {
        let query = CachedSql::<Sqlite>::new("SELECT ? + ?")
            .bind::<Integer, _>(1)
            .bind::<Integer, _>(2);

        let rendered = diesel::debug_query::<Sqlite, _>(&query).to_string();

        assert_eq!(rendered, "SELECT ? + ? -- binds: [1, 2]");
    }

    #[test]
    fn a_placeholder_without_a_bind_or_a_number_is_an_error_not_a_panic() {
        let render = |query: &CachedSql<Pg>| {
            let mut builder = diesel::pg::PgQueryBuilder::default();
            diesel::query_builder::QueryFragment::<Pg>::to_sql(query, &mut builder, &Pg)
                .map_err(|err| err.to_string())
        };
        let unbound = CachedSql::<Pg>::new("SELECT $1, $2").bind::<Integer, _>(1);
        let bare = CachedSql::<Pg>::new("SELECT $ 1").bind::<Integer, _>(1);

        assert!(
            render(&unbound)
                .unwrap_err()
                .contains("placeholder 2 has no bind")
        );
        assert!(render(&bare).unwrap_err().contains("`$` without a number"));
    }

    async fn prepared_statements(conn: &mut AsyncPgConnection) -> i64 {
        diesel::sql_query("SELECT count(*) AS n FROM pg_prepared_statements")
            .get_result::<Number>(conn)
            .await
            .unwrap()
            .n
    }

    /// What the module is for: PostgreSQL keeps one prepared statement per text after
    /// two runs (a `sql_query`, or a `per_call` statement, keeps none).
    #[tokio::test]
    async fn postgres_keeps_the_statement_prepared_across_calls() {
        let Some(db) = TestDatabase::postgres().await else {
            return;
        };
        let mut conn = AsyncPgConnection::establish(db.url()).await.unwrap();
        let before = prepared_statements(&mut conn).await;

        for _ in 0..2 {
            let one: Number = CachedSql::<Pg>::new("SELECT $1::bigint AS n")
                .bind::<BigInt, _>(1)
                .get_result(&mut conn)
                .await
                .unwrap();
            assert_eq!(one.n, 1);
        }
        let with_cached = prepared_statements(&mut conn).await;
        for _ in 0..2 {
            diesel::sql_query("SELECT $1::bigint AS n")
                .bind::<BigInt, _>(1)
                .get_result::<Number>(&mut conn)
                .await
                .unwrap();
        }
        let with_uncached = prepared_statements(&mut conn).await;
        for _ in 0..2 {
            CachedSql::<Pg>::per_call("SELECT $1::bigint + 1 AS n")
                .bind::<BigInt, _>(1)
                .get_result::<Number>(&mut conn)
                .await
                .unwrap();
        }
        let with_per_call = prepared_statements(&mut conn).await;

        assert_eq!(with_cached, before + 1);
        assert_eq!(with_uncached, with_cached);
        assert_eq!(with_per_call, with_cached);
    }
}
