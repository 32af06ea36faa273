//! The errors that end a `keyward` command. Each prints as one line an operator can act
//! on; none carries a secret (database errors name the host, never the password).

use keyward_domain::ports::StorageError;

use crate::settings::SettingsError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
    /// Opening the database failed; the message names backend and host or path.
    #[error("{0}")]
    Database(String),
    #[error("database: {}", storage_detail(.0))]
    Storage(StorageError),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Io(std::io::Error),
}

/// A storage error with its first cause (driver messages carry no bound values).
fn storage_detail(err: &StorageError) -> String {
    match std::error::Error::source(err) {
        Some(cause) => format!("{err}: {cause}"),
        None => err.to_string(),
    }
}
