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
//! - **One value per JSON key** ([`parse_unique_keys`]): a document that names a key
//!   twice is refused rather than silently keeping the last value (SPEC §9, the OpenKJ
//!   endpoint; typed bodies get the same from serde's derived `Deserialize`).

use std::fmt::{self, Write as _};

use actix_web::dev::ServiceRequest;
use actix_web::http::Method;
use actix_web::{HttpMessage, HttpRequest};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

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
    memchr::memmem::find(body, ESCAPED_NUL).is_some()
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

/// Why [`parse_unique_keys`] refused a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrictJsonError {
    /// Not JSON at all; the parser's message with line and column.
    #[error("request body is not valid JSON: {0}")]
    Syntax(String),
    /// Valid JSON in which an object names a key twice.
    #[error("request body names a key twice: {0}")]
    DuplicateKey(String),
}

impl From<serde_json::Error> for StrictJsonError {
    fn from(err: serde_json::Error) -> Self {
        // The only data error the visitor below raises is the duplicate key.
        if err.is_data() {
            Self::DuplicateKey(err.to_string())
        } else {
            Self::Syntax(err.to_string())
        }
    }
}

/// Parses a JSON document like `serde_json::from_slice::<Value>`, but refuses one in
/// which an object names the same key twice (at any depth): RFC 8259 §4 leaves such a
/// document's meaning to the parser, and "the last one wins" would let
/// `{"command": "getSerial", "command": "clearRequests"}` mean something its first
/// reader did not see.
///
/// # Errors
/// [`StrictJsonError::Syntax`] for invalid JSON (or text after it),
/// [`StrictJsonError::DuplicateKey`] naming the key, line and column.
pub fn parse_unique_keys(body: &[u8]) -> Result<Value, StrictJsonError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = UniqueKeys.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// A `serde_json::Value` visitor that refuses duplicate keys.
#[derive(Clone, Copy)]
struct UniqueKeys;

impl<'de> DeserializeSeed<'de> for UniqueKeys {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        // serde_json never hands a parser-produced non-finite number to a visitor.
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            let value = map.next_value_seed(self)?;
            if let Some(name) = insert_new(&mut members, name, value) {
                return Err(de::Error::custom(format_args!("duplicate key {name:?}")));
            }
        }
        Ok(Value::Object(members))
    }
}

/// Inserts unless `name` is taken; gives the name back when it was.
fn insert_new(members: &mut Map<String, Value>, name: String, value: Value) -> Option<String> {
    match members.entry(name) {
        serde_json::map::Entry::Vacant(slot) => {
            slot.insert(value);
            None
        }
        serde_json::map::Entry::Occupied(taken) => Some(taken.key().clone()),
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use serde_json::json;

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

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        let top = parse_unique_keys(br#"{"command": "getSerial", "command": "clearRequests"}"#);
        let nested = parse_unique_keys(br#"{"songs": [{"artist": "a", "artist": "b"}]}"#);

        assert!(
            matches!(&top, Err(StrictJsonError::DuplicateKey(m)) if m.contains(r#"duplicate key "command""#)),
            "{top:?}"
        );
        assert!(
            matches!(&nested, Err(StrictJsonError::DuplicateKey(m)) if m.contains(r#"duplicate key "artist""#)),
            "{nested:?}"
        );
    }

    #[test]
    fn unique_keys_parse_to_the_same_value_as_serde_json() {
        let body =
            br#"{"a": [1, -2, 3.5, 18446744073709551615, true, null, "x\u00e9"], "b": {"c": {}}}"#;

        assert_eq!(
            parse_unique_keys(body).unwrap(),
            serde_json::from_slice::<Value>(body).unwrap()
        );
        assert_eq!(parse_unique_keys(b"[1, 2]").unwrap(), json!([1, 2]));
    }

    #[test]
    fn trailing_text_and_invalid_json_are_refused() {
        assert!(matches!(
            parse_unique_keys(br#"{"a": 1} x"#),
            Err(StrictJsonError::Syntax(_))
        ));
        assert!(matches!(
            parse_unique_keys(br#"{"a": "#),
            Err(StrictJsonError::Syntax(_))
        ));
    }
}
