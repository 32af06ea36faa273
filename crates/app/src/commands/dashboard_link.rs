//! `keyward dashboard-link` (SPEC §15): issues a one-time sign-in link to a customer's
//! dashboard on the configured database and prints it, alone, on stdout.
//!
//! The link is `{base}/dashboard/link?token=kwl_…`; the token is base62, so it needs no
//! escaping in a URL. Only its SHA-256 is stored (ADR 0062), so the link cannot be printed
//! again: if stdout cannot be written, it is simply never used and expires. Like the
//! `keys` commands, this one works on the database a running service uses and never
//! creates a SQLite file ([`storage::open_existing`]).

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

use keyward_domain::CustomerId;
use keyward_domain::ports::{OsSecretGenerator, SystemClock};
use keyward_domain::services::{SignInLinkError, SignInLinkService};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::cli::DashboardLinkArgs;
use crate::commands::keys::emit;
use crate::commands::token;
use crate::error::AppError;
use crate::settings::Settings;
use crate::storage;

/// The path the dashboard redeems links at.
pub const LINK_PATH: &str = "/dashboard/link";

/// The base URL links start with: `given` (an `http://` or `https://` URL, perhaps with a
/// path, without a query or fragment; a trailing `/` dropped), or
/// `http://{server.host}:{server.port}` (an IPv6 host in brackets).
///
/// # Errors
/// `Usage` when `given` is not such a URL.
pub fn base_url(given: Option<&str>, settings: &Settings) -> Result<String, AppError> {
    let Some(given) = given else {
        let host = &settings.server.host;
        let host = if host.parse::<Ipv6Addr>().is_ok() {
            format!("[{host}]")
        } else {
            host.clone()
        };
        return Ok(format!("http://{host}:{}", settings.server.port));
    };
    let url = given.trim().trim_end_matches('/');
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(rest)
            if !rest.is_empty()
                && !rest.starts_with('/')
                && !rest.contains(['?', '#'])
                && !rest.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(url.to_owned())
        }
        _ => Err(AppError::Usage(format!(
            "--base-url: `{given}` is not an http:// or https:// URL without a query, \
             e.g. https://keys.example.com"
        ))),
    }
}

/// The link for `token` under `base` (as [`base_url`] returns it).
pub fn link_url(base: &str, token: &str) -> String {
    format!("{base}{LINK_PATH}?token={token}")
}

/// The note on stderr: how long the link works, to the second (rounded down, so never
/// later than the link really works).
fn validity_note(ttl_seconds: u32, expires_at: OffsetDateTime) -> String {
    let until = expires_at
        .replace_nanosecond(0)
        .unwrap_or(expires_at)
        .format(&Rfc3339)
        .unwrap_or_else(|_| expires_at.to_string());
    let unit = if ttl_seconds == 1 {
        "second"
    } else {
        "seconds"
    };
    format!("valid once, for {ttl_seconds} {unit}, until {until}")
}

fn link_error(err: SignInLinkError) -> AppError {
    match err {
        SignInLinkError::Storage(err) => AppError::Storage(err),
        SignInLinkError::InvalidSubject => AppError::Usage(format!("--subject: {err}")),
        SignInLinkError::InvalidTtl => AppError::Usage(format!("--ttl: {err}")),
        SignInLinkError::InvalidPermission => AppError::Usage(format!("--permissions: {err}")),
        SignInLinkError::Random(_) => AppError::Usage(err.to_string()),
    }
}

/// Issues the link and prints it.
///
/// # Errors
/// `Usage` for an unknown permission, a bad `--base-url` or `--subject`, or a SQLite
/// database that does not exist; `Database`/`Storage` when the database cannot be used;
/// `Usage` when stdout cannot be written.
pub async fn run(args: &DashboardLinkArgs, settings: &Settings) -> Result<(), AppError> {
    let permissions = token::permissions(args.permissions.as_deref())?;
    let base = base_url(args.base_url.as_deref(), settings)?;
    if args.base_url.is_none()
        && settings
            .server
            .host
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_unspecified())
    {
        eprintln!(
            "note: server.host is {}, which nobody can open; pass --base-url with the \
             address people reach keyward at",
            settings.server.host
        );
    }
    let store = storage::open_existing(settings).await?;
    let service = SignInLinkService::new(
        Arc::new(store),
        Arc::new(SystemClock),
        Arc::new(OsSecretGenerator::default()),
    );
    let issued = service
        .issue(
            CustomerId::from_uuid(args.customer),
            &args.subject,
            permissions,
            Duration::seconds(i64::from(args.ttl)),
        )
        .await
        .map_err(link_error)?;
    emit(&link_url(&base, issued.token.expose()))?;
    eprintln!("{}", validity_note(args.ttl, issued.expires_at));
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn settings(host: &str, port: u16) -> Settings {
        let mut settings = Settings::built_in().unwrap();
        settings.server.host = host.to_owned();
        settings.server.port = port;
        settings
    }

    #[test]
    fn the_default_base_url_is_the_configured_listen_address() {
        assert_eq!(
            base_url(None, &settings("127.0.0.1", 8080)).unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            base_url(None, &settings("::1", 9000)).unwrap(),
            "http://[::1]:9000"
        );
        assert_eq!(
            base_url(None, &settings("keys.internal", 80)).unwrap(),
            "http://keys.internal:80"
        );
    }

    #[test]
    fn a_given_base_url_is_kept_without_its_trailing_slash() {
        let settings = settings("127.0.0.1", 8080);
        for (given, expected) in [
            ("https://keys.example.com", "https://keys.example.com"),
            ("https://keys.example.com/", "https://keys.example.com"),
            (
                "http://10.0.0.5:8080/keyward/",
                "http://10.0.0.5:8080/keyward",
            ),
            ("HTTPS://Keys.Example.com", "HTTPS://Keys.Example.com"),
        ] {
            assert_eq!(base_url(Some(given), &settings).unwrap(), expected);
        }
    }

    #[test]
    fn a_base_url_that_is_no_http_url_is_refused_naming_the_flag() {
        let settings = settings("127.0.0.1", 8080);
        for given in [
            "keys.example.com",
            "ftp://keys.example.com",
            "https://",
            "https:///path",
            "https://keys.example.com/?a=b",
            "https://keys.example.com/#top",
            "https://keys example.com",
        ] {
            let err = base_url(Some(given), &settings).unwrap_err().to_string();
            assert!(err.starts_with("--base-url: "), "{given}: {err}");
        }
    }

    #[test]
    fn the_link_is_the_base_the_path_and_the_token() {
        assert_eq!(
            link_url("https://keys.example.com", "kwl_abc"),
            "https://keys.example.com/dashboard/link?token=kwl_abc"
        );
    }

    #[test]
    fn the_note_says_once_how_long_and_until_when_to_the_second() {
        assert_eq!(
            validity_note(600, datetime!(2026-06-01 12:10:00.999999 UTC)),
            "valid once, for 600 seconds, until 2026-06-01T12:10:00Z"
        );
        assert_eq!(
            validity_note(1, datetime!(2026-06-01 12:00:01 UTC)),
            "valid once, for 1 second, until 2026-06-01T12:00:01Z"
        );
    }
}
