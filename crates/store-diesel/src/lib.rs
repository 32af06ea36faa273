//! keyward's storage on Diesel: SQLite (embedded, the default) and PostgreSQL
//! (production), chosen at run time from the database URL, behind one Diesel schema with
//! portable column types (ADR 0010).
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use keyward_domain::ports::ApiKeyRepository;
//! # use keyward_store_diesel::{DieselStore, PoolOptions};
//! # async fn start() -> Result<(), Box<dyn std::error::Error>> {
//! let store = DieselStore::connect("sqlite://data/keyward.db", PoolOptions::default()).await?;
//! store.migrate().await?; // applies pending migrations, returns how many
//! store.ping().await?; // for /ready
//! let keys: Arc<dyn ApiKeyRepository> = Arc::new(store.clone());
//! # Ok(())
//! # }
//! ```
//!
//! Layout, so later repositories slot in beside `api_keys`: `pool` (the pools),
//! `conn` (pooled connections, the per-backend dispatch macros, backend-specific SQL), `types` (portable SQL types),
//! `schema` (the one Diesel schema), `error` (failure classification), `migrations`,
//! `store` (`DieselStore`), and one module per port.

mod alerts;
mod api_keys;
mod audit;
mod blocking;
mod changes;
mod client_addresses;
mod conn;
mod credentials;
mod customer_state;
mod database_url;
mod error;
mod migrations;
mod pool;
mod requests;
mod schema;
mod sign_in_links;
mod songbook;
mod store;
mod types;
mod usage;
mod venues;

#[cfg(feature = "testing")]
pub mod testing;

pub use database_url::Backend;

/// The file a `sqlite://PATH` (or `sqlite:PATH`) URL names, as written (a relative path is
/// relative to the working directory); `None` for PostgreSQL or a URL [`DieselStore::connect`]
/// would refuse. For commands that must not create a database where none is.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    match database_url::DatabaseUrl::parse(url) {
        Ok(database_url::DatabaseUrl::Sqlite { path }) => Some(path),
        _ => None,
    }
}
pub use error::ConnectError;
pub use pool::{PoolOptions, PoolStats};
pub use store::DieselStore;
