//! Schema migrations: `migrations/sqlite` and `migrations/postgres` at the repository
//! root (same migration names, per-backend SQL), embedded in the binary and applied on
//! start through diesel-async's `AsyncConnectionWrapper`, so no libpq is needed.
//!
//! Diesel's migration harness is synchronous; it runs on a blocking thread with a
//! connection of its own, opened like the pooled ones and closed afterwards. On PostgreSQL a session
//! advisory lock makes concurrently starting instances migrate one after the other.

use std::error::Error as StdError;

use diesel::migration::MigrationVersion;
use diesel_async::AsyncConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use keyward_domain::ports::StorageError;

use crate::DieselStore;
use crate::error::storage_error;
use crate::pool::DedicatedConnection;

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Arbitrary key of the advisory lock held while migrating PostgreSQL (`keyw` in ASCII).
const POSTGRES_MIGRATION_LOCK: i64 = 0x6b65_7977;

type HarnessResult<T> = Result<T, Box<dyn StdError + Send + Sync>>;

/// What to do with the migrations.
#[derive(Debug, Clone, Copy)]
enum Direction {
    /// Apply every pending migration.
    Up,
    /// Revert every applied migration (tests only).
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    DownAll,
}

impl DieselStore {
    /// Applies every pending migration, then the data steps SQL cannot do (refolding
    /// stored songs when [`keyward_domain::songbook::FOLD_VERSION`] moved on, see
    /// [`DieselStore::refold_songs`]); returns how many migrations ran (0 when up to date).
    /// When songs wait for the search index (see `songbook::index`), it also starts the
    /// task that indexes them.
    ///
    /// # Errors
    /// `Unavailable` when the database cannot be reached; `Other` when a migration fails
    /// (each runs in its own transaction, so a failed one leaves nothing half-applied).
    /// A PostgreSQL that refuses the `pg_trgm` extension fails with a message naming it.
    pub async fn migrate(&self) -> Result<usize, StorageError> {
        let applied = self
            .run_migrations(Direction::Up)
            .await
            .map_err(name_refused_extension)?;
        if applied > 0 {
            tracing::info!(backend = %self.backend(), applied, "database migrated");
        }
        self.refold_songs().await?;
        self.resume_indexing().await?;
        Ok(applied)
    }

    /// Reverts every applied migration; returns how many. For the migration round-trip
    /// test: it drops every table.
    ///
    /// # Errors
    /// As [`DieselStore::migrate`].
    #[cfg(feature = "testing")]
    pub async fn revert_all_migrations(&self) -> Result<usize, StorageError> {
        self.run_migrations(Direction::DownAll).await
    }

    async fn run_migrations(&self, direction: Direction) -> Result<usize, StorageError> {
        let outcome = match self.pools.dedicated().await? {
            DedicatedConnection::Sqlite(conn) => {
                run_blocking(conn, move |conn| run(conn, SQLITE, direction)).await
            }
            DedicatedConnection::Postgres(conn) => {
                run_blocking(conn, move |conn| {
                    use diesel::RunQueryDsl;
                    diesel::sql_query(format!(
                        "SELECT pg_advisory_lock({POSTGRES_MIGRATION_LOCK})"
                    ))
                    .execute(conn)?;
                    let outcome = run(conn, POSTGRES, direction);
                    diesel::sql_query(format!(
                        "SELECT pg_advisory_unlock({POSTGRES_MIGRATION_LOCK})"
                    ))
                    .execute(conn)?;
                    outcome
                })
                .await
            }
        };
        outcome.map_err(migration_error)
    }
}

fn run<H, DB>(
    conn: &mut H,
    migrations: EmbeddedMigrations,
    direction: Direction,
) -> HarnessResult<usize>
where
    H: MigrationHarness<DB>,
    DB: diesel::backend::Backend,
    EmbeddedMigrations: diesel::migration::MigrationSource<DB>,
{
    let versions: Vec<MigrationVersion<'_>> = match direction {
        Direction::Up => conn.run_pending_migrations(migrations)?,
        Direction::DownAll => conn.revert_all_migrations(migrations)?,
    };
    Ok(versions.len())
}

/// Runs `work` on a blocking thread with `conn` wrapped as a synchronous Diesel
/// connection. The connection is closed afterwards.
async fn run_blocking<C, F>(conn: C, work: F) -> HarnessResult<usize>
where
    C: AsyncConnection + Send + 'static,
    F: FnOnce(&mut AsyncConnectionWrapper<C>) -> HarnessResult<usize> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let mut wrapper = AsyncConnectionWrapper::<C>::from(conn);
        work(&mut wrapper)
    })
    .await
    .unwrap_or_else(|join| Err(Box::new(join)))
}

/// PostgreSQL's own message for a refused `CREATE EXTENSION pg_trgm` ("permission denied
/// to create extension", "extension … is not available") does not say why keyward wants
/// it or what to do; this one does.
fn name_refused_extension(err: StorageError) -> StorageError {
    let message = crate::error::error_chain(&err);
    if message.contains("pg_trgm") || message.contains("gin_trgm_ops") {
        return StorageError::Other(
            format!(
                "PostgreSQL refused the pg_trgm extension, which song search needs \
                 (it ships with PostgreSQL's contrib package; the database role needs CREATE \
                 on the database, or a superuser runs `CREATE EXTENSION pg_trgm` once): {message}"
            )
            .into(),
        );
    }
    err
}

fn migration_error(err: Box<dyn StdError + Send + Sync>) -> StorageError {
    match err.downcast::<diesel::result::Error>() {
        Ok(diesel) => storage_error(*diesel),
        Err(other) => StorageError::Other(other),
    }
}

#[cfg(test)]
mod tests {
    use diesel::migration::MigrationSource;

    use super::*;

    fn names<DB: diesel::backend::Backend>(source: &EmbeddedMigrations) -> Vec<String>
    where
        EmbeddedMigrations: MigrationSource<DB>,
    {
        MigrationSource::<DB>::migrations(source)
            .unwrap()
            .iter()
            .map(|m| m.name().to_string())
            .collect()
    }

    #[test]
    fn both_backends_have_the_same_migration_names() {
        let sqlite = names::<diesel::sqlite::Sqlite>(&SQLITE);
        let postgres = names::<diesel::pg::Pg>(&POSTGRES);
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, postgres);
    }
}
