//! Opens the database `database.url` names (SQLite or PostgreSQL, chosen by the URL),
//! applies pending migrations, and adapts the store to what the rest of the binary needs:
//! the repository port, the readiness probe and a wall clock.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use keyward_domain::ports::{StorageError, SystemClock};
use keyward_http::ReadinessCheck;
use keyward_http::metrics::MetricsSource;
use keyward_store_diesel::{DieselStore, PoolOptions};

use crate::error::AppError;
use crate::metrics_sources::{BuildInfo, PoolMetrics};
use crate::settings::Settings;
use crate::startup::Wiring;

/// Connects without migrating. A database that cannot be reached is one line naming the
/// backend and host (or file), never the password.
///
/// # Errors
/// `AppError::Database` when the URL is unusable or the database unreachable.
pub async fn open(settings: &Settings) -> Result<DieselStore, AppError> {
    let options = PoolOptions {
        max_size: settings.database.max_connections,
        connect_timeout: Duration::from_secs(settings.database.connect_timeout_seconds),
        statement_timeout: Duration::from_secs(settings.database.statement_timeout_seconds),
    };
    DieselStore::connect(&settings.database.url, options)
        .await
        .map_err(|err| AppError::Database(err.to_string()))
}

/// Connects and applies every pending migration.
///
/// # Errors
/// As [`open`], or `AppError::Storage` when a migration fails.
pub async fn open_migrated(settings: &Settings) -> Result<DieselStore, AppError> {
    let store = open(settings).await?;
    let applied = store.migrate().await.map_err(AppError::Storage)?;
    tracing::info!(backend = %store.backend(), applied, "database ready");
    Ok(store)
}

/// Like [`open_migrated`], for the commands that work on the database a running service
/// uses (`keys …`, `dashboard-link`): they never create a SQLite database, since run from
/// the wrong directory they would otherwise work on a new, empty file that no server
/// reads.
///
/// # Errors
/// `AppError::Usage` when `database.url` names a SQLite file that does not exist; as
/// [`open_migrated`] otherwise.
pub async fn open_existing(settings: &Settings) -> Result<DieselStore, AppError> {
    if let Some(path) = keyward_store_diesel::sqlite_file(&settings.database.url)
        && !path.exists()
    {
        let shown = std::path::absolute(&path).unwrap_or(path);
        return Err(AppError::Usage(format!(
            "no database at {} (database.url); run this in the directory keyward serve \
             runs in, or set KEYWARD__DATABASE__URL to its database",
            shown.display()
        )));
    }
    open_migrated(settings).await
}

/// `/ready` asks the database for `SELECT 1`.
#[derive(Debug, Clone)]
pub struct StoreReadiness(pub DieselStore);

#[async_trait]
impl ReadinessCheck for StoreReadiness {
    async fn check(&self) -> Result<(), StorageError> {
        self.0.ping().await
    }
}

/// What `keyward serve` runs on.
pub fn wiring(store: DieselStore) -> Wiring {
    let metrics: Vec<Arc<dyn MetricsSource>> = vec![
        Arc::new(BuildInfo {
            backend: store.backend(),
        }),
        Arc::new(PoolMetrics(store.clone())),
    ];
    Wiring {
        metrics,
        keys: Arc::new(store.clone()),
        usage: Arc::new(store.clone()),
        alerts: Arc::new(store.clone()),
        client_addresses: Arc::new(store.clone()),
        audit: Arc::new(store.clone()),
        openkj: Arc::new(store.clone()),
        credentials: Arc::new(store.clone()),
        sign_in_links: Arc::new(store.clone()),
        changes: Arc::new(store.clone()),
        readiness: Arc::new(StoreReadiness(store)),
        clock: Arc::new(SystemClock),
    }
}
