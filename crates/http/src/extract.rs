//! Request extractors for bodies and paths that fail with a 400/413 problem naming the
//! field, instead of actix's plain-text defaults.
//!
//! `JsonBody` reads the body itself so it can enforce the size limit (413), and uses
//! `serde_path_to_error` so a wrong type is reported as `name: invalid type …` rather
//! than as a line and column only.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest};
use futures::StreamExt;
use futures::future::{LocalBoxFuture, Ready, ready};
use keyward_domain::KeyId;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::boundary;
use crate::error::ApiError;

/// Default limit for JSON bodies of the customer API (`server.max_body_bytes`).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// The body size limit in force for a route; register it as `app_data` (a scope may
/// register its own, larger one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

impl Default for BodyLimit {
    fn default() -> Self {
        Self(DEFAULT_MAX_BODY_BYTES)
    }
}

/// A JSON object request body; an empty body, or a document that is not an object, is
/// a 400.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// A JSON object request body that may be left out entirely; an empty body is
/// `T::default()`.
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = read_body(req, payload);
        Box::pin(async move {
            let body = read.await?;
            if body.iter().all(u8::is_ascii_whitespace) {
                return Err(ApiError::invalid_field("body", "a JSON object is required"));
            }
            parse_json(&body).map(JsonBody)
        })
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = read_body(req, payload);
        Box::pin(async move {
            let body = read.await?;
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(OptionalJsonBody(T::default()));
            }
            parse_json(&body).map(OptionalJsonBody)
        })
    }
}

/// Reads the whole body, refusing non-JSON content types and anything over the limit.
fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<BytesMut, ApiError>> {
    read_limited_body(req, payload, is_json_or_absent(req), "application/json")
}

/// Reads the whole body up to the configured [`BodyLimit`].
///
/// # Errors
/// 400 `Content-Type: must be {expected}` when `content_type_ok` is false, 413 past the
/// limit (by `Content-Length` before reading, or by what arrived), 400 when the body
/// cannot be read.
pub(crate) fn read_limited_body(
    req: &HttpRequest,
    payload: &mut Payload,
    content_type_ok: bool,
    expected: &'static str,
) -> LocalBoxFuture<'static, Result<BytesMut, ApiError>> {
    let limit = req.app_data::<BodyLimit>().copied().unwrap_or_default().0;
    let declared_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut payload = payload.take();
    Box::pin(async move {
        if !content_type_ok {
            return Err(ApiError::validation(format!(
                "Content-Type: must be {expected}"
            )));
        }
        if declared_length.is_some_and(|length| length > limit) {
            return Err(ApiError::payload_too_large(limit));
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| ApiError::invalid_field("body", "could not be read"))?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::payload_too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    })
}

/// No Content-Type is accepted (curl users forget it); a declared one must be JSON.
fn is_json_or_absent(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON object, naming the field that failed (`body` when it is the document
/// itself); a string holding U+0000 is refused first, wherever it is (SPEC §2). Serde
/// would also accept an array for a struct, by position; no client means that, so
/// anything but an object is refused up front.
fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(ApiError::invalid_field("body", "must be a JSON object"));
    }
    if let Some(field) = boundary::json_nul_field(body) {
        return Err(ApiError::invalid_field(&field, boundary::NUL_MESSAGE));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|err| ApiError::invalid_field(&field_of(err.path()), err.inner()))?;
    deserializer
        .end()
        .map_err(|err| ApiError::invalid_field("body", err))?;
    Ok(value)
}

fn field_of(path: &serde_path_to_error::Path) -> String {
    // `.` is the document itself, `?` a position serde could not attribute (a syntax
    // error); both are best reported as the body.
    let path = path.to_string();
    if path == "." || path == "?" {
        "body".to_owned()
    } else {
        path
    }
}

/// Parses a UUID path parameter named `name`, reporting `name: must be a UUID`.
pub fn uuid_param(req: &HttpRequest, name: &str) -> Result<Uuid, ApiError> {
    req.match_info()
        .get(name)
        .and_then(|raw| Uuid::parse_str(raw).ok())
        .ok_or_else(|| ApiError::invalid_field(name, "must be a UUID"))
}

/// The `{id}` path parameter of a key route.
#[derive(Debug, Clone, Copy)]
pub struct KeyIdPath(pub KeyId);

impl FromRequest for KeyIdPath {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(uuid_param(req, "id").map(|id| KeyIdPath(KeyId::from_uuid(id))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(default)]
        name: String,
        #[serde(default)]
        count: u32,
    }

    async fn extract(req: TestRequest) -> Result<Body, ApiError> {
        let (req, mut payload) = req.to_http_parts();
        JsonBody::<Body>::from_request(&req, &mut payload)
            .await
            .map(|b| b.0)
    }

    #[actix_web::test]
    async fn wrong_type_names_the_field() {
        let err = extract(TestRequest::post().set_payload(r#"{"name": 5}"#))
            .await
            .unwrap_err();

        assert!(
            err.detail().starts_with("name: invalid type"),
            "{}",
            err.detail()
        );
    }

    #[actix_web::test]
    async fn malformed_json_names_the_body() {
        let err = extract(TestRequest::post().set_payload("{"))
            .await
            .unwrap_err();

        assert!(err.detail().starts_with("body: "), "{}", err.detail());
    }

    #[actix_web::test]
    async fn unknown_field_is_refused() {
        let err = extract(TestRequest::post().set_payload(r#"{"nme": "x"}"#))
            .await
            .unwrap_err();

        assert!(
            err.detail().starts_with("nme: unknown field `nme`"),
            "{}",
            err.detail()
        );
    }

    #[actix_web::test]
    async fn body_over_the_limit_is_413() {
        let req = TestRequest::post()
            .app_data(BodyLimit(10))
            .set_payload(r#"{"name": "longer than ten"}"#);

        let err = extract(req).await.unwrap_err();

        assert_eq!(err.kind(), crate::error::ProblemType::PayloadTooLarge);
    }

    #[actix_web::test]
    async fn form_content_type_is_refused() {
        let req = TestRequest::post()
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload(r#"{"name": "x"}"#);

        let err = extract(req).await.unwrap_err();

        assert!(err.detail().starts_with("Content-Type"), "{}", err.detail());
    }

    #[actix_web::test]
    async fn optional_body_defaults_when_empty() {
        let (req, mut payload) = TestRequest::post().to_http_parts();

        let body = OptionalJsonBody::<Body>::from_request(&req, &mut payload)
            .await
            .unwrap();

        assert_eq!((body.0.name.as_str(), body.0.count), ("", 0));
    }

    #[actix_web::test]
    async fn array_body_is_refused_as_not_an_object() {
        let err = extract(TestRequest::post().set_payload(r#"["x", 1]"#))
            .await
            .unwrap_err();

        assert_eq!(err.detail(), "body: must be a JSON object");
    }

    #[actix_web::test]
    async fn a_nul_in_any_string_is_refused_naming_the_field() {
        let err = extract(TestRequest::post().set_payload(r#"{"name": "Al\u0000ice"}"#))
            .await
            .unwrap_err();

        assert_eq!(err.detail(), "name: must not contain U+0000");
    }

    #[actix_web::test]
    async fn trailing_garbage_is_refused() {
        let err = extract(TestRequest::post().set_payload(r#"{"count": 1} x"#))
            .await
            .unwrap_err();

        assert!(err.detail().starts_with("body: "), "{}", err.detail());
    }
}
