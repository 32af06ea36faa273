//! Reading the database URL: which backend it selects, where that database is (for
//! messages), and which password must never be shown.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::ConnectError;

/// The database backend a [`crate::DieselStore`] talks to, chosen from the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// `sqlite://PATH` (or `sqlite:PATH`): an embedded database file.
    Sqlite,
    /// `postgres://…` or `postgresql://…`.
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// A parsed database URL.
#[derive(Clone)]
pub(crate) enum DatabaseUrl {
    Sqlite {
        path: PathBuf,
    },
    Postgres {
        /// The URL as given, for the driver. Contains the password: never print it.
        url: String,
        /// `host:port[,host:port…]/dbname`, safe to print.
        target: String,
        /// The password as written in the URL and as decoded, to scrub from driver errors.
        secrets: Vec<String>,
    },
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({} at {})", self.backend(), self.target())
    }
}

const MEMORY: &str = ":memory:";

impl DatabaseUrl {
    pub(crate) fn parse(url: &str) -> Result<Self, ConnectError> {
        let url = url.trim();
        if let Some(rest) = url.strip_prefix("sqlite:") {
            return Self::sqlite(rest.strip_prefix("//").unwrap_or(rest));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Self::postgres(url);
        }
        Err(ConnectError::UnsupportedScheme {
            scheme: scheme_of(url),
        })
    }

    fn sqlite(path: &str) -> Result<Self, ConnectError> {
        let invalid = |reason: &str| ConnectError::InvalidUrl {
            backend: Backend::Sqlite,
            reason: reason.to_owned(),
        };
        if path.is_empty() {
            return Err(invalid("the URL names no file (use sqlite://PATH)"));
        }
        // Each pooled connection would open its own, empty in-memory database.
        if path == MEMORY || path.starts_with("file::memory:") || path.contains("mode=memory") {
            return Err(invalid(
                "in-memory SQLite is not supported; use a file (sqlite://PATH) or the memory store",
            ));
        }
        Ok(Self::Sqlite {
            path: PathBuf::from(path),
        })
    }

    fn postgres(url: &str) -> Result<Self, ConnectError> {
        let mut secrets: Vec<String> = raw_password(url).into_iter().collect();
        let config =
            tokio_postgres::Config::from_str(url).map_err(|err| ConnectError::InvalidUrl {
                backend: Backend::Postgres,
                reason: scrub(&err.to_string(), &secrets),
            })?;
        if let Some(password) = config.get_password() {
            secrets.push(String::from_utf8_lossy(password).into_owned());
        }
        secrets.retain(|s| !s.is_empty());
        Ok(Self::Postgres {
            url: url.to_owned(),
            target: postgres_target(&config),
            secrets,
        })
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite { .. } => Backend::Sqlite,
            DatabaseUrl::Postgres { .. } => Backend::Postgres,
        }
    }

    /// Where the database is, safe to print: the file path, or hosts, ports and name.
    pub(crate) fn target(&self) -> String {
        match self {
            DatabaseUrl::Sqlite { path } => path.display().to_string(),
            DatabaseUrl::Postgres { target, .. } => target.clone(),
        }
    }

    /// `message` with any password from the URL replaced, on one line.
    pub(crate) fn scrub(&self, message: &str) -> String {
        match self {
            DatabaseUrl::Sqlite { .. } => scrub(message, &[]),
            DatabaseUrl::Postgres { secrets, .. } => scrub(message, secrets),
        }
    }
}

fn postgres_target(config: &tokio_postgres::Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match host {
                tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(dir) => format!("{}:{port}", dir.display()),
            }
        })
        .collect();
    let hosts = if hosts.is_empty() {
        "(no host)".to_owned()
    } else {
        hosts.join(",")
    };
    match config.get_dbname() {
        Some(db) => format!("{hosts}/{db}"),
        None => hosts,
    }
}

/// The scheme, for an error message; never more of the URL than that.
fn scheme_of(url: &str) -> String {
    match url.split_once(':') {
        Some((scheme, _))
            if !scheme.is_empty()
                && scheme.len() <= 20
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c)) =>
        {
            scheme.to_owned()
        }
        _ => "(none)".to_owned(),
    }
}

/// The password between `user:` and `@` in the URL's authority, as written.
fn raw_password(url: &str) -> Option<String> {
    let after_scheme = url.split_once("://")?.1;
    let authority = after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or(after_scheme);
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    Some(password.to_owned())
}

fn scrub(message: &str, secrets: &[String]) -> String {
    let mut clean = message.split_whitespace().collect::<Vec<_>>().join(" ");
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        clean = clean.replace(secret.as_str(), "[redacted]");
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_the_file() {
        for (url, path) in [
            ("sqlite://data/keyward.db", "data/keyward.db"),
            ("sqlite:///var/lib/keyward.db", "/var/lib/keyward.db"),
            ("sqlite:keyward.db", "keyward.db"),
        ] {
            let parsed = DatabaseUrl::parse(url).unwrap();
            assert_eq!(parsed.backend(), Backend::Sqlite);
            assert_eq!(parsed.target(), path);
        }
    }

    #[test]
    fn in_memory_and_empty_sqlite_urls_are_refused() {
        for url in [
            "sqlite::memory:",
            "sqlite://",
            "sqlite://file::memory:?cache=shared",
        ] {
            let err = DatabaseUrl::parse(url).unwrap_err();
            assert!(
                matches!(
                    err,
                    ConnectError::InvalidUrl {
                        backend: Backend::Sqlite,
                        ..
                    }
                ),
                "{url}: {err}"
            );
        }
    }

    #[test]
    fn postgres_urls_name_hosts_ports_and_database_but_not_the_password() {
        let parsed =
            DatabaseUrl::parse("postgresql://app:s3cr%65t@db.internal:6543/keyward").unwrap();
        assert_eq!(parsed.backend(), Backend::Postgres);
        assert_eq!(parsed.target(), "db.internal:6543/keyward");
        assert_eq!(
            parsed.scrub("auth failed for s3cr%65t and s3cret"),
            "auth failed for [redacted] and [redacted]"
        );
    }

    #[test]
    fn unknown_schemes_are_refused_showing_only_the_scheme() {
        let err = DatabaseUrl::parse("mysql://root:hunter2@localhost/db").unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("`mysql`"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
