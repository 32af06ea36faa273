//! `keyward serve`: open and migrate the database, serve until SIGINT/SIGTERM, stop
//! gracefully (in-flight requests finish, buffered key usage is written).

use crate::error::AppError;
use crate::settings::Settings;
use crate::startup::{Application, shutdown_signal};
use crate::{jwt_secret, storage, vault_keys};

/// # Errors
/// Anything that keeps the service from starting, or a server failure.
pub async fn run(settings: &Settings) -> Result<(), AppError> {
    let jwt = jwt_secret::resolve(&settings.auth)?;
    // Settings are checked before the database is opened or migrated: a typo in a key
    // must not leave a migrated database behind (`Application::build` resolves them
    // again; both reads see the same values).
    vault_keys::resolve(&settings.vault)?;
    settings.key_prefix()?;
    let store = storage::open_migrated(settings).await?;
    let application = Application::build(settings, &jwt, storage::wiring(store))?;
    application.run_until(shutdown_signal()).await
}
