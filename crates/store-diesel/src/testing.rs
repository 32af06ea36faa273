//! Throw-away databases for tests (feature `testing`), for this crate's contract suite
//! and for other crates' black-box tests:
//!
//! ```no_run
//! # use keyward_store_diesel::testing::TestDatabase;
//! # async fn a_test() {
//! let db = TestDatabase::sqlite(); // a file in a fresh temporary directory
//! let Some(db) = TestDatabase::postgres().await else {
//!     return; // skipped (never in CI)
//! };
//! let store = db.migrated_store().await; // or hand db.url() to the app
//! # }
//! ```
//!
//! PostgreSQL comes from `KEYWARD_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`): each `TestDatabase` creates its own
//! `keyward_test_<uuid>` database there, so tests run in parallel, and drops it when the
//! value is dropped — also when the test panics. Without a reachable server,
//! `postgres()` prints a loud `SKIPPED` line and returns `None`; with `CI` set it panics
//! instead, so CI can never pass by skipping.

#![allow(clippy::expect_used, clippy::missing_panics_doc)]

use std::time::Duration;

use diesel_async::{AsyncPgConnection, RunQueryDsl};

pub use crate::blocking::calls_spawned_on_this_thread;
use crate::database_url::DatabaseUrl;
use crate::pool::open_postgres;
use crate::{DieselStore, PoolOptions};

/// Environment variable naming the PostgreSQL server tests may create databases on.
pub const POSTGRES_URL_ENV: &str = "KEYWARD_TEST_POSTGRES_URL";
/// Used when [`POSTGRES_URL_ENV`] is unset.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long to wait for the PostgreSQL server before declaring it unreachable.
const REACH_TIMEOUT: Duration = Duration::from_secs(5);

/// A database that exists for one test and is removed when this value is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    /// Deleting the directory deletes the database file and its WAL files.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl TestDatabase {
    /// A SQLite database file (not yet created) in a fresh temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("keyward-test-")
            .tempdir()
            .expect("create a temporary directory for the SQLite test database");
        let url = format!("sqlite://{}", dir.path().join("keyward.db").display());
        Self {
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A fresh, empty PostgreSQL database; `None` (after a loud `SKIPPED` line) when no
    /// server is reachable outside CI.
    ///
    /// # Panics
    /// When the server is unreachable and `CI` is set, or it refuses `CREATE DATABASE`.
    pub async fn postgres() -> Option<Self> {
        let admin_url =
            std::env::var(POSTGRES_URL_ENV).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let mut admin = match admin_connection(&admin_url).await {
            Ok(conn) => conn,
            Err(reason) => {
                let server = DatabaseUrl::parse(&admin_url)
                    .map_or_else(|_| "(unparsable URL)".to_owned(), |url| url.target());
                let message = format!(
                    "PostgreSQL at {server} ({POSTGRES_URL_ENV}) is unreachable: {reason}; \
                     start it or point {POSTGRES_URL_ENV} at a server"
                );
                assert!(std::env::var_os("CI").is_none(), "{message}");
                eprintln!("\n**** SKIPPED: {message} ****\n");
                return None;
            }
        };
        let name = format!("keyward_test_{}", uuid::Uuid::new_v4().simple());
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create the PostgreSQL test database");
        Some(Self {
            url: with_database(&admin_url, &name),
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }

    /// The database URL, for [`DieselStore::connect`] or an app's configuration.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A store on this database with every migration applied.
    ///
    /// # Panics
    /// When connecting or migrating fails.
    pub async fn migrated_store(&self) -> DieselStore {
        let store = DieselStore::connect(&self.url, PoolOptions::default())
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        store
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Cleanup::Postgres { admin_url, name } = &self.cleanup else {
            return;
        };
        let (admin_url, database) = (admin_url.clone(), name.clone());
        // Drop may run inside an async test; a thread with its own runtime can block on
        // the DROP without stalling (or panicking) that test's runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|err| err.to_string())?;
            runtime.block_on(async {
                let mut admin = admin_connection(&admin_url).await?;
                // FORCE ends the store's pooled connections, which may outlive this guard.
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .map(drop)
                    .map_err(|err| err.to_string())
            })
        })
        .join();
        if let Ok(Err(reason)) | Err(reason) = dropped.map_err(|_| "panicked".to_owned()) {
            eprintln!("warning: could not drop test database {name}: {reason}");
        }
    }
}

async fn admin_connection(url: &str) -> Result<AsyncPgConnection, String> {
    match tokio::time::timeout(REACH_TIMEOUT, open_postgres(url.to_owned())).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("no answer within {REACH_TIMEOUT:?}")),
    }
}

/// `url` with its database name replaced by `name`, keeping any query string.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn with_database_replaces_only_the_database_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:1", "t3"), "postgres://h:1/t3");
    }
}
