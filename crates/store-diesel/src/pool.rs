//! The connection pools: one deadpool pool per store, of SQLite or PostgreSQL
//! connections, with per-connection setup (SQLite PRAGMAs, PostgreSQL's
//! `statement_timeout`), a checked reuse of pooled connections, and timeouts that turn an
//! unreachable database into `Unavailable` (ADR 0016).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deadpool::Runtime;
use deadpool::managed::Manager;
use diesel::result::ConnectionError;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, PoolError as ManagerError, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use keyward_domain::ports::StorageError;

use crate::conn::{Checkout, PooledConnection, SqliteConnection};
use crate::database_url::{Backend, DatabaseUrl};
use crate::error::{CheckoutError, error_chain, pool_error};

/// Set on every new SQLite connection. `busy_timeout` first, so the others wait for a
/// lock instead of failing. WAL lets readers run beside the one writer; NORMAL is the
/// durable-enough setting WAL is designed for; SQLite checks foreign keys only when asked.
const SQLITE_CONNECTION_PRAGMAS: &str = "PRAGMA busy_timeout = 5000;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;";

/// Pool settings for [`crate::DieselStore::connect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub max_size: usize,
    /// Longest wait for a connection, in total: waiting for a busy pool, checking a pooled
    /// connection before reuse and opening a new one all count against it. Past it the
    /// operation fails as `Unavailable`. (On SQLite a connection check or open already
    /// running on a blocking thread is waited for; see ADR 0016.)
    pub connect_timeout: Duration,
    /// PostgreSQL only: longest one storage operation (a query, or a whole write
    /// transaction) may take once it has its connection. Past it the operation fails as
    /// `Unavailable` and its connection is closed, not reused; the server also cancels
    /// any single statement that runs longer (`statement_timeout`). Migrations are not
    /// bounded. SQLite ignores it (its calls cannot be abandoned; `busy_timeout` bounds
    /// their lock waits).
    pub statement_timeout: Duration,
}

impl Default for PoolOptions {
    /// 10 connections, 5 seconds to get one, 30 seconds per operation.
    fn default() -> Self {
        Self {
            max_size: 10,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
        }
    }
}

/// The store's pool, for whichever backend the URL chose, and its time limits. Cloning
/// shares the pool.
#[derive(Clone)]
pub(crate) struct Pools {
    pub(crate) backend: BackendPool,
    options: PoolOptions,
    checkouts: Arc<CheckoutCounters>,
}

/// Totals of [`Pools::get_raw`] since the pool was built.
#[derive(Debug, Default)]
struct CheckoutCounters {
    /// Checkouts that ended, with a connection or not.
    checkouts: AtomicU64,
    /// Time spent in them, in nanoseconds.
    wait_nanos: AtomicU64,
    /// Checkouts that ended without a connection, whatever the reason.
    failures: AtomicU64,
    /// Of those, the ones that gave up at the connect timeout.
    timeouts: AtomicU64,
}

/// The pool's state and its checkout totals, for `/metrics` (SPEC §14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// `database.max_connections`.
    pub max_size: usize,
    /// Connections open now, in use or idle.
    pub size: usize,
    /// Open connections idle now.
    pub idle: usize,
    /// Callers waiting for a connection now.
    pub waiting: usize,
    /// Checkouts since start (each database operation takes one), finished or failed.
    pub checkouts: u64,
    /// Total time those checkouts took (waiting for a free slot, checking a pooled
    /// connection, opening a new one).
    pub wait: Duration,
    /// Checkouts that ended without a connection: the database refused or could not be
    /// reached, or the connect timeout passed. Each one failed its operation (`Unavailable`).
    pub failures: u64,
    /// Of `failures`, those where no connection came within
    /// `database.connect_timeout_seconds` (a busy pool or a database that does not answer).
    pub timeouts: u64,
}

/// The deadpool pool of one backend's connections.
#[derive(Clone)]
pub(crate) enum BackendPool {
    Sqlite(Pool<SqliteConnection>),
    Postgres(Pool<AsyncPgConnection>),
}

/// A connection owned outside the pool (for migrations), opened with the pool's setup.
#[allow(clippy::large_enum_variant)] // one per migration run
pub(crate) enum DedicatedConnection {
    Sqlite(SqliteConnection),
    Postgres(AsyncPgConnection),
}

impl Pools {
    /// Builds the pool without opening a connection. Every connection is checked with a
    /// query before reuse (`RecyclingMethod::Verified`), so one broken by a database
    /// restart is replaced instead of handed out.
    pub(crate) fn build(url: &DatabaseUrl, options: PoolOptions) -> Result<Self, String> {
        let backend = match url {
            DatabaseUrl::Sqlite { path } => {
                let mut config = ManagerConfig::<SqliteConnection>::default();
                config.recycling_method = RecyclingMethod::Verified;
                config.custom_setup = Box::new(|path| Box::pin(open_sqlite(path.to_owned())));
                let manager =
                    AsyncDieselConnectionManager::new_with_config(path.to_string_lossy(), config);
                pool(manager, options).map(BackendPool::Sqlite)
            }
            DatabaseUrl::Postgres { url, .. } => {
                let mut config = ManagerConfig::<AsyncPgConnection>::default();
                config.recycling_method = RecyclingMethod::Verified;
                let statement_timeout = options.statement_timeout;
                config.custom_setup = Box::new(move |url| {
                    Box::pin(open_pooled_postgres(url.to_owned(), statement_timeout))
                });
                let manager = AsyncDieselConnectionManager::new_with_config(url, config);
                pool(manager, options).map(BackendPool::Postgres)
            }
        }?;
        Ok(Self {
            backend,
            options,
            checkouts: Arc::default(),
        })
    }

    pub(crate) fn backend(&self) -> Backend {
        match self.backend {
            BackendPool::Sqlite(_) => Backend::Sqlite,
            BackendPool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The longest wait for a connection, in total.
    pub(crate) fn connect_timeout(&self) -> Duration {
        self.options.connect_timeout
    }

    /// The longest one PostgreSQL operation may take once it has its connection.
    pub(crate) fn statement_timeout(&self) -> Duration {
        self.options.statement_timeout
    }

    /// A connection, or `Unavailable` when none can be had within the connect timeout.
    pub(crate) async fn get(&self) -> Result<PooledConnection, StorageError> {
        self.get_raw().await.map_err(pool_error)
    }

    /// Like [`Pools::get`], keeping the pool's own error (for start-up messages).
    ///
    /// deadpool bounds each phase of a checkout (waiting for a slot, checking a pooled
    /// connection, opening a new one) by itself, and a checkout may go through several:
    /// a stale connection's check times out, then the next one's, then an open. The
    /// outer timeout caps the sum. Dropping deadpool's future at any point is safe: a
    /// connection taken out for its check is closed and its slot freed, and an open in
    /// progress is abandoned before it counts (tests/stall.rs checks the pool's size).
    pub(crate) async fn get_raw(&self) -> Result<PooledConnection, CheckoutError> {
        let limit = self.options.connect_timeout;
        let checkout = async {
            Ok(match &self.backend {
                BackendPool::Sqlite(pool) => {
                    PooledConnection::Sqlite(Checkout::new(pool.get().await?))
                }
                BackendPool::Postgres(pool) => {
                    PooledConnection::Postgres(Checkout::new(pool.get().await?))
                }
            })
        };
        let started = Instant::now();
        let outcome = match tokio::time::timeout(limit, checkout).await {
            Ok(outcome) => outcome.map_err(CheckoutError::Pool),
            Err(_) => Err(CheckoutError::TimedOut(limit)),
        };
        let counters = &self.checkouts;
        counters.checkouts.fetch_add(1, Ordering::Relaxed);
        let waited = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        counters.wait_nanos.fetch_add(waited, Ordering::Relaxed);
        if let Err(err) = &outcome {
            counters.failures.fetch_add(1, Ordering::Relaxed);
            if matches!(
                err,
                CheckoutError::TimedOut(_)
                    | CheckoutError::Pool(deadpool::managed::PoolError::Timeout(_))
            ) {
                counters.timeouts.fetch_add(1, Ordering::Relaxed);
            }
        }
        outcome
    }

    /// The pool's state now and its checkout totals.
    pub(crate) fn stats(&self) -> PoolStats {
        let status = match &self.backend {
            BackendPool::Sqlite(pool) => pool.status(),
            BackendPool::Postgres(pool) => pool.status(),
        };
        let counters = &self.checkouts;
        PoolStats {
            max_size: status.max_size,
            size: status.size,
            idle: status.available,
            waiting: status.waiting,
            checkouts: counters.checkouts.load(Ordering::Relaxed),
            wait: Duration::from_nanos(counters.wait_nanos.load(Ordering::Relaxed)),
            failures: counters.failures.load(Ordering::Relaxed),
            timeouts: counters.timeouts.load(Ordering::Relaxed),
        }
    }

    /// A new connection outside the pool, set up like the pooled ones, bounded by the
    /// connect timeout. On PostgreSQL its `statement_timeout` is turned off: migrations
    /// may legitimately run long, or wait for another instance's.
    pub(crate) async fn dedicated(&self) -> Result<DedicatedConnection, StorageError> {
        async fn open<C>(pool: &Pool<C>) -> Result<C, ManagerError>
        where
            C: AsyncConnection + 'static,
            AsyncDieselConnectionManager<C>: Manager<Type = C, Error = ManagerError>,
        {
            pool.manager().create().await
        }
        let opening = async {
            Ok::<_, ManagerError>(match &self.backend {
                BackendPool::Sqlite(pool) => DedicatedConnection::Sqlite(open(pool).await?),
                BackendPool::Postgres(pool) => {
                    let mut conn = open(pool).await?;
                    conn.batch_execute("SET statement_timeout = 0")
                        .await
                        .map_err(ManagerError::QueryError)?;
                    DedicatedConnection::Postgres(conn)
                }
            })
        };
        match tokio::time::timeout(self.options.connect_timeout, opening).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(err)) => Err(StorageError::unavailable(err)),
            Err(elapsed) => Err(StorageError::unavailable(elapsed)),
        }
    }

    /// How many connections the pool holds, and how many of them are idle.
    #[cfg(feature = "testing")]
    pub(crate) fn status(&self) -> (usize, usize) {
        let stats = self.stats();
        (stats.size, stats.idle)
    }
}

/// Each phase of a checkout gets the connect timeout, except the check of a pooled
/// connection, which gets half: a trivial query on an open connection that has not
/// answered by then is more likely dead (a failover leaves sockets that never answer)
/// than slow, and the other half is left to open a new one. The total is capped in
/// [`Pools::get_raw`].
fn pool<C>(
    manager: AsyncDieselConnectionManager<C>,
    options: PoolOptions,
) -> Result<Pool<C>, String>
where
    AsyncDieselConnectionManager<C>: deadpool::managed::Manager<Type = C>,
{
    Pool::builder(manager)
        .max_size(options.max_size.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(options.connect_timeout))
        .create_timeout(Some(options.connect_timeout))
        .recycle_timeout(Some(options.connect_timeout / 2))
        .build()
        .map_err(|err| err.to_string())
}

async fn open_sqlite(path: String) -> Result<SqliteConnection, ConnectionError> {
    let mut conn = SqliteConnection::establish(&path).await?;
    conn.batch_execute(SQLITE_CONNECTION_PRAGMAS)
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

/// Opens a pooled PostgreSQL connection and sets its server-side `statement_timeout`, so
/// the server, too, stops a statement the store has given up on (and frees its locks).
async fn open_pooled_postgres(
    url: String,
    statement_timeout: Duration,
) -> Result<AsyncPgConnection, ConnectionError> {
    let mut conn = open_postgres(url).await?;
    let millis = statement_timeout.as_millis().max(1);
    conn.batch_execute(&format!("SET statement_timeout = {millis}"))
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

/// Opens a PostgreSQL connection like `AsyncPgConnection::establish` does, but keeps the
/// driver's causes (e.g. "Connection refused") in the error, which `establish` drops.
pub(crate) async fn open_postgres(url: String) -> Result<AsyncPgConnection, ConnectionError> {
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .map_err(|err| ConnectionError::BadConnection(error_chain(&err)))?;
    AsyncPgConnection::try_from_client_and_connection(client, connection).await
}
