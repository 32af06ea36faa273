//! One module per CLI verb.

pub mod keys;
pub mod migrate;
pub mod serve;
pub mod token;

use crate::cli::{Command, KeysCommand};
use crate::error::AppError;
use crate::settings::Settings;

/// Runs `command`.
///
/// # Errors
/// Whatever ends the command.
pub async fn dispatch(command: Command, settings: &Settings) -> Result<(), AppError> {
    match command {
        Command::Serve => serve::run(settings).await,
        Command::Migrate => migrate::run(settings).await,
        Command::Token(args) => token::run(&args, settings),
        Command::Keys {
            command: KeysCommand::Cleanup,
        } => keys::cleanup(settings).await,
    }
}
