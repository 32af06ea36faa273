//! `keyward migrate`: apply pending migrations and say how many.

use crate::error::AppError;
use crate::settings::Settings;
use crate::storage;

/// # Errors
/// The database cannot be opened or a migration fails.
pub async fn run(settings: &Settings) -> Result<(), AppError> {
    let store = storage::open(settings).await?;
    let applied = store.migrate().await.map_err(AppError::Storage)?;
    println!(
        "applied {applied} migration(s) to the {} database",
        store.backend()
    );
    Ok(())
}
