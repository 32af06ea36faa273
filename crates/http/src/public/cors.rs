//! Cross-origin access to the public singer API (SPEC §8 `public.cors_origins`): a
//! venue's own website may call `/v1/public/…` from its pages. The CORS protocol itself
//! (preflight, `Vary: Origin`, which headers to answer) is actix-cors's; this module
//! only turns the setting into its configuration.

use std::fmt;
use std::str::FromStr;

use actix_cors::Cors;
use actix_web::http::{Method, Uri, header};

use crate::request_id::REQUEST_ID_HEADER;

/// How long a browser may cache a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE_SECONDS: usize = 3600;

/// Which origins may call the public singer API from a browser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    /// None (the default): browsers only let pages of keyward's own origin read the
    /// answers; a preflight is refused with 400.
    #[default]
    None,
    /// Any origin (`*`). The public API takes no credentials, so this exposes nothing
    /// a plain `curl` could not read.
    Any,
    /// These origins exactly (`https://bar.example`, lower-case, no path).
    Listed(Vec<String>),
}

/// A `public.cors_origins` entry that is not an origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidOrigin(String);

impl fmt::Display for InvalidOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an origin: write scheme and host (and port), \
             like https://bar.example or http://localhost:3000, or * alone for any origin",
            self.0
        )
    }
}

impl std::error::Error for InvalidOrigin {}

impl FromStr for CorsOrigins {
    type Err = InvalidOrigin;

    /// A comma-separated list of origins (RFC 6454 §6.2 serialisation: `scheme://host`
    /// with an optional `:port`), or `*`; empty means [`CorsOrigins::None`]. Entries
    /// are trimmed and lower-cased, and one trailing `/` is dropped (browsers send the
    /// origin without it).
    ///
    /// # Errors
    /// The first entry that is not an `http`/`https` origin, or `*` beside others.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let entries: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .collect();
        match entries.as_slice() {
            [] => Ok(Self::None),
            ["*"] => Ok(Self::Any),
            _ => entries
                .iter()
                .map(|entry| origin(entry))
                .collect::<Result<Vec<_>, _>>()
                .map(Self::Listed),
        }
    }
}

/// One origin, normalised, or why not.
fn origin(entry: &str) -> Result<String, InvalidOrigin> {
    let invalid = || InvalidOrigin(entry.to_owned());
    let normalised = entry
        .strip_suffix('/')
        .unwrap_or(entry)
        .to_ascii_lowercase();
    if normalised.contains('#') {
        return Err(invalid());
    }
    let uri: Uri = normalised.parse().map_err(|_| invalid())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let authority = uri.authority().ok_or_else(invalid)?;
    // A port must be a number a browser can send (`port_u16` is `None` past 65535).
    let has_port = authority
        .as_str()
        .rsplit_once(':')
        .is_some_and(|(_, tail)| !tail.contains(']'));
    let port_ok = !has_port || authority.port_u16().is_some();
    let bare = uri.path_and_query().is_none_or(|rest| rest.as_str() == "/")
        && !authority.as_str().contains('@')
        && !authority.host().is_empty()
        && port_ok;
    if scheme_ok && bare {
        Ok(normalised)
    } else {
        Err(invalid())
    }
}

impl CorsOrigins {
    /// The middleware for the public API's scope: `GET` and `POST` with `Content-Type`
    /// and `Accept`; `Retry-After` and `X-Request-Id` readable by the calling page;
    /// preflights cached for an hour. An origin not listed gets its answer without CORS
    /// headers (so its browser withholds it), and a preflight from it is refused.
    pub fn middleware(&self) -> Cors {
        let cors = Cors::default()
            .allowed_methods([Method::GET, Method::POST])
            .allowed_headers([header::CONTENT_TYPE, header::ACCEPT])
            .expose_headers([header::RETRY_AFTER, REQUEST_ID_HEADER])
            .max_age(PREFLIGHT_MAX_AGE_SECONDS);
        match self {
            Self::None => cors,
            Self::Any => cors.allow_any_origin().send_wildcard(),
            Self::Listed(origins) => origins
                .iter()
                .fold(cors, |cors, origin| cors.allowed_origin(origin)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<CorsOrigins, InvalidOrigin> {
        text.parse()
    }

    #[test]
    fn empty_means_none_and_star_alone_means_any() {
        assert_eq!(parse(""), Ok(CorsOrigins::None));
        assert_eq!(parse(" , "), Ok(CorsOrigins::None));
        assert_eq!(parse(" * "), Ok(CorsOrigins::Any));
    }

    #[test]
    fn listed_origins_are_trimmed_and_normalised() {
        assert_eq!(
            parse("https://Bar.Example/, http://localhost:3000"),
            Ok(CorsOrigins::Listed(vec![
                "https://bar.example".to_owned(),
                "http://localhost:3000".to_owned()
            ]))
        );
    }

    #[test]
    fn anything_but_an_origin_is_refused_by_name() {
        for bad in [
            "bar.example",
            "ftp://bar.example",
            "https://bar.example/page",
            "https://bar.example?x=1",
            "https://user@bar.example",
            "*, https://bar.example",
            "https://",
            "https://bar.example#x",
            "https://bar.example:99999",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.to_string().contains("is not an origin"), "{bad}: {err}");
        }
    }
}
