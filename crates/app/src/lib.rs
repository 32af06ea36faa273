//! The `keyward` binary as a library: configuration, CLI, logging and wiring. `main.rs`
//! only parses the command line and calls [`run`]; tests drive the same code.

pub mod cli;
pub mod commands;
pub mod error;
pub mod jwt_secret;
pub mod metrics_sources;
pub mod settings;
pub mod startup;
pub mod storage;
pub mod tasks;
pub mod telemetry;
pub mod usage_flush;
pub mod vault_keys;

pub use cli::Cli;
pub use error::AppError;
pub use settings::Settings;
pub use startup::{Application, Wiring};

/// Runs one command with the configuration of the environment.
///
/// # Errors
/// Whatever ends the command; `main` prints it as one line.
pub async fn run(cli: Cli) -> Result<(), AppError> {
    let settings = Settings::load()?;
    telemetry::init(&settings)?;
    commands::dispatch(cli.command.unwrap_or(cli::Command::Serve), &settings).await
}
