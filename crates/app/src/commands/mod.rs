//! One module per CLI verb.

pub mod dashboard_link;
pub mod keys;
pub mod migrate;
pub mod serve;
pub mod token;
pub mod vault;

use std::sync::Arc;

use crate::cli::{Command, KeysCommand, VaultCommand};
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
        Command::DashboardLink(args) => dashboard_link::run(&args, settings).await,
        Command::Vault {
            command: VaultCommand::GenerateKey(args),
        } => vault::generate_key(&args),
        Command::Vault {
            command: VaultCommand::RotateKey(args),
        } => {
            let store = crate::storage::open_migrated(settings).await?;
            vault::rotate_key(&args, settings, Arc::new(store)).await
        }
        Command::Keys { command } => match command {
            KeysCommand::Create(args) => keys::create(args, settings).await,
            KeysCommand::List(args) => keys::list(&args, settings).await,
            KeysCommand::Revoke(args) => keys::revoke(&args, settings).await,
            KeysCommand::Cleanup => keys::cleanup(settings).await,
        },
    }
}
