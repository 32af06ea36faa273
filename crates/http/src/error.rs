//! The one error type of the HTTP API and its wire form, RFC 9457 problem details
//! (SPEC §5): `Content-Type: application/problem+json`, `{type, title, status, detail}`.
//!
//! Every domain error is turned into an [`ApiError`] in exactly one place: the `From`
//! impls below, which read as the error → status table of the API. Storage and other
//! internal failures are logged here, once, with their source; the client only ever sees
//! a generic detail.

use std::borrow::Cow;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use keyward_domain::ScopeSetError;
use keyward_domain::ports::{MAX_PAGE, MAX_PAGE_LIMIT, PageRequestError, StorageError};
use keyward_domain::services::{
    ApiKeyError, InvalidGracePeriod, RequestError, SongBookError, VaultError, VenueError,
    VerifyError,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::budget::RetryAfter;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The `type` of a problem: one per status the API answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemType {
    ValidationError,
    AuthenticationFailed,
    AuthorizationDenied,
    ResourceNotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    RateLimited,
    InternalError,
    ServiceUnavailable,
}

impl ProblemType {
    /// `(type, title, status)`: the whole vocabulary in one table.
    const fn describe(self) -> (&'static str, &'static str, StatusCode) {
        match self {
            Self::ValidationError => (
                "validation_error",
                "Validation Error",
                StatusCode::BAD_REQUEST,
            ),
            Self::AuthenticationFailed => (
                "authentication_failed",
                "Authentication Failed",
                StatusCode::UNAUTHORIZED,
            ),
            Self::AuthorizationDenied => (
                "authorization_denied",
                "Authorization Denied",
                StatusCode::FORBIDDEN,
            ),
            Self::ResourceNotFound => (
                "resource_not_found",
                "Resource Not Found",
                StatusCode::NOT_FOUND,
            ),
            Self::MethodNotAllowed => (
                "method_not_allowed",
                "Method Not Allowed",
                StatusCode::METHOD_NOT_ALLOWED,
            ),
            Self::Conflict => ("conflict", "Conflict", StatusCode::CONFLICT),
            Self::PayloadTooLarge => (
                "payload_too_large",
                "Payload Too Large",
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            Self::RateLimited => (
                "rate_limited",
                "Rate Limited",
                StatusCode::TOO_MANY_REQUESTS,
            ),
            Self::InternalError => (
                "internal_error",
                "Internal Error",
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
            Self::ServiceUnavailable => (
                "service_unavailable",
                "Service Unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
            ),
        }
    }

    pub const fn as_str(self) -> &'static str {
        self.describe().0
    }

    pub const fn title(self) -> &'static str {
        self.describe().1
    }

    pub const fn status(self) -> StatusCode {
        self.describe().2
    }

    /// The problem type for a status this API answers with (used to wrap responses that
    /// actix produced itself, such as 404 for an unknown route).
    pub fn for_status(status: StatusCode) -> Self {
        match status.as_u16() {
            401 => Self::AuthenticationFailed,
            403 => Self::AuthorizationDenied,
            404 => Self::ResourceNotFound,
            405 => Self::MethodNotAllowed,
            409 => Self::Conflict,
            413 => Self::PayloadTooLarge,
            429 => Self::RateLimited,
            503 => Self::ServiceUnavailable,
            400..=499 => Self::ValidationError,
            _ => Self::InternalError,
        }
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "validation_error",
    "title": "Validation Error",
    "status": 400,
    "detail": "name: must be 1 to 100 characters"
}))]
pub struct Problem {
    /// One of `validation_error`, `authentication_failed`, `authorization_denied`,
    /// `resource_not_found`, `method_not_allowed`, `conflict`, `payload_too_large`,
    /// `rate_limited`, `internal_error`, `service_unavailable`.
    #[serde(rename = "type")]
    pub problem_type: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
}

/// An error answered to an HTTP client.
#[derive(Debug)]
pub struct ApiError {
    kind: ProblemType,
    detail: Cow<'static, str>,
    retry_after_seconds: Option<u64>,
    bearer_challenge: bool,
}

impl ApiError {
    pub fn new(kind: ProblemType, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            retry_after_seconds: None,
            bearer_challenge: false,
        }
    }

    /// 400 about one field of the request: the detail reads `field: message`.
    pub fn invalid_field(field: &str, message: impl fmt::Display) -> Self {
        Self::new(ProblemType::ValidationError, format!("{field}: {message}"))
    }

    /// 400 with a detail that already names what is wrong.
    pub fn validation(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ProblemType::ValidationError, detail)
    }

    /// 401 for the customer API; answers with `WWW-Authenticate: Bearer`.
    pub fn bearer_rejected(detail: &'static str) -> Self {
        Self {
            bearer_challenge: true,
            ..Self::new(ProblemType::AuthenticationFailed, detail)
        }
    }

    pub fn unauthenticated(detail: &'static str) -> Self {
        Self::new(ProblemType::AuthenticationFailed, detail)
    }

    pub fn forbidden(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ProblemType::AuthorizationDenied, detail)
    }

    pub fn not_found(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ProblemType::ResourceNotFound, detail)
    }

    pub fn conflict(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ProblemType::Conflict, detail)
    }

    pub fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(
            ProblemType::PayloadTooLarge,
            format!("request body exceeds the limit of {limit_bytes} bytes"),
        )
    }

    /// 429 with `Retry-After`: the detail reads `<reason>; try again in <N seconds>`, the
    /// number being the header's, from the same [`RetryAfter`].
    pub fn rate_limited(reason: impl fmt::Display, retry_after: impl Into<RetryAfter>) -> Self {
        let retry_after = retry_after.into();
        Self {
            retry_after_seconds: Some(retry_after.seconds()),
            ..Self::new(
                ProblemType::RateLimited,
                format!("{reason}; try again in {retry_after}"),
            )
        }
    }

    /// 500. The cause must already have been logged by the caller.
    pub fn internal() -> Self {
        Self::new(
            ProblemType::InternalError,
            "an internal error occurred; it has been logged",
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            ProblemType::ServiceUnavailable,
            "the service is temporarily unavailable; try again later",
        )
    }

    pub fn kind(&self) -> ProblemType {
        self.kind
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The `Retry-After` of a 429, in whole seconds.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        self.retry_after_seconds
    }

    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: self.kind.as_str(),
            title: self.kind.title(),
            status: self.kind.status().as_u16(),
            detail: self.detail.to_string(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.kind.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if let Some(seconds) = self.retry_after_seconds {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if self.bearer_challenge {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        response.body(body)
    }
}

/// Writes an error and its chain of causes on one line, for logs.
pub(crate) struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

// ---- the domain → HTTP table -------------------------------------------------------

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match &err {
            StorageError::Conflict(rule) => {
                ApiError::conflict(format!("a resource with this {rule} already exists"))
            }
            StorageError::Unavailable(_) => {
                tracing::warn!(error = %ErrorChain(&err), "storage unavailable");
                ApiError::unavailable()
            }
            StorageError::Other(_) => {
                tracing::error!(error = %ErrorChain(&err), "storage failure");
                ApiError::internal()
            }
        }
    }
}

impl From<ApiKeyError> for ApiError {
    fn from(err: ApiKeyError) -> Self {
        match err {
            ApiKeyError::NotFound => ApiError::not_found("API key not found"),
            err @ ApiKeyError::LimitReached { .. } => ApiError::conflict(err.to_string()),
            ApiKeyError::ExpiryNotInFuture => {
                ApiError::invalid_field("expiresAt", "must be in the future")
            }
            ApiKeyError::NotRotatable => {
                ApiError::conflict("an inactive or expired API key cannot be rotated")
            }
            ApiKeyError::Revoked => ApiError::conflict("a revoked API key cannot be reactivated"),
            ApiKeyError::Conflict => {
                ApiError::conflict("the API key was changed concurrently; try again")
            }
            ApiKeyError::Random(cause) => {
                tracing::error!(error = %ErrorChain(&cause), "random source failed");
                ApiError::internal()
            }
            ApiKeyError::Storage(storage) => storage.into(),
        }
    }
}

/// The detail of every refused API key, whatever the reason, so nothing leaks.
pub const INVALID_API_KEY: &str = "Invalid API Key";
/// The detail when no `X-API-Key` header was sent.
pub const API_KEY_REQUIRED: &str = "API Key Required";
/// The detail when a valid key lacks the scope a route needs.
pub const INSUFFICIENT_SCOPE: &str = "Insufficient Scope";

impl From<VerifyError> for ApiError {
    fn from(err: VerifyError) -> Self {
        match err {
            VerifyError::Malformed(_) | VerifyError::Invalid => {
                ApiError::unauthenticated(INVALID_API_KEY)
            }
            VerifyError::InsufficientScope(_) => ApiError::forbidden(INSUFFICIENT_SCOPE),
            VerifyError::Storage(storage) => storage.into(),
        }
    }
}

impl From<ScopeSetError> for ApiError {
    fn from(err: ScopeSetError) -> Self {
        match err {
            // The detail SPEC §6 prescribes: "Invalid scopes: a, b".
            ScopeSetError::Unknown(_) => ApiError::validation(err.to_string()),
            ScopeSetError::Empty => ApiError::invalid_field("scopes", "at least one is required"),
        }
    }
}

impl From<PageRequestError> for ApiError {
    fn from(err: PageRequestError) -> Self {
        match err {
            PageRequestError::Page => {
                ApiError::invalid_field("page", format!("must be between 1 and {MAX_PAGE}"))
            }
            PageRequestError::Limit => {
                ApiError::invalid_field("limit", format!("must be between 1 and {MAX_PAGE_LIMIT}"))
            }
        }
    }
}

impl From<InvalidGracePeriod> for ApiError {
    fn from(_: InvalidGracePeriod) -> Self {
        ApiError::invalid_field("gracePeriodSeconds", "must be between 0 and 604800")
    }
}

impl From<VenueError> for ApiError {
    fn from(err: VenueError) -> Self {
        match err {
            VenueError::NotFound => ApiError::not_found("venue not found"),
            VenueError::UrlNameTaken => ApiError::conflict("urlName is already taken"),
            VenueError::OpenKjVenueIdTaken => {
                ApiError::conflict("openkjVenueId is already used by another of your venues")
            }
            VenueError::Storage(storage) => storage.into(),
        }
    }
}

impl From<RequestError> for ApiError {
    fn from(err: RequestError) -> Self {
        match err {
            RequestError::VenueNotFound => ApiError::not_found("venue not found"),
            RequestError::NotAccepting => {
                ApiError::conflict("this venue is not accepting requests right now")
            }
            RequestError::Storage(storage) => storage.into(),
        }
    }
}

impl From<SongBookError> for ApiError {
    fn from(err: SongBookError) -> Self {
        match err {
            SongBookError::SongNotFound => ApiError::not_found("song not found"),
            SongBookError::Storage(storage) => storage.into(),
        }
    }
}

impl From<VaultError> for ApiError {
    fn from(err: VaultError) -> Self {
        match err {
            VaultError::NotFound => ApiError::not_found("service credential not found"),
            VaultError::ProviderTaken => {
                ApiError::conflict("a credential for this provider already exists")
            }
            // Names the credential and the key version, never the secret or the key.
            VaultError::Undecryptable { .. } | VaultError::Seal(_) => {
                tracing::error!(error = %ErrorChain(&err), "service credential encryption failed");
                ApiError::internal()
            }
            VaultError::Storage(storage) => storage.into(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn error_response_is_problem_json_with_the_four_members() {
        let response = ApiError::not_found("API key not found").error_response();

        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            PROBLEM_JSON
        );
        let body = to_bytes(response.into_body()).await.unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "resource_not_found",
                "title": "Resource Not Found",
                "status": 404,
                "detail": "API key not found"
            })
        );
    }

    #[test]
    fn unavailable_storage_is_503_and_other_failures_are_500_without_internals() {
        let unavailable: ApiError = StorageError::unavailable("connection refused").into();
        let other: ApiError = StorageError::other("syntax error near SELECT").into();

        assert_eq!(unavailable.kind(), ProblemType::ServiceUnavailable);
        assert_eq!(other.kind(), ProblemType::InternalError);
        assert!(!other.detail().contains("SELECT"));
        assert!(!unavailable.detail().contains("refused"));
    }

    #[test]
    fn a_key_that_kept_changing_is_a_409_conflict_asking_to_try_again() {
        let err: ApiError = ApiKeyError::Conflict.into();

        assert_eq!(err.kind(), ProblemType::Conflict);
        assert_eq!(err.status_code(), StatusCode::CONFLICT);
        assert_eq!(
            err.detail(),
            "the API key was changed concurrently; try again"
        );
    }

    #[test]
    fn the_key_cap_reads_in_the_singular_for_one_key() {
        let one: ApiError = ApiKeyError::LimitReached { max: 1 }.into();
        let ten: ApiError = ApiKeyError::LimitReached { max: 10 }.into();

        assert_eq!(one.kind(), ProblemType::Conflict);
        assert_eq!(one.detail(), "maximum of 1 active API key reached");
        assert_eq!(ten.detail(), "maximum of 10 active API keys reached");
    }

    #[test]
    fn malformed_and_unknown_keys_read_the_same() {
        let malformed: ApiError =
            VerifyError::Malformed(keyward_domain::keys::MalformedKey::BadChecksum).into();
        let invalid: ApiError = VerifyError::Invalid.into();

        assert_eq!(malformed.problem().detail, invalid.problem().detail);
        assert_eq!(malformed.kind(), ProblemType::AuthenticationFailed);
    }

    #[test]
    fn rate_limited_carries_retry_after() {
        let err = ApiError::rate_limited("slow down", RetryAfter::after(Duration::ZERO));

        assert_eq!(err.detail(), "slow down; try again in 1 second");
        assert_eq!(retry_after_told(&err), 1);
    }

    #[test]
    fn a_rate_limited_message_names_the_retry_after_of_its_response() {
        for millis in [
            1, 999, 1_000, 1_001, 59_999, 3_599_000, 3_599_001, 3_600_000,
        ] {
            let err = ApiError::rate_limited(
                "at most 5 key rotations per hour",
                RetryAfter::after(Duration::from_millis(millis)),
            );

            let seconds = retry_after_told(&err);

            assert_eq!(seconds, millis.div_ceil(1_000).max(1), "{millis} ms");
        }
    }

    /// The `Retry-After` of `err`'s response, after checking that its message tells the
    /// same number of seconds (`1 second`, `N seconds`). For every 429 test.
    pub(crate) fn retry_after_told(err: &ApiError) -> u64 {
        let response = err.error_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let header: u64 = response
            .headers()
            .get(header::RETRY_AFTER)
            .expect("a 429 carries Retry-After")
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let told = if header == 1 {
            "try again in 1 second".to_owned()
        } else {
            format!("try again in {header} seconds")
        };
        assert!(
            err.detail().ends_with(&told),
            "Retry-After: {header}, detail: {}",
            err.detail()
        );
        header
    }
}
