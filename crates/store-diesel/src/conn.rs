//! Connection plumbing every repository shares: a pooled connection of either backend
//! (the pools are in [`crate::pool`]), and the macros that run one piece of Diesel query
//! code against whichever backend the store was started with (ADR 0010).
//!
//! Repositories write their queries once inside [`with_connection!`] or
//! [`write_transaction!`]; the macro expands the body once per backend, so each copy is
//! type-checked against its concrete connection and no generic bounds are needed. Where
//! the SQL really differs, a repository matches on [`PooledConnection`] itself, or calls
//! a method of [`BackendSql`].

use std::ops::{Deref, DerefMut};

use deadpool::managed::Manager;
use diesel::QueryResult;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, TransactionManager};

use crate::types::DbUuid;

/// SQLite through Diesel's synchronous connection, run on tokio's blocking threads.
pub(crate) type SqliteConnection =
    SyncConnectionWrapper<diesel::SqliteConnection, crate::blocking::FinishingSpawner>;

/// A connection checked out of [`crate::pool::Pools`]; it goes back to the pool when
/// dropped.
// Lives for one call on the stack; boxing the larger PostgreSQL variant would cost an
// allocation per query for nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum PooledConnection {
    Sqlite(Checkout<SqliteConnection>),
    Postgres(Checkout<AsyncPgConnection>),
}

/// A pooled connection that is closed instead of returned when it is dropped inside a
/// transaction, or while one of its calls still runs. That happens when a caller's future
/// is dropped half-way (actix drops a handler's future when the client disconnects).
/// Returned to the pool, the connection would keep its transaction, and SQLite's write
/// lock or PostgreSQL's row locks with it, until the pool next handed it out — or, on
/// SQLite, be handed out while its abandoned call still runs; closed, the database rolls
/// the transaction back as soon as the connection is free.
pub(crate) struct Checkout<C>(Option<Object<C>>)
where
    C: AsyncConnection + AbandonedCalls + 'static,
    AsyncDieselConnectionManager<C>: Manager<Type = C>;

/// Whether a connection type can be left with a call running when its caller gives up.
pub(crate) trait AbandonedCalls {
    /// Whether the future just dropped on this thread left a call of this connection
    /// running (see `blocking::take_abandoned_call`).
    fn left_running() -> bool;
}

impl AbandonedCalls for SqliteConnection {
    fn left_running() -> bool {
        crate::blocking::take_abandoned_call()
    }
}

impl AbandonedCalls for AsyncPgConnection {
    /// Natively async: a dropped call is cancelled with its future.
    fn left_running() -> bool {
        false
    }
}

impl<C> Checkout<C>
where
    C: AsyncConnection + AbandonedCalls + 'static,
    AsyncDieselConnectionManager<C>: Manager<Type = C>,
{
    pub(crate) fn new(object: Object<C>) -> Self {
        Self(Some(object))
    }

    /// Closes the connection instead of returning it to the pool: it was abandoned in an
    /// unknown state (a statement may still be running, or its answer be on the way).
    pub(crate) fn discard(mut self) {
        if let Some(object) = self.0.take() {
            drop(Object::take(object));
        }
    }
}

impl<C> Deref for Checkout<C>
where
    C: AsyncConnection + AbandonedCalls + 'static,
    AsyncDieselConnectionManager<C>: Manager<Type = C>,
{
    type Target = C;

    fn deref(&self) -> &C {
        match &self.0 {
            Some(object) => object,
            None => unreachable!("the connection is taken only when the checkout is dropped"),
        }
    }
}

impl<C> DerefMut for Checkout<C>
where
    C: AsyncConnection + AbandonedCalls + 'static,
    AsyncDieselConnectionManager<C>: Manager<Type = C>,
{
    fn deref_mut(&mut self) -> &mut C {
        match &mut self.0 {
            Some(object) => object,
            None => unreachable!("the connection is taken only when the checkout is dropped"),
        }
    }
}

impl<C> Drop for Checkout<C>
where
    C: AsyncConnection + AbandonedCalls + 'static,
    AsyncDieselConnectionManager<C>: Manager<Type = C>,
{
    fn drop(&mut self) {
        let Some(mut object) = self.0.take() else {
            return;
        };
        if std::thread::panicking() {
            // Mid-panic the connection's state is unknown: never hand it out again.
            drop(Object::take(object));
            return;
        }
        if C::left_running() {
            // A call still runs on it (and would make the check below panic): it closes
            // when that call ends.
            tracing::debug!("closing a database connection whose call was abandoned");
            drop(Object::take(object));
            return;
        }
        let status = C::TransactionManager::transaction_manager_status_mut(&mut object);
        if !matches!(status.transaction_depth(), Ok(None)) {
            tracing::warn!("closing a database connection abandoned inside a transaction");
            drop(Object::take(object));
        }
    }
}

/// Why a write transaction stopped: the database failed, or a rule refused the write
/// (which rolls the transaction back like any error).
#[derive(Debug)]
pub(crate) enum TxError<E> {
    Database(diesel::result::Error),
    Refused(E),
}

impl<E> From<diesel::result::Error> for TxError<E> {
    fn from(err: diesel::result::Error) -> Self {
        TxError::Database(err)
    }
}

/// SQL that differs per backend, as methods of the concrete connection types, so the
/// shared query code in a macro body can call them on either.
pub(crate) trait BackendSql {
    /// Serialises writers of one customer's rows until the transaction ends.
    async fn lock_customer(&mut self, customer: DbUuid) -> QueryResult<()>;
}

impl BackendSql for AsyncPgConnection {
    /// `SELECT … FOR UPDATE` on the customer row: a concurrent writer for the same
    /// customer waits here until this transaction commits, then sees its rows.
    async fn lock_customer(&mut self, customer: DbUuid) -> QueryResult<()> {
        use crate::schema::customers;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        customers::table
            .find(customer)
            .select(customers::id)
            .for_update()
            .execute(self)
            .await
            .map(drop)
    }
}

impl BackendSql for SqliteConnection {
    /// Nothing to do: `BEGIN IMMEDIATE` already holds the database's only write lock.
    async fn lock_customer(&mut self, _customer: DbUuid) -> QueryResult<()> {
        Ok(())
    }
}

/// Runs `$body` (the contents of an async block) with `$conn` borrowed from the PostgreSQL
/// checkout `$pooled`, bounded by `$limit`. Past it the connection is closed, not returned
/// to the pool, and the result is `Err(statement_timed_out(..).into())`, which classifies
/// as `Unavailable`; so `$body`'s error type needs `From<diesel::result::Error>`.
macro_rules! bounded_postgres {
    ($pooled:ident, $limit:expr, |$conn:ident| $body:expr) => {{
        let limit: ::std::time::Duration = $limit;
        let outcome = {
            let $conn: &mut ::diesel_async::AsyncPgConnection = &mut $pooled;
            ::tokio::time::timeout(limit, async { $body }).await
        };
        match outcome {
            Ok(result) => result,
            Err(_) => {
                ::tracing::warn!(
                    ?limit,
                    "closing a database connection whose operation got no answer in time"
                );
                $pooled.discard();
                Err($crate::error::statement_timed_out(limit).into())
            }
        }
    }};
}

/// Runs `$body` (the contents of an async block: `?` and `return` leave the body, not the
/// enclosing function) with `$conn: &mut <connection>` checked out of `$pools`, compiled
/// once per backend. A pool failure returns early with `StorageError` (through `?`, so the
/// enclosing function's error type needs `From<StorageError>`). On PostgreSQL the body is
/// bounded by the statement timeout ([`bounded_postgres!`]).
macro_rules! with_connection {
    ($pools:expr, |$conn:ident| $body:expr) => {{
        let pools: &$crate::pool::Pools = &$pools;
        match pools.get().await? {
            $crate::conn::PooledConnection::Postgres(mut pooled) => {
                $crate::conn::bounded_postgres!(pooled, pools.statement_timeout(), |$conn| $body)
            }
            $crate::conn::PooledConnection::Sqlite(mut pooled) => {
                let $conn: &mut $crate::conn::SqliteConnection = &mut pooled;
                async { $body }.await
            }
        }
    }};
}

/// Runs `$body` (returning `Result<T, TxError<E>>`) in a write transaction: `BEGIN
/// IMMEDIATE` on SQLite (through [`crate::blocking`]), so the write lock is taken up front
/// and concurrent writers queue
/// on `busy_timeout` instead of failing; a plain transaction on PostgreSQL, where the body
/// takes row locks (`BackendSql::lock_customer`) as needed, bounded as a whole by the
/// statement timeout ([`bounded_postgres!`]). Commits on `Ok`, rolls back on `Err`. A
/// transaction cut short by a dropped future or the statement timeout is rolled back by
/// the database when its connection is closed ([`Checkout`]).
macro_rules! write_transaction {
    ($pools:expr, |$conn:ident| $body:expr) => {{
        let pools: &$crate::pool::Pools = &$pools;
        match pools.get().await? {
            $crate::conn::PooledConnection::Postgres(mut pooled) => {
                $crate::conn::bounded_postgres!(pooled, pools.statement_timeout(), |pg| {
                    ::diesel_async::AsyncConnection::transaction(
                        pg,
                        async |$conn: &mut ::diesel_async::AsyncPgConnection| $body,
                    )
                    .await
                })
            }
            $crate::conn::PooledConnection::Sqlite(mut pooled) => {
                let sqlite: &mut $crate::conn::SqliteConnection = &mut pooled;
                match $crate::blocking::begin_immediate(sqlite).await {
                    Err(err) => Err(err.into()),
                    Ok(()) => {
                        let result = async {
                            let $conn: &mut $crate::conn::SqliteConnection = &mut *sqlite;
                            $body
                        }
                        .await;
                        $crate::blocking::finish_transaction(sqlite, result).await
                    }
                }
            }
        }
    }};
}

pub(crate) use {bounded_postgres, with_connection, write_transaction};

#[cfg(test)]
mod tests {
    use diesel_async::SimpleAsyncConnection;

    use super::*;
    use crate::database_url::DatabaseUrl;
    use crate::pool::{BackendPool, DedicatedConnection, PoolOptions, Pools};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connection_abandoned_inside_a_transaction_is_closed_and_its_write_lock_released() {
        // Arrange: a SQLite pool with a table, and a write transaction whose future is
        // dropped after BEGIN IMMEDIATE (as when a client disconnects mid-request).
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::parse(&format!("sqlite://{}/t.db", dir.path().display())).unwrap();
        let pools = Pools::build(&url, PoolOptions::default()).unwrap();
        let PooledConnection::Sqlite(mut abandoned) = pools.get().await.unwrap() else {
            unreachable!("a SQLite URL gives a SQLite pool")
        };
        abandoned
            .batch_execute("CREATE TABLE t (x INTEGER)")
            .await
            .unwrap();
        let (began, has_begun) = tokio::sync::oneshot::channel::<()>();
        let transaction = async {
            crate::blocking::begin_immediate(&mut abandoned).await?;
            let _ = began.send(());
            std::future::pending::<QueryResult<()>>().await
        };
        tokio::select! {
            _ = transaction => unreachable!("the transaction body never finishes"),
            _ = has_begun => {}
        }

        // Act
        drop(abandoned);

        // Assert: the connection left the pool, and another can write without waiting.
        let BackendPool::Sqlite(pool) = &pools.backend else {
            unreachable!("a SQLite URL gives a SQLite pool")
        };
        assert_eq!(pool.status().size, 0);
        let DedicatedConnection::Sqlite(mut other) = pools.dedicated().await.unwrap() else {
            unreachable!("a SQLite URL gives a SQLite pool")
        };
        other
            .batch_execute("PRAGMA busy_timeout = 0; INSERT INTO t VALUES (1);")
            .await
            .unwrap();
    }
}
