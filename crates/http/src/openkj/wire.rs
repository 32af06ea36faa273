//! The OpenKJ wire format: the request body read and parsed by hand (so nothing the
//! client sends can turn into a non-200), field access with the strict types Qt's
//! `QJsonValue` uses, and the reply envelope every command shares:
//! `{"command": <echo>, "error": <bool>, "errorString"?: <string>, …}` with HTTP 200.
//!
//! The body is parsed with [`strict_json`] (strings borrowed from the body, no key named
//! twice) and replies are written straight into their bytes: a `getSerial` poll, the
//! call every running OpenKJ makes every few seconds, allocates only its reply.

use std::borrow::Cow;

use actix_web::http::header::{self, ContentType};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpRequest, HttpResponse};
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;

use crate::boundary;
use crate::strict_json::{self, Json};

/// Largest request body (SPEC §9): a pretty-printed 1000-song batch is ~150 KB.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A command's request object: its members, borrowed from the body.
#[derive(Debug)]
pub struct Fields<'a>(Vec<(Cow<'a, str>, Json<'a>)>);

/// A field that is missing or has the wrong JSON type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{name} must be {expected}")]
    WrongType {
        name: &'static str,
        expected: &'static str,
    },
}

const INT32: &str = "a whole number between -2147483648 and 2147483647";

impl<'a> Fields<'a> {
    /// The raw value; `null` counts as absent.
    pub fn get(&self, name: &str) -> Option<&Json<'a>> {
        self.0
            .iter()
            .find(|(member, _)| member == name)
            .map(|(_, value)| value)
            .filter(|value| **value != Json::Null)
    }

    /// An int32, as Qt's `toInt()` reads one: a JSON number with a whole value in range
    /// (`5` or `5.0`), never a string.
    pub fn int32(&self, name: &'static str) -> Result<Option<i32>, FieldError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        whole_number(value)
            .and_then(|n| i32::try_from(n).ok())
            .map(Some)
            .ok_or(FieldError::WrongType {
                name,
                expected: INT32,
            })
    }

    pub fn required_int32(&self, name: &'static str) -> Result<i32, FieldError> {
        self.int32(name)?.ok_or(FieldError::Missing(name))
    }

    /// A 64-bit integer (song ids, which only singer-side tools send).
    pub fn required_int64(&self, name: &'static str) -> Result<i64, FieldError> {
        let value = self.get(name).ok_or(FieldError::Missing(name))?;
        whole_number(value).ok_or(FieldError::WrongType {
            name,
            expected: "a whole number",
        })
    }

    /// A JSON `true`/`false` (Qt reads `1` and `"true"` as false, so they are refused).
    pub fn required_bool(&self, name: &'static str) -> Result<bool, FieldError> {
        match self.get(name) {
            None => Err(FieldError::Missing(name)),
            Some(Json::Bool(flag)) => Ok(*flag),
            Some(_) => Err(FieldError::WrongType {
                name,
                expected: "true or false",
            }),
        }
    }

    pub fn string(&self, name: &'static str) -> Result<Option<&str>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::String(text)) => Ok(Some(text)),
            Some(_) => Err(FieldError::WrongType {
                name,
                expected: "a string",
            }),
        }
    }

    pub fn required_string(&self, name: &'static str) -> Result<&str, FieldError> {
        self.string(name)?.ok_or(FieldError::Missing(name))
    }

    pub fn required_array(&self, name: &'static str) -> Result<&[Json<'a>], FieldError> {
        match self.get(name) {
            None => Err(FieldError::Missing(name)),
            Some(Json::Array(items)) => Ok(items),
            Some(_) => Err(FieldError::WrongType {
                name,
                expected: "an array",
            }),
        }
    }
}

/// A JSON number holding a whole value that fits in an `i64`.
fn whole_number(value: &Json<'_>) -> Option<i64> {
    let Json::Number(number) = value else {
        return None;
    };
    if let Some(n) = number.as_i64() {
        return Some(n);
    }
    let float = number.as_f64()?;
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_precision_loss,
        reason = "checked: whole and within i64 range before the cast"
    )]
    let whole = (float.fract() == 0.0 && float.abs() < i64::MAX as f64).then_some(float as i64);
    whole
}

/// Why a request body could not even be read as a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("request body exceeds the limit of {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("request body could not be read")]
    Unreadable,
}

/// Reads the body up to [`MAX_BODY_BYTES`], stopping as soon as it is known to be too
/// large (from `Content-Length`, or while streaming). A body that arrives in one chunk
/// (every small command) is kept as it came, without a copy.
pub async fn read_body(
    req: &HttpRequest,
    mut payload: actix_web::web::Payload,
) -> Result<Bytes, BodyError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES) {
        return Err(BodyError::TooLarge);
    }
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        let so_far = joined
            .as_ref()
            .map_or_else(|| first.as_ref().map_or(0, Bytes::len), BytesMut::len);
        if so_far + chunk.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        match (&mut joined, first.take()) {
            (Some(body), _) => body.extend_from_slice(&chunk),
            (None, None) => first = Some(chunk),
            (None, Some(head)) => {
                let mut body =
                    BytesMut::with_capacity(declared.unwrap_or(head.len() + chunk.len()));
                body.extend_from_slice(&head);
                body.extend_from_slice(&chunk);
                joined = Some(body);
            }
        }
    }
    Ok(joined.map_or_else(|| first.unwrap_or_default(), BytesMut::freeze))
}

/// What a body turned out to be.
#[derive(Debug)]
pub enum Parsed<'a> {
    /// A JSON object with a string `command`.
    Command {
        name: Cow<'a, str>,
        fields: Fields<'a>,
    },
    /// Anything else; `command` is what the body named as its command, if anything, so
    /// the error can still be echoed under it.
    Invalid {
        command: Option<Value>,
        reason: String,
    },
}

/// Parses a body as a command object: one JSON object without duplicate keys
/// (SPEC §9) and without U+0000 in any string (SPEC §2; the reason names the field).
pub fn parse(body: &[u8]) -> Parsed<'_> {
    let invalid = |command: Option<Value>, reason: String| Parsed::Invalid { command, reason };
    let document = match strict_json::parse(body) {
        Ok(document) => document,
        Err(err) => return invalid(None, err.to_string()),
    };
    if boundary::may_hold_nul(body) {
        // Rare (a body with the six bytes `\u0000`): the owned tree names the field.
        let value = document.to_value();
        if let Some(field) = boundary::value_nul_field(&value) {
            let command = value.get("command").filter(|_| field != "command").cloned();
            return invalid(command, format!("{field} {}", boundary::NUL_MESSAGE));
        }
    }
    let Json::Object(members) = document else {
        return invalid(None, "request body must be a JSON object".to_owned());
    };
    let fields = Fields(members);
    match fields.0.iter().find(|(member, _)| member == "command") {
        Some((_, Json::String(name))) => Parsed::Command {
            name: name.clone(),
            fields,
        },
        None | Some((_, Json::Null)) => invalid(None, "command is required".to_owned()),
        Some((_, other)) => invalid(
            Some(other.to_value()),
            "command must be a string".to_owned(),
        ),
    }
}

/// The fields of a successful reply after `command` and `error`, written as JSON as they
/// are added (in that order; OpenKJ reads replies into a `QJsonObject`, which does not
/// care).
#[derive(Debug, Default)]
pub struct ReplyFields(Vec<u8>);

impl ReplyFields {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `"name": value`. `name` is a plain ASCII field name of the protocol.
    #[must_use]
    pub fn with(mut self, name: &'static str, value: &(impl Serialize + ?Sized)) -> Self {
        debug_assert!(
            name.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        );
        self.0.extend_from_slice(b",\"");
        self.0.extend_from_slice(name.as_bytes());
        self.0.extend_from_slice(b"\":");
        write_json(&mut self.0, value);
        self
    }
}

/// A successful reply: `{"command": <command>, "error": false, …fields}`.
pub fn success(command: &str, fields: &ReplyFields) -> HttpResponse {
    let mut body = Vec::with_capacity(40 + command.len() + fields.0.len());
    body.extend_from_slice(b"{\"command\":");
    write_json(&mut body, command);
    body.extend_from_slice(b",\"error\":false");
    body.extend_from_slice(&fields.0);
    body.push(b'}');
    respond(body)
}

/// A failed reply: the command echoed when there was one, `error: true`, `errorString`.
pub fn failure(command: Option<&Value>, message: &str) -> HttpResponse {
    let mut body = Vec::with_capacity(64 + message.len());
    body.push(b'{');
    if let Some(command) = command {
        body.extend_from_slice(b"\"command\":");
        write_json(&mut body, command);
        body.push(b',');
    }
    body.extend_from_slice(b"\"error\":true,\"errorString\":");
    write_json(&mut body, message);
    body.push(b'}');
    respond(body)
}

/// Appends `value` as JSON. Only a failing `Serialize` impl could make that fail (none of
/// the reply types has one); `null` then keeps the reply valid JSON.
fn write_json(body: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    if serde_json::to_writer(&mut *body, value).is_err() {
        body.extend_from_slice(b"null");
    }
}

/// Always HTTP 200: OpenKJ drops every non-2xx reply without reading it.
fn respond(body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body)
}

/// The members of `object` as a command's fields (tests only: the text is leaked so the
/// fields can borrow from it).
#[cfg(test)]
pub(crate) fn test_fields(object: &Value) -> Fields<'static> {
    let text: &'static str = Box::leak(object.to_string().into_boxed_str());
    match strict_json::parse(text.as_bytes()) {
        Ok(Json::Object(members)) => Fields(members),
        _ => Fields(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(value: &Value) -> Fields<'static> {
        test_fields(value)
    }

    #[test]
    fn int32_accepts_whole_numbers_in_range_only() {
        let body = fields(&json!({
            "zero": 0, "whole_float": 7.0, "max": 2_147_483_647, "too_big": 2_147_483_648_i64,
            "fraction": 1.5, "text": "1", "huge": 1e300, "bool": true
        }));

        assert_eq!(body.int32("zero"), Ok(Some(0)));
        assert_eq!(body.int32("whole_float"), Ok(Some(7)));
        assert_eq!(body.int32("max"), Ok(Some(i32::MAX)));
        assert_eq!(body.int32("absent"), Ok(None));
        for name in ["too_big", "fraction", "text", "huge", "bool"] {
            assert!(body.int32(name).is_err(), "{name}");
        }
    }

    #[test]
    fn bool_accepts_only_json_booleans() {
        let body = fields(&json!({"yes": true, "one": 1, "text": "true"}));

        assert_eq!(body.required_bool("yes"), Ok(true));
        assert!(body.required_bool("one").is_err());
        assert!(body.required_bool("text").is_err());
        assert_eq!(
            body.required_bool("absent"),
            Err(FieldError::Missing("absent"))
        );
    }

    #[test]
    fn null_counts_as_absent() {
        let body = fields(&json!({"venue_id": null}));

        assert_eq!(
            body.required_int32("venue_id"),
            Err(FieldError::Missing("venue_id"))
        );
    }

    #[test]
    fn parse_keeps_a_non_string_command_for_the_echo() {
        let Parsed::Invalid { command, .. } = parse(br#"{"command": 5}"#) else {
            panic!("a numeric command is not a command");
        };
        assert_eq!(command, Some(json!(5)));
    }

    #[test]
    fn parse_refuses_arrays_and_broken_json_without_an_echo() {
        for body in [&b"[1, 2]"[..], b"{\"command\": ", b"", b"null"] {
            assert!(
                matches!(parse(body), Parsed::Invalid { command: None, .. }),
                "{body:?}"
            );
        }
    }

    #[test]
    fn parse_refuses_a_body_that_names_a_key_twice() {
        let body = br#"{"command": "getSerial", "api_key": "k", "command": "clearRequests"}"#;

        let Parsed::Invalid { command, reason } = parse(body) else {
            panic!("a duplicate command must not run");
        };

        assert_eq!(command, None);
        assert!(reason.contains(r#"duplicate key "command""#), "{reason}");
    }

    #[test]
    fn parse_names_the_field_holding_u0000_and_echoes_the_command() {
        let body = br#"{"command": "addRequest", "singer": "Al\u0000ice"}"#;

        let Parsed::Invalid { command, reason } = parse(body) else {
            panic!("a NUL must be refused");
        };

        assert_eq!(command, Some(json!("addRequest")));
        assert_eq!(reason, "singer must not contain U+0000");
    }
}
