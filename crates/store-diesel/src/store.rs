//! [`DieselStore`]: the public face of this crate. Opens the pool for the backend the URL
//! names, and implements every storage port (one module per port beside this one).

use std::fmt;
use std::time::Instant;

use diesel::IntoSql;
use diesel::sql_types::Integer;
use diesel_async::RunQueryDsl;
use keyward_domain::ports::StorageError;

use crate::conn::{PooledConnection, bounded_postgres};
use crate::database_url::{Backend, DatabaseUrl};
use crate::error::{CheckoutError, ConnectError, error_chain, storage_error};
use crate::pool::{PoolOptions, PoolStats, Pools};

/// keyward's storage on SQLite or PostgreSQL, chosen at run time from the database URL.
///
/// Cheap to clone (the pool is shared), `Send + Sync`; implements
/// [`keyward_domain::ports::ApiKeyRepository`] and
/// [`keyward_domain::ports::CredentialRepository`]. The async methods need a multi-threaded
/// tokio runtime: SQLite work runs on blocking threads and waits for them on drop.
#[derive(Clone)]
pub struct DieselStore {
    pub(crate) pools: Pools,
    target: String,
    /// The song search index task, shared by clones (`songbook::index`).
    pub(crate) indexer: crate::songbook::IndexerSlot,
    /// Tests only: index songs inside `add_songs` instead of after uploads pause.
    pub(crate) index_on_upload: bool,
    /// The runtime `connect` ran on, where background tasks (the song index task) live.
    pub(crate) runtime: tokio::runtime::Handle,
}

impl fmt::Debug for DieselStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DieselStore")
            .field("backend", &self.backend())
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl DieselStore {
    /// Opens the store named by `url` and checks that one connection works, so a wrong
    /// URL or a database that is down fails at start rather than on the first request.
    ///
    /// * `sqlite://PATH` (or `sqlite:PATH`): the file and its parent directory are
    ///   created if missing. `PATH` is relative to the working directory unless it starts
    ///   with `/` (`sqlite:///var/lib/keyward.db`). In-memory SQLite is refused.
    /// * `postgres://…` or `postgresql://…`: any URL `tokio-postgres` accepts (no TLS).
    ///
    /// Does not run migrations: call [`DieselStore::migrate`].
    ///
    /// # Errors
    /// [`ConnectError`]: the scheme is unknown, the URL is malformed, or the database
    /// cannot be opened or reached within `options.connect_timeout`.
    pub async fn connect(url: &str, options: PoolOptions) -> Result<Self, ConnectError> {
        let url = DatabaseUrl::parse(url)?;
        let unreachable = |reason: &str| ConnectError::Unreachable {
            backend: url.backend(),
            target: url.target(),
            reason: url.scrub(reason),
        };
        if let DatabaseUrl::Sqlite { path } = &url
            && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|err| {
                unreachable(&format!(
                    "cannot create directory {}: {err}",
                    parent.display()
                ))
            })?;
        }
        let pools = Pools::build(&url, options).map_err(|err| unreachable(&err))?;
        pools
            .get_raw()
            .await
            .map_err(|err| unreachable(&describe_pool_error(&err, options)))?;
        tracing::debug!(backend = %url.backend(), target = %url.target(), "database pool ready");
        Ok(Self {
            pools,
            target: url.target(),
            indexer: crate::songbook::IndexerSlot::default(),
            index_on_upload: false,
            runtime: tokio::runtime::Handle::current(),
        })
    }

    /// Which backend this store talks to.
    pub fn backend(&self) -> Backend {
        self.pools.backend()
    }

    /// Runs one trivial query: `Ok` when the database answers (for `/ready`).
    ///
    /// # Errors
    /// `Unavailable` when no connection can be had or the query fails to reach the
    /// database; `Other` for anything else.
    ///
    /// Bounded as a whole by the connect timeout on PostgreSQL (getting a connection and
    /// the query share it), so `/ready` answers within it even when the database has
    /// stopped answering. On SQLite a query already running is waited for (ADR 0016).
    pub async fn ping(&self) -> Result<(), StorageError> {
        let deadline = Instant::now() + self.pools.connect_timeout();
        let one = || diesel::select(1_i32.into_sql::<Integer>());
        match self.pools.get().await? {
            PooledConnection::Postgres(mut pooled) => {
                let left = deadline.saturating_duration_since(Instant::now());
                bounded_postgres!(pooled, left, |conn| {
                    one().get_result::<i32>(conn).await.map(drop)
                })
            }
            PooledConnection::Sqlite(mut pooled) => {
                one().get_result::<i32>(&mut *pooled).await.map(drop)
            }
        }
        .map_err(storage_error)
    }

    /// The pool's state and checkout totals, for `/metrics` (SPEC §14).
    pub fn pool_stats(&self) -> PoolStats {
        self.pools.stats()
    }

    /// How many connections the pool holds, and how many of them are idle (for tests
    /// that check no connection is leaked or reused).
    #[cfg(feature = "testing")]
    pub fn pool_status(&self) -> (usize, usize) {
        self.pools.status()
    }
}

/// The pool's failure to hand out the first connection, on one line, with its causes.
fn describe_pool_error(err: &CheckoutError, options: PoolOptions) -> String {
    match err {
        CheckoutError::Pool(deadpool::managed::PoolError::Timeout(_))
        | CheckoutError::TimedOut(_) => format!(
            "no connection within {:?} (connect timeout)",
            options.connect_timeout
        ),
        CheckoutError::Pool(deadpool::managed::PoolError::Backend(cause)) => error_chain(cause),
        CheckoutError::Pool(other) => error_chain(other),
    }
}
