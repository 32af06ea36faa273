#![allow(
    clippy::doc_markdown,
    reason = "these doc comments are the --help text and are shown verbatim"
)]

//! The command line (SPEC §11): `serve` (default), `migrate`, `token`, `keys cleanup`.

use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

/// keyward: a self-hosted API key service.
///
/// Configuration comes from config/default.toml, then the file named by KEYWARD_CONFIG,
/// then environment variables such as KEYWARD__SERVER__PORT or KEYWARD__DATABASE__URL.
/// See docs/OPERATIONS.md for every setting.
#[derive(Debug, Parser)]
#[command(name = "keyward", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (the default when no command is given).
    ///
    /// Opens the database (creating a SQLite file if needed), applies pending
    /// migrations and serves until SIGINT or SIGTERM, then finishes in-flight requests
    /// and writes buffered key usage before exiting.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print a signed JWT for the customer API (for development and scripts).
    ///
    /// The token is signed with auth.jwt_secret or the secret file auth.jwt_secret_file
    /// (created if missing), the same secret `keyward serve` verifies with.
    Token(TokenArgs),
    /// API key maintenance.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The customer (or, with --admin, the admin context) the token acts for.
    #[arg(long, value_name = "UUID")]
    pub customer: Uuid,
    /// Comma-separated permissions [default: every customer-API permission].
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub permissions: Option<Vec<String>>,
    /// Issue an admin-context token instead of a customer-context one.
    #[arg(long)]
    pub admin: bool,
    /// Lifetime in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub ttl: u64,
    /// The `sub` claim (user id).
    #[arg(long, value_name = "ID", default_value = "keyward-cli")]
    pub subject: String,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Delete keys that expired more than keys.expired_retention_days ago and print how
    /// many were deleted.
    Cleanup,
}
