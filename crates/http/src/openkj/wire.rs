//! The OpenKJ wire format: the request body read and parsed by hand (so nothing the
//! client sends can turn into a non-200), field access with the strict types Qt's
//! `QJsonValue` uses, and the reply envelope every command shares:
//! `{"command": <echo>, "error": <bool>, "errorString"?: <string>, …}` with HTTP 200.

use actix_web::http::header::{self, ContentType};
use actix_web::web::BytesMut;
use actix_web::{HttpRequest, HttpResponse};
use futures::StreamExt;
use serde_json::{Map, Value};

use crate::boundary;

/// Largest request body (SPEC §9): a pretty-printed 1000-song batch is ~150 KB.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A command's request object.
#[derive(Debug)]
pub struct Fields(Map<String, Value>);

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

impl Fields {
    pub fn new(object: Map<String, Value>) -> Self {
        Self(object)
    }

    /// The raw value; `null` counts as absent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|value| !value.is_null())
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
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(_) => Err(FieldError::WrongType {
                name,
                expected: "true or false",
            }),
        }
    }

    pub fn string(&self, name: &'static str) -> Result<Option<&str>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(FieldError::WrongType {
                name,
                expected: "a string",
            }),
        }
    }

    pub fn required_string(&self, name: &'static str) -> Result<&str, FieldError> {
        self.string(name)?.ok_or(FieldError::Missing(name))
    }

    pub fn required_array(&self, name: &'static str) -> Result<&[Value], FieldError> {
        match self.get(name) {
            None => Err(FieldError::Missing(name)),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(FieldError::WrongType {
                name,
                expected: "an array",
            }),
        }
    }
}

/// A JSON number holding a whole value that fits in an `i64`.
fn whole_number(value: &Value) -> Option<i64> {
    let Value::Number(number) = value else {
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
/// large (from `Content-Length`, or while streaming).
pub async fn read_body(
    req: &HttpRequest,
    mut payload: actix_web::web::Payload,
) -> Result<BytesMut, BodyError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES) {
        return Err(BodyError::TooLarge);
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What a body turned out to be.
#[derive(Debug)]
pub enum Parsed {
    /// A JSON object with a string `command`.
    Command { name: String, fields: Fields },
    /// Anything else; `command` is what the body named as its command, if anything, so
    /// the error can still be echoed under it.
    Invalid {
        command: Option<Value>,
        reason: String,
    },
}

/// Parses a body as a command object: one JSON object without duplicate keys
/// (SPEC §9) and without U+0000 in any string (SPEC §2; the reason names the field).
pub fn parse(body: &[u8]) -> Parsed {
    let invalid = |command: Option<Value>, reason: String| Parsed::Invalid { command, reason };
    let value = match boundary::parse_unique_keys(body) {
        Ok(value) => value,
        Err(err) => return invalid(None, err.to_string()),
    };
    if boundary::may_hold_nul(body)
        && let Some(field) = boundary::value_nul_field(&value)
    {
        let command = value.get("command").filter(|_| field != "command").cloned();
        return invalid(command, format!("{field} {}", boundary::NUL_MESSAGE));
    }
    let Value::Object(object) = value else {
        return invalid(None, "request body must be a JSON object".to_owned());
    };
    match object.get("command") {
        Some(Value::String(name)) => Parsed::Command {
            name: name.clone(),
            fields: Fields::new(object),
        },
        None | Some(Value::Null) => invalid(None, "command is required".to_owned()),
        Some(other) => invalid(Some(other.clone()), "command must be a string".to_owned()),
    }
}

/// A successful reply: the command echoed, `error: false`, and `fields`.
pub fn success(command: &str, fields: Map<String, Value>) -> HttpResponse {
    let mut reply = fields;
    reply.insert("command".to_owned(), Value::String(command.to_owned()));
    reply.insert("error".to_owned(), Value::Bool(false));
    respond(&reply)
}

/// A failed reply: the command echoed when there was one, `error: true`, `errorString`.
pub fn failure(command: Option<Value>, message: &str) -> HttpResponse {
    let mut reply = Map::new();
    if let Some(command) = command {
        reply.insert("command".to_owned(), command);
    }
    reply.insert("error".to_owned(), Value::Bool(true));
    reply.insert("errorString".to_owned(), Value::String(message.to_owned()));
    respond(&reply)
}

/// Always HTTP 200: OpenKJ drops every non-2xx reply without reading it.
fn respond(reply: &Map<String, Value>) -> HttpResponse {
    // Straight into bytes: `Value::to_string` would go through `fmt::Write`, a few times
    // slower on the polling path. A map of strings to values always serializes.
    let body = serde_json::to_vec(reply).unwrap_or_else(|_| br#"{"error":true}"#.to_vec());
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(value: Value) -> Fields {
        match value {
            Value::Object(object) => Fields::new(object),
            _ => unreachable!("test bodies are objects"),
        }
    }

    #[test]
    fn int32_accepts_whole_numbers_in_range_only() {
        let body = fields(json!({
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
        let body = fields(json!({"yes": true, "one": 1, "text": "true"}));

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
        let body = fields(json!({"venue_id": null}));

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
