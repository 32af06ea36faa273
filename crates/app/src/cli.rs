#![allow(
    clippy::doc_markdown,
    reason = "these doc comments are the --help text and are shown verbatim"
)]

//! The command line (SPEC §11, §14, §15): `serve` (default), `migrate`, `token`,
//! `dashboard-link`, `keys create | list | revoke | cleanup`, `vault generate-key`,
//! `vault rotate-key`.

use std::path::PathBuf;

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
    ///
    /// Listens on 127.0.0.1:8080 by default; override with KEYWARD__SERVER__HOST and
    /// KEYWARD__SERVER__PORT (or server.host / server.port in the configuration file).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print a signed JWT for the customer API (for development and scripts).
    ///
    /// The token is signed with auth.jwt_secret or the secret file auth.jwt_secret_file
    /// (created if missing), the same secret `keyward serve` verifies with.
    Token(TokenArgs),
    /// Print a one-time link that signs someone in to a customer's dashboard.
    ///
    /// Prints the link, BASE_URL/dashboard/link?token=kwl_…, as the only line on stdout,
    /// and when it expires on stderr. Whoever opens the link first is signed in to the
    /// customer's dashboard (/dashboard) with the given permissions; after that, or after
    /// --ttl seconds, it does nothing. Treat it like a password until then.
    ///
    /// Works on the configured database directly, as `keys create` does: only a hash of
    /// the link is stored there, so every `keyward serve` on that database accepts it,
    /// exactly once. Run it where keyward serve runs (same configuration).
    DashboardLink(DashboardLinkArgs),
    /// Create, list, revoke and clean up API keys on the configured database.
    ///
    /// Works on the database directly, as `migrate` does: a running `keyward serve` on
    /// the same database sees a revoke within a second.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The service credentials vault's master key (see docs/VAULT.md).
    Vault {
        #[command(subcommand)]
        command: VaultCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Write a new random master key (64 hex characters) to a new file with mode 0600.
    GenerateKey(GenerateKeyArgs),
    /// Re-encrypt every service credential under a new master key.
    ///
    /// Reads the credentials with the configured key (vault.master_key or
    /// vault.master_key_file, plus vault.previous_master_key if set) and encrypts them
    /// again under the key in --new-key-file, in batches. Safe to interrupt (Ctrl-C stops
    /// after the current batch) and to run again: it resumes with the credentials still
    /// to do. When it reports "rotation complete", configure the new key and restart.
    RotateKey(RotateKeyArgs),
}

#[derive(Debug, Args)]
pub struct GenerateKeyArgs {
    /// Where to write the key; an existing file is never overwritten.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct RotateKeyArgs {
    /// File holding the new master key (64 hex characters).
    #[arg(long, value_name = "PATH")]
    pub new_key_file: PathBuf,
    /// Credentials re-encrypted per batch.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,
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

#[derive(Debug, Args)]
pub struct DashboardLinkArgs {
    /// The customer whose dashboard the link opens.
    #[arg(long, value_name = "UUID")]
    pub customer: Uuid,
    /// How long the link works, in seconds, 1 to 86400 (24 hours); either way it works
    /// only once.
    #[arg(long, value_name = "SECONDS", default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub ttl: u32,
    /// Comma-separated permissions of the dashboard session (as for `keyward token`)
    /// [default: every customer-API permission].
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub permissions: Option<Vec<String>>,
    /// The user id the session acts as; its changes are audited under it (1 to 255
    /// characters).
    #[arg(long, value_name = "ID", default_value = "keyward-cli")]
    pub subject: String,
    /// Where people reach keyward, e.g. https://keys.example.com [default:
    /// http://SERVER_HOST:SERVER_PORT from server.host and server.port]. Behind a reverse
    /// proxy, or when keyward listens on 0.0.0.0, pass the public URL.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Issue a new API key for a customer and print it (shown only this once).
    ///
    /// The same rules as POST /v1/customer/api-keys: name 1 to 100 characters, 1 to 20
    /// known scopes, an expiry in the future (keys.default_ttl_days applies when none is
    /// given), at most keys.max_per_customer active keys per customer.
    Create(KeysCreateArgs),
    /// List a customer's API keys, newest first (never their secrets).
    List(KeysListArgs),
    /// Revoke an API key: it fails verification from now on, on every instance, and can
    /// never be re-activated. Revoking a revoked key changes nothing.
    Revoke(KeysRevokeArgs),
    /// Delete keys that expired more than keys.expired_retention_days ago and print how
    /// many were deleted.
    Cleanup,
}

#[derive(Debug, Args)]
pub struct KeysCreateArgs {
    /// The customer the key belongs to.
    #[arg(long, value_name = "UUID")]
    pub customer: Uuid,
    /// A name to recognise the key by (1 to 100 characters).
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Comma-separated scopes: requests:read, requests:write, songdb:read,
    /// songdb:write, venues:read, venues:write, systems:read, secrets:read (a :write
    /// scope includes its :read scope).
    #[arg(long, value_name = "A,B", value_delimiter = ',', required = true)]
    pub scopes: Vec<String>,
    /// A longer description (at most 500 characters).
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// When the key stops working, RFC 3339 (e.g. 2027-01-01T00:00:00Z); in the future.
    #[arg(long, value_name = "RFC3339")]
    pub expires_at: Option<String>,
    /// Print the key as JSON (the API's ApiKey fields plus `key`) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KeysListArgs {
    /// The customer whose keys to list.
    #[arg(long, value_name = "UUID")]
    pub customer: Uuid,
    /// Print `{"data": [ApiKey, …]}` as the API shows keys, instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KeysRevokeArgs {
    /// The key's id (the `id` field of the API, the first column of `keys list`).
    #[arg(value_name = "ID")]
    pub id: Uuid,
    /// Print the revoked key as JSON (the API's ApiKey fields) instead of text.
    #[arg(long)]
    pub json: bool,
}
