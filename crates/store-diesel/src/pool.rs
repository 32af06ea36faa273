//! The connection pools: one deadpool pool per store, of SQLite or PostgreSQL
//! connections, with per-connection setup (SQLite PRAGMAs), a checked reuse of pooled
//! connections, and timeouts that turn an unreachable database into `Unavailable`.

use std::time::Duration;

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
use crate::error::{PoolError, error_chain, pool_error};

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
    /// Longest wait to open a connection, to get one from a busy pool, or to check a
    /// pooled one before reuse. Past it the operation fails as `Unavailable`.
    pub connect_timeout: Duration,
}

impl Default for PoolOptions {
    /// 10 connections, 5 seconds.
    fn default() -> Self {
        Self {
            max_size: 10,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// The store's pool, for whichever backend the URL chose. Cloning shares the pool.
#[derive(Clone)]
pub(crate) enum Pools {
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
        match url {
            DatabaseUrl::Sqlite { path } => {
                let mut config = ManagerConfig::<SqliteConnection>::default();
                config.recycling_method = RecyclingMethod::Verified;
                config.custom_setup = Box::new(|path| Box::pin(open_sqlite(path.to_owned())));
                let manager =
                    AsyncDieselConnectionManager::new_with_config(path.to_string_lossy(), config);
                pool(manager, options).map(Pools::Sqlite)
            }
            DatabaseUrl::Postgres { url, .. } => {
                let mut config = ManagerConfig::<AsyncPgConnection>::default();
                config.recycling_method = RecyclingMethod::Verified;
                config.custom_setup = Box::new(|url| Box::pin(open_postgres(url.to_owned())));
                let manager = AsyncDieselConnectionManager::new_with_config(url, config);
                pool(manager, options).map(Pools::Postgres)
            }
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Pools::Sqlite(_) => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// A connection, or `Unavailable` when none can be had within the connect timeout.
    pub(crate) async fn get(&self) -> Result<PooledConnection, StorageError> {
        self.get_raw().await.map_err(pool_error)
    }

    /// Like [`Pools::get`], keeping the pool's own error (for start-up messages).
    pub(crate) async fn get_raw(&self) -> Result<PooledConnection, PoolError> {
        Ok(match self {
            Pools::Sqlite(pool) => PooledConnection::Sqlite(Checkout::new(pool.get().await?)),
            Pools::Postgres(pool) => PooledConnection::Postgres(Checkout::new(pool.get().await?)),
        })
    }

    /// A new connection outside the pool, set up like the pooled ones, bounded by the
    /// pool's create timeout.
    pub(crate) async fn dedicated(&self) -> Result<DedicatedConnection, StorageError> {
        async fn open<C>(pool: &Pool<C>) -> Result<C, StorageError>
        where
            C: AsyncConnection + 'static,
            AsyncDieselConnectionManager<C>: Manager<Type = C, Error = ManagerError>,
        {
            let timeout = pool.timeouts().create.unwrap_or(Duration::MAX);
            match tokio::time::timeout(timeout, pool.manager().create()).await {
                Ok(Ok(conn)) => Ok(conn),
                Ok(Err(err)) => Err(StorageError::unavailable(err)),
                Err(elapsed) => Err(StorageError::unavailable(elapsed)),
            }
        }
        Ok(match self {
            Pools::Sqlite(pool) => DedicatedConnection::Sqlite(open(pool).await?),
            Pools::Postgres(pool) => DedicatedConnection::Postgres(open(pool).await?),
        })
    }
}

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
        .recycle_timeout(Some(options.connect_timeout))
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

/// Opens a PostgreSQL connection like `AsyncPgConnection::establish` does, but keeps the
/// driver's causes (e.g. "Connection refused") in the error, which `establish` drops.
pub(crate) async fn open_postgres(url: String) -> Result<AsyncPgConnection, ConnectionError> {
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .map_err(|err| ConnectionError::BadConnection(error_chain(&err)))?;
    AsyncPgConnection::try_from_client_and_connection(client, connection).await
}
