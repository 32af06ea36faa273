//! The seam between database failures and the domain's [`StorageError`]: which failures
//! mean "try again later" (`Unavailable` → 503), which break a uniqueness rule
//! (`Conflict` → 409), and everything else (`Other` → 500). Also [`ConnectError`], the
//! start-up failure an operator reads.
//!
//! Sources are kept for logs. They are safe to log: Diesel's `Display`/`Debug` of a
//! database error show only the primary message, never PostgreSQL's `DETAIL` (which for
//! a unique or check violation repeats the row's values, key hashes included).

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error as DieselError};
use keyward_domain::ports::StorageError;

use crate::database_url::Backend;

/// Why [`crate::DieselStore::connect`] failed. Its `Display` is one line naming the
/// backend and the host (or SQLite path) and never shows a password.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL selects no supported backend. Only the scheme is kept: the rest of the URL
    /// may hold a password.
    #[error(
        "unsupported database URL scheme `{scheme}` (expected sqlite://PATH, postgres://… or postgresql://…)"
    )]
    UnsupportedScheme { scheme: String },
    /// The URL selects a backend but cannot be used as written.
    #[error("invalid {backend} database URL: {reason}")]
    InvalidUrl { backend: Backend, reason: String },
    /// The database could not be opened or reached, or the pool could not be built.
    #[error("cannot open {backend} database at {target}: {reason}")]
    Unreachable {
        backend: Backend,
        /// Host(s), port(s) and database name, or the SQLite file path.
        target: String,
        /// The driver's message, on one line, with any password scrubbed.
        reason: String,
    },
}

/// A unique constraint and the domain rule it enforces, found by PostgreSQL's constraint
/// name or by the `table.column` SQLite names in its message. Later repositories add
/// their constraints here.
struct UniqueRule {
    postgres_constraint: &'static str,
    sqlite_columns: &'static str,
    rule: &'static str,
}

const UNIQUE_RULES: &[UniqueRule] = &[
    // The contract names every key-identity clash `key_hash`, the id included.
    UniqueRule {
        postgres_constraint: "api_keys_pkey",
        sqlite_columns: "api_keys.id",
        rule: "key_hash",
    },
    UniqueRule {
        postgres_constraint: "api_keys_key_hash_key",
        sqlite_columns: "api_keys.key_hash",
        rule: "key_hash",
    },
    UniqueRule {
        postgres_constraint: "api_keys_retired_key_hash_key",
        sqlite_columns: "api_keys.retired_key_hash",
        rule: "key_hash",
    },
    UniqueRule {
        postgres_constraint: "venues_url_name_key",
        sqlite_columns: "venues.url_name",
        rule: "url_name",
    },
    UniqueRule {
        postgres_constraint: "venues_customer_openkj_venue_id_key",
        sqlite_columns: "venues.customer_id, venues.openkj_venue_id",
        rule: "openkj_venue_id",
    },
    UniqueRule {
        postgres_constraint: "venues_pkey",
        sqlite_columns: "venues.id",
        rule: "venue_id",
    },
    UniqueRule {
        postgres_constraint: "service_credentials_pkey",
        sqlite_columns: "service_credentials.id",
        rule: "id",
    },
    UniqueRule {
        postgres_constraint: "audit_events_pkey",
        sqlite_columns: "audit_events.id",
        rule: "id",
    },
    UniqueRule {
        postgres_constraint: "dashboard_sign_in_links_pkey",
        sqlite_columns: "dashboard_sign_in_links.token_hash",
        rule: "token_hash",
    },
    UniqueRule {
        postgres_constraint: "service_credentials_owner_provider_key",
        sqlite_columns: "service_credentials.owner_customer_id, service_credentials.provider",
        rule: "provider",
    },
];

/// The rule name for a unique constraint not listed in [`UNIQUE_RULES`].
const UNKNOWN_UNIQUE_RULE: &str = "unique";

const SQLITE_UNIQUE_PREFIX: &str = "UNIQUE constraint failed: ";

/// Messages of failures that go away by themselves (busy file, server restarting,
/// connection dropped), matched by prefix. Diesel reports them as `Unknown`.
const TRANSIENT_MESSAGES: &[&str] = &[
    // SQLite, after busy_timeout ran out or when the file cannot be opened.
    "database is locked",
    "database table is locked",
    "unable to open database file",
    // PostgreSQL: restart, failover, connection limits, administrator kills.
    "terminating connection",
    "the database system is",
    "sorry, too many clients",
    "remaining connection slots are reserved",
    "canceling statement due to conflict with recovery",
    "connection closed",
    // PostgreSQL's own `statement_timeout` (set on every pooled connection): the database
    // is too slow right now.
    "canceling statement due to statement timeout",
];

/// Classifies a Diesel error for the domain.
pub(crate) fn storage_error(err: DieselError) -> StorageError {
    match &err {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            StorageError::Conflict(unique_rule(info.as_ref()))
        }
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        )
        | DieselError::BrokenTransactionManager => StorageError::unavailable(err),
        DieselError::DatabaseError(_, info) if is_transient(info.message()) => {
            StorageError::unavailable(err)
        }
        _ => StorageError::other(err),
    }
}

/// Classifies a failure to get a connection from the pool: every one of them means the
/// database cannot be reached right now, except a misbuilt pool.
pub(crate) fn pool_error(err: CheckoutError) -> StorageError {
    match err {
        CheckoutError::Pool(deadpool::managed::PoolError::NoRuntimeSpecified) => {
            StorageError::other(err)
        }
        CheckoutError::Pool(deadpool::managed::PoolError::Backend(
            diesel_async::pooled_connection::PoolError::QueryError(query),
        )) => storage_error(query),
        _ => StorageError::unavailable(err),
    }
}

pub(crate) type PoolError = diesel_async::pooled_connection::deadpool::PoolError;

/// Why no connection could be had from the pool.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CheckoutError {
    /// deadpool's own failure, a timeout of one phase of the checkout included.
    #[error(transparent)]
    Pool(PoolError),
    /// The checkout as a whole took longer than the connect timeout.
    #[error("no database connection within {0:?} (connect timeout)")]
    TimedOut(std::time::Duration),
}

/// What an operation that PostgreSQL did not finish within the statement timeout fails
/// with: a closed connection (the caller closes it), so it is `Unavailable`.
pub(crate) fn statement_timed_out(limit: std::time::Duration) -> DieselError {
    DieselError::DatabaseError(
        DatabaseErrorKind::ClosedConnection,
        Box::new(format!(
            "no answer from the database within {limit:?} (statement timeout); connection closed"
        )),
    )
}

/// `err` and its causes as one line (`a: b: c`), skipping causes its text already shows.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = cause.source();
    }
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn unique_rule(info: &(dyn DatabaseErrorInformation + Send + Sync)) -> &'static str {
    let sqlite_columns = info.message().strip_prefix(SQLITE_UNIQUE_PREFIX);
    UNIQUE_RULES
        .iter()
        .find(|known| {
            info.constraint_name() == Some(known.postgres_constraint)
                || sqlite_columns == Some(known.sqlite_columns)
        })
        .map_or(UNKNOWN_UNIQUE_RULE, |known| known.rule)
}

fn is_transient(message: &str) -> bool {
    TRANSIENT_MESSAGES
        .iter()
        .any(|prefix| message.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database_error(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn sqlite_unique_violations_name_the_rule() {
        let err = database_error(
            DatabaseErrorKind::UniqueViolation,
            "UNIQUE constraint failed: api_keys.retired_key_hash",
        );
        assert!(matches!(
            storage_error(err),
            StorageError::Conflict("key_hash")
        ));
    }

    #[test]
    fn unknown_unique_violations_are_still_conflicts() {
        let err = database_error(
            DatabaseErrorKind::UniqueViolation,
            "UNIQUE constraint failed: songs.title",
        );
        assert!(matches!(
            storage_error(err),
            StorageError::Conflict(UNKNOWN_UNIQUE_RULE)
        ));
    }

    #[test]
    fn lost_connections_and_busy_files_are_unavailable() {
        for err in [
            database_error(DatabaseErrorKind::ClosedConnection, "server closed"),
            database_error(DatabaseErrorKind::UnableToSendCommand, "connection closed"),
            database_error(DatabaseErrorKind::Unknown, "database is locked"),
            database_error(
                DatabaseErrorKind::Unknown,
                "terminating connection due to administrator command",
            ),
            database_error(
                DatabaseErrorKind::Unknown,
                "canceling statement due to statement timeout",
            ),
            statement_timed_out(std::time::Duration::from_secs(1)),
            DieselError::BrokenTransactionManager,
        ] {
            let shown = err.to_string();
            assert!(
                matches!(storage_error(err), StorageError::Unavailable(_)),
                "{shown}"
            );
        }
    }

    #[test]
    fn other_failures_are_other() {
        for err in [
            database_error(DatabaseErrorKind::CheckViolation, "CHECK constraint failed"),
            database_error(DatabaseErrorKind::Unknown, "no such table: api_keys"),
            DieselError::NotFound,
        ] {
            assert!(matches!(storage_error(err), StorageError::Other(_)));
        }
    }
}
