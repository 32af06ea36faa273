//! The input boundary: rules every request meets before a handler sees it.
//!
//! - **No U+0000 in text** (SPEC §2). PostgreSQL cannot store NUL in `text` while SQLite
//!   silently can, so a NUL that reached storage would be a 500 on one backend and
//!   stored on the other. It is refused here instead, once, for every string a client
//!   can send: JSON bodies ([`json_nul_field`], used by the body extractors and the
//!   OpenKJ endpoint), query strings and paths ([`screen`]). Header values cannot
//!   carry NUL at all (the HTTP parser refuses them), and the JWT claims that are kept
//!   are checked by the bearer-token extractor.
//! - **`HEAD` is `GET` without a body** (SPEC §5): [`screen`] routes a `HEAD` request
//!   as `GET`; the HTTP/1 encoder still knows the request was `HEAD` and sends the
//!   status and headers (with `Content-Length`) but no body.
//! - **One value per JSON key**: a document that names a key twice is refused rather
//!   than silently keeping the last value (SPEC §9: the OpenKJ endpoint parses with
//!   [`crate::strict_json`]; typed bodies get the same from serde's derived
//!   `Deserialize`).

use std::fmt::Write as _;
use std::sync::LazyLock;

use actix_web::dev::ServiceRequest;
use actix_web::http::Method;
use actix_web::{HttpMessage, HttpRequest};
use memchr::memmem;
use serde_json::Value;

use crate::error::ApiError;

/// What a field holding U+0000 is told (after its name).
pub const NUL_MESSAGE: &str = "must not contain U+0000";

/// The only way U+0000 can be written inside a JSON string: a raw NUL byte is not valid
/// JSON (RFC 8259 §7: control characters must be escaped), and `\u0000` has no other
/// spelling because hex digit `0` has no case.
const ESCAPED_NUL: &[u8] = b"\\u0000";

/// The field of a JSON document whose string (or member name) holds U+0000, as a path
/// in the form `serde_path_to_error` uses (`singer`, `songs[3].artist`; `body` for the
/// document itself or a member name at its top), or `None` when there is none.
///
/// A document without the six bytes `\u0000` is answered by one vectorised scan; only
/// one that has them is parsed to find the field. A document that does not parse is
/// `None`: the caller's own parse reports the syntax error.
pub fn json_nul_field(body: &[u8]) -> Option<String> {
    if !may_hold_nul(body) {
        return None;
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    value_nul_field(&value)
}

/// Whether a JSON document may hold U+0000 in a string: `false` is certain, `true`
/// means [`value_nul_field`] has to look (the bytes may be an escaped backslash
/// followed by `u0000`).
pub fn may_hold_nul(body: &[u8]) -> bool {
    // Built once: `memmem::find` would build its searcher on every call.
    static FINDER: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(ESCAPED_NUL));
    FINDER.find(body).is_some()
}

/// The path (as [`json_nul_field`] gives it) of the first string or member name in
/// `value` that holds U+0000.
pub fn value_nul_field(value: &Value) -> Option<String> {
    let mut path = String::new();
    if !nul_in(value, &mut path) {
        return None;
    }
    Some(if path.is_empty() {
        "body".to_owned()
    } else {
        path
    })
}

/// Depth-first search for a string or member name with U+0000; on `true`, `path` is
/// where it was found.
fn nul_in(value: &Value, path: &mut String) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().enumerate().any(|(index, item)| {
            let len = path.len();
            let _ = write!(path, "[{index}]");
            let found = nul_in(item, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        Value::Object(members) => members.iter().any(|(name, item)| {
            if name.contains('\0') {
                // The name itself cannot be printed faithfully; its parent is named.
                return true;
            }
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(name);
            let found = nul_in(item, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// The query parameter whose name or value decodes to text holding U+0000 (`query`
/// when it is the name), or `None`. `%00` is the only way to write one in a URL (the
/// HTTP parser refuses raw control bytes), so a query without it is not decoded.
pub fn query_nul_field(query: &str) -> Option<String> {
    if !query.contains("%00") {
        return None;
    }
    form_urlencoded::parse(query.as_bytes()).find_map(|(name, value)| {
        if name.contains('\0') {
            Some("query".to_owned())
        } else {
            value.contains('\0').then(|| name.into_owned())
        }
    })
}

/// Applies the request-level rules before routing: `HEAD` is routed as `GET`, and a
/// path or query string that decodes to U+0000 is refused. The OpenKJ endpoint (`/`
/// and `/openkj…`) reads neither its path nor a query string and must answer HTTP 200
/// to everything (SPEC §9), so only the `HEAD` rule applies to it.
///
/// # Errors
/// 400 `validation_error` naming `path` or the query parameter.
pub fn screen(req: &mut ServiceRequest) -> Result<(), ApiError> {
    if req.method() == Method::HEAD {
        // `head_mut` needs the only reference to the request, which holds because this
        // runs in the outermost middleware, before anything clones it.
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(RoutedAsGet);
    }
    let path = req.path();
    if path == "/" || path.starts_with("/openkj") {
        return Ok(());
    }
    // `%00` in the still-encoded path is exactly a NUL after decoding: percent-escapes
    // do not nest, and `%2500` decodes to the text `%00`.
    if path.contains("%00") {
        return Err(ApiError::invalid_field("path", NUL_MESSAGE));
    }
    match query_nul_field(req.query_string()) {
        Some(field) => Err(ApiError::invalid_field(&field, NUL_MESSAGE)),
        None => Ok(()),
    }
}

/// Marks a `HEAD` request that [`screen`] routes as `GET`.
#[derive(Debug, Clone, Copy)]
struct RoutedAsGet;

/// The method the client sent: `HEAD` for a request [`screen`] routed as `GET` (for
/// messages such as "HEAD is not allowed on …").
pub fn original_method(req: &HttpRequest) -> Method {
    if req.extensions().contains::<RoutedAsGet>() {
        Method::HEAD
    } else {
        req.method().clone()
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn a_nul_in_a_nested_string_is_named_by_its_path() {
        let body =
            br#"{"name": "ok", "songs": [{"artist": "A", "title": "B"}, {"artist": "x\u0000y"}]}"#;

        assert_eq!(json_nul_field(body).as_deref(), Some("songs[1].artist"));
    }

    #[test]
    fn a_nul_at_the_top_or_in_a_member_name_names_the_parent() {
        assert_eq!(json_nul_field(br#""\u0000""#).as_deref(), Some("body"));
        assert_eq!(
            json_nul_field(br#"{"a\u0000b": 1}"#).as_deref(),
            Some("body")
        );
        assert_eq!(
            json_nul_field(br#"{"outer": {"a\u0000b": 1}}"#).as_deref(),
            Some("outer")
        );
    }

    #[test]
    fn an_escaped_backslash_before_u0000_is_ordinary_text() {
        // The JSON text `\\u0000` is a backslash followed by `u0000`: no NUL.
        assert_eq!(json_nul_field(br#"{"singer": "\\u0000"}"#), None);
        assert_eq!(json_nul_field(br#"{"singer": "Alice"}"#), None);
    }

    #[test]
    fn unparseable_documents_are_left_to_the_caller() {
        assert_eq!(json_nul_field(br#"{"singer": "\u0000"#), None);
    }

    #[test]
    fn query_nul_names_the_parameter() {
        assert_eq!(query_nul_field("q=a%00b&page=1").as_deref(), Some("q"));
        assert_eq!(query_nul_field("page=1&q%00=x").as_deref(), Some("query"));
        assert_eq!(query_nul_field("q=%2500"), None);
        assert_eq!(query_nul_field("q=plain"), None);
    }

    #[test]
    fn screen_refuses_nul_in_path_and_query_but_not_on_openkj() {
        let screened = |uri: &str| screen(&mut TestRequest::get().uri(uri).to_srv_request());

        assert_eq!(
            screened("/v1/public/venues/a%00b").unwrap_err().detail(),
            "path: must not contain U+0000"
        );
        assert_eq!(
            screened("/v1/songdb?q=%00").unwrap_err().detail(),
            "q: must not contain U+0000"
        );
        assert!(screened("/v1/songdb?q=%2500").is_ok());
        assert!(screened("/openkj/api?x=%00").is_ok());
        assert!(screened("/?x=%00").is_ok());
    }

    #[test]
    fn screen_routes_head_as_get() {
        let mut req = TestRequest::default()
            .method(Method::HEAD)
            .uri("/health")
            .to_srv_request();

        screen(&mut req).unwrap();

        assert_eq!(req.method(), Method::GET);
        assert_eq!(original_method(req.request()), Method::HEAD);
    }
}
