//! Authentication of internal services by a shared secret in `X-Service-Key`
//! (`internal.service_key`).
//!
//! The presented and configured keys are both reduced to SHA-256 digests and compared
//! with `subtle`'s constant-time equality, so neither the content nor the length of the
//! configured key can be learnt from response times.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures::future::{Ready, ready};

use crate::error::{ApiError, ProblemType};
pub use crate::shared_secret::SharedSecret;
use crate::state::AppState;

/// The header internal services send their key in.
pub const INTERNAL_SERVICE_KEY_HEADER: &str = "X-Service-Key";

/// Detail of the 503 when no internal service key is configured.
pub const INTERNAL_NOT_CONFIGURED: &str =
    "internal access is not configured: set internal.service_key";
/// Detail of the 401 without the header.
pub const SERVICE_KEY_REQUIRED: &str = "Service Key Required";
/// Detail of the 401 for a wrong key.
pub const INVALID_SERVICE_KEY: &str = "Invalid Service Key";

/// The configured internal service key, kept only as its digest.
pub type InternalServiceKey = SharedSecret;

/// A request from an internal service that presented the right `X-Service-Key`.
#[derive(Debug, Clone, Copy)]
pub struct InternalCaller {
    /// The client's address ([`crate::budget::client_ip`]).
    pub ip: std::net::IpAddr,
}

impl InternalCaller {
    /// The audit actor of what this service changes: `service`/`internal`, from `ip`.
    pub fn context(&self) -> keyward_domain::audit::RequestContext {
        keyward_domain::audit::RequestContext::remote(
            keyward_domain::audit::Actor::internal_service(),
            self.ip,
        )
    }

    fn authenticate(req: &HttpRequest) -> Result<Self, ApiError> {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            tracing::error!("AppState is not registered as app data");
            return Err(ApiError::internal());
        };
        let Some(configured) = &state.internal_service_key else {
            return Err(ApiError::new(
                ProblemType::ServiceUnavailable,
                INTERNAL_NOT_CONFIGURED,
            ));
        };
        let presented = req
            .headers()
            .get(INTERNAL_SERVICE_KEY_HEADER)
            .map(actix_web::http::header::HeaderValue::as_bytes)
            .filter(|value| !value.is_empty())
            .ok_or(ApiError::unauthenticated(SERVICE_KEY_REQUIRED))?;
        if configured.matches(presented) {
            Ok(Self {
                ip: crate::client_ip::client_ip(req),
            })
        } else {
            tracing::warn!(
                target: keyward_domain::services::AUDIT_TARGET,
                action = "internal_authentication_failed",
                client_ip = %crate::client_ip::client_ip(req),
                "wrong X-Service-Key presented"
            );
            Err(ApiError::unauthenticated(INVALID_SERVICE_KEY))
        }
    }
}

impl FromRequest for InternalCaller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::authenticate(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_key_matches() {
        let key = InternalServiceKey::new("internal-service-key-0123456789abcdef");

        assert!(key.matches(b"internal-service-key-0123456789abcdef"));
        assert!(!key.matches(b"internal-service-key-0123456789abcdeF"));
        assert!(!key.matches(b"internal-service-key"));
        assert!(!key.matches(b""));
    }

    #[test]
    fn debug_never_shows_the_key_or_its_digest() {
        let key = InternalServiceKey::new("internal-service-key-0123456789abcdef");

        assert_eq!(format!("{key:?}"), "SharedSecret(<redacted>)");
    }
}
