//! One module per CLI verb.

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
        Command::Token(args) => token::run(&args, settings),
        Command::Serve
        | Command::Migrate
        | Command::Keys {
            command: KeysCommand::Cleanup,
        } => Err(AppError::Usage(
            "storage commands arrive with store-diesel (WIP)".into(),
        )),
    }
}
