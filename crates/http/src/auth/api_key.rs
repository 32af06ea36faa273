//! `X-API-Key` authentication for integration routes (SPEC §7).
//!
//! [`ApiKeyAuth`] verifies the key (401 "API Key Required" / "Invalid API Key", the
//! same body for every kind of invalid key); [`ScopedApiKey<S>`] verifies it together
//! with the route's scope (403 "Insufficient Scope"); [`verify_request`] does the same
//! for a scope read from the request. The scope is checked inside the verification so
//! the key's use is counted once with its final outcome (SPEC §12); there is deliberately
//! no way to check a scope afterwards. Failed verifications are budgeted per client IP
//! (429 once spent, see [`FailedVerifications`]). The presented key is never logged.

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::http::header::HeaderName;
use actix_web::{FromRequest, HttpRequest, web};
use futures::future::LocalBoxFuture;
use keyward_domain::Scope;
use keyward_domain::services::{VerifiedKey, VerifyError};

use crate::budget::{FailedVerifications, RetryAfter};
use crate::client_ip::client_ip;
use crate::error::{API_KEY_REQUIRED, ApiError};
use crate::metrics::VerificationResult;
use crate::state::AppState;
use keyward_domain::audit::{Actor, RequestContext};

/// The header integrations send their key in.
pub const API_KEY_HEADER: &str = "X-API-Key";

/// [`API_KEY_HEADER`] as a parsed header name (lower case, as HTTP/1 names compare), so
/// the lookup on every verified request does not parse the name again.
const API_KEY_HEADER_NAME: HeaderName = HeaderName::from_static("x-api-key");

/// A request carrying a valid API key.
#[derive(Debug, Clone)]
pub struct ApiKeyAuth(pub VerifiedKey);

impl FromRequest for ApiKeyAuth {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verifying = verify_request(req, None);
        Box::pin(async move { verifying.await.map(ApiKeyAuth) })
    }
}

/// Verifies the request's `X-API-Key` and, with `scope`, that the key allows it (403
/// "Insufficient Scope"); the key's use is counted once with that final outcome (SPEC
/// §12). Failed verifications spend the client's budget (SPEC §7).
///
/// # Errors
/// 401 without a key or with an invalid one, 403 for a missing scope, 429 when the
/// client's failed-verification budget is spent, 503/500 when storage fails.
pub fn verify_request(
    req: &HttpRequest,
    scope: Option<Scope>,
) -> LocalBoxFuture<'static, Result<VerifiedKey, ApiError>> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let client = client_ip(req);
    let presented = req
        .headers()
        .get(&API_KEY_HEADER_NAME)
        .map(|value| value.to_str().map(str::to_owned));
    Box::pin(async move {
        let Some(state) = state else {
            tracing::error!("AppState is not registered as app data");
            return Err(ApiError::internal());
        };
        let presented = match presented {
            None => return Err(ApiError::unauthenticated(API_KEY_REQUIRED)),
            Some(Ok(value)) if value.trim().is_empty() => {
                return Err(ApiError::unauthenticated(API_KEY_REQUIRED));
            }
            Some(presented) => presented,
        };
        let failures = &state.failed_verifications;
        let cell = failures.take(client).map_err(|wait| {
            state.metrics.verification(VerificationResult::RateLimited);
            too_many_failures(failures, wait)
        })?;
        let verified = match presented {
            Ok(value) => {
                state
                    .api_keys
                    .verify_from(value.trim(), scope, Some(client))
                    .await
            }
            // Not visible ASCII: no key of ours looks like that.
            Err(_) => Err(VerifyError::Invalid),
        };
        state.metrics.verification(verification_result(&verified));
        match verified {
            // Only a failed verification keeps the cell it took; a key that lacks the
            // scope did verify.
            Err(err @ (VerifyError::Invalid | VerifyError::Malformed(_))) => {
                Err(ApiError::from(err))
            }
            other => {
                failures.give_back(cell);
                other.map_err(ApiError::from)
            }
        }
    })
}

/// How a verification counts in `keyward_verifications_total` (`/metrics`).
pub(crate) fn verification_result(
    verified: &Result<VerifiedKey, VerifyError>,
) -> VerificationResult {
    match verified {
        // A key that lacks the route's scope is a valid key (the 403 is counted by route).
        Ok(_) | Err(VerifyError::InsufficientScope(_)) => VerificationResult::Valid,
        Err(VerifyError::Malformed(_)) => VerificationResult::Malformed,
        Err(VerifyError::Invalid) => VerificationResult::Invalid,
        Err(VerifyError::Storage(_)) => VerificationResult::Error,
    }
}

/// 429 for an address whose failed-verification budget is spent (SPEC §7).
fn too_many_failures(failures: &FailedVerifications, wait: std::time::Duration) -> ApiError {
    ApiError::rate_limited(failures.refusal(), RetryAfter::after(wait))
}

/// A scope a route requires, as a type: `ScopedApiKey<RequestsWrite>`.
pub trait RequiredScope: 'static {
    const SCOPE: Scope;
}

/// A request carrying a valid API key that allows `S`.
#[derive(Debug, Clone)]
pub struct ScopedApiKey<S> {
    pub key: VerifiedKey,
    /// The client's address ([`client_ip`]).
    pub ip: std::net::IpAddr,
    scope: PhantomData<fn() -> S>,
}

impl<S> ScopedApiKey<S> {
    /// The audit actor of what this integration changes: the key, from `ip`.
    pub fn context(&self) -> RequestContext {
        RequestContext::remote(Actor::api_key(self.key.key_id), self.ip)
    }
}

impl<S: RequiredScope> FromRequest for ScopedApiKey<S> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verifying = verify_request(req, Some(S::SCOPE));
        let ip = client_ip(req);
        Box::pin(async move {
            Ok(Self {
                key: verifying.await?,
                ip,
                scope: PhantomData,
            })
        })
    }
}

/// Marker types for every scope of SPEC §3.
pub mod scopes {
    use super::{RequiredScope, Scope};

    macro_rules! scope_markers {
        ($($name:ident),* $(,)?) => {
            $(
                #[doc = concat!("Requires `Scope::", stringify!($name), "`.")]
                #[derive(Debug, Clone, Copy)]
                pub struct $name;

                impl RequiredScope for $name {
                    const SCOPE: Scope = Scope::$name;
                }
            )*
        };
    }

    scope_markers!(
        RequestsRead,
        RequestsWrite,
        SongdbRead,
        SongdbWrite,
        VenuesRead,
        VenuesWrite,
        SystemsRead,
        SecretsRead,
    );
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use actix_web::{App, HttpResponse, test};
    use keyward_domain::CustomerId;
    use keyward_domain::keys::{ApiKey, KeyPrefix, PlainKey};
    use keyward_domain::ports::{
        MockApiKeyRepository, MockUsageRecorder, OsSecretGenerator, SystemClock,
    };
    use keyward_domain::services::{ApiKeyService, KeyPolicy};
    use keyward_domain::testing::api_keys::sample_key;
    use time::OffsetDateTime;

    use super::*;
    use crate::auth::jwt::{JwtSecret, JwtSettings};

    /// An app whose store knows one key (scopes `requests:write`, `songdb:read`).
    fn state(secret: &PlainKey) -> web::Data<AppState> {
        let mut parts = sample_key(CustomerId::generate(), OffsetDateTime::now_utc()).into_parts();
        parts.hash = secret.hash();
        parts.display_prefix = secret.display_prefix();
        let key = ApiKey::from_parts(parts);
        let mut repo = MockApiKeyRepository::new();
        repo.expect_find_by_hash()
            .returning(move |hash| Ok((hash == key.hash()).then(|| key.clone())));
        state_over(repo)
    }

    fn state_over(repo: MockApiKeyRepository) -> web::Data<AppState> {
        let mut usage = MockUsageRecorder::new();
        usage.expect_record().return_const(());
        let service = ApiKeyService::new(
            Arc::new(repo),
            Arc::new(SystemClock),
            Arc::new(OsSecretGenerator::default()),
            Arc::new(usage),
            crate::state::memory_audit(),
            KeyPolicy::default(),
        );
        let jwt = JwtSettings {
            secret: JwtSecret::new(b"unused".to_vec()),
            issuer: None,
            audience: None,
            leeway_seconds: crate::auth::jwt::LEEWAY_SECONDS,
        };
        web::Data::new(AppState::new(
            service,
            crate::state::memory_usage(),
            crate::state::memory_audit(),
            crate::state::memory_karaoke(),
            &jwt,
        ))
    }

    #[actix_web::test]
    async fn a_refused_address_is_told_the_wait_its_retry_after_says() {
        let failures = FailedVerifications::new(std::num::NonZeroU32::MIN);
        let client = std::net::IpAddr::from([192, 0, 2, 1]);
        let _spent = failures.take(client).unwrap();
        let wait = failures.take(client).unwrap_err();

        let refused = too_many_failures(&failures, wait);

        let seconds = crate::error::tests::retry_after_told(&refused);
        assert!((1..=60).contains(&seconds), "{seconds}");
        assert!(
            refused.detail().starts_with(
                "too many failed API key verifications from this address (at most 1 per minute); try again in "
            ),
            "{}",
            refused.detail()
        );
    }

    #[actix_web::test]
    async fn the_parsed_header_name_is_the_documented_one() {
        assert_eq!(
            API_KEY_HEADER_NAME,
            HeaderName::from_bytes(API_KEY_HEADER.as_bytes()).unwrap()
        );
    }

    async fn read_requests(_: ScopedApiKey<scopes::RequestsRead>) -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    async fn change_venues(_: ScopedApiKey<scopes::VenuesWrite>) -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    async fn call(path: &str, key: Option<&str>) -> (u16, String) {
        let secret = PlainKey::from_random(&KeyPrefix::default(), &[7u8; 32]);
        let app = test::init_service(
            App::new()
                .app_data(state(&secret))
                .route("/requests", web::get().to(read_requests))
                .route("/venues", web::get().to(change_venues)),
        )
        .await;
        let mut request = test::TestRequest::get().uri(path);
        if let Some(key) = key {
            let value = if key == "the key" {
                secret.expose()
            } else {
                key
            };
            request = request.insert_header((API_KEY_HEADER, value.to_owned()));
        }
        let response = test::call_service(&app, request.to_request()).await;
        let status = response.status().as_u16();
        let body = test::read_body(response).await;
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[actix_web::test]
    async fn every_outcome_is_counted_by_its_result() {
        let mut repo = MockApiKeyRepository::new();
        repo.expect_find_by_hash().returning(|_| {
            Err(keyward_domain::ports::StorageError::unavailable(
                "database down",
            ))
        });
        let state = state_over(repo);
        let app = test::init_service(
            App::new()
                .app_data(state.clone())
                .route("/requests", web::get().to(read_requests)),
        )
        .await;
        let well_formed = PlainKey::from_random(&KeyPrefix::default(), &[3u8; 32]);
        for key in [well_formed.expose(), "kw_not-a-key"] {
            let request = test::TestRequest::get()
                .uri("/requests")
                .insert_header((API_KEY_HEADER, key.to_owned()))
                .to_request();
            test::call_service(&app, request).await;
        }

        let text = state.metrics.render();

        for line in [
            "keyward_verifications_total{result=\"error\"} 1",
            "keyward_verifications_total{result=\"malformed\"} 1",
            "keyward_verifications_total{result=\"valid\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
    }

    #[actix_web::test]
    async fn key_with_an_implying_scope_passes_the_guard() {
        assert_eq!(call("/requests", Some("the key")).await.0, 200);
    }

    #[actix_web::test]
    async fn key_without_the_scope_is_403_insufficient_scope() {
        let (status, body) = call("/venues", Some("the key")).await;

        assert_eq!(status, 403);
        assert!(body.contains("Insufficient Scope"), "{body}");
    }

    #[actix_web::test]
    async fn missing_and_unknown_keys_are_401() {
        let other = PlainKey::from_random(&KeyPrefix::default(), &[8u8; 32]);

        let (missing, missing_body) = call("/requests", None).await;
        let (unknown, unknown_body) = call("/requests", Some(other.expose())).await;

        assert_eq!((missing, unknown), (401, 401));
        assert!(missing_body.contains("API Key Required"), "{missing_body}");
        assert!(unknown_body.contains("Invalid API Key"), "{unknown_body}");
    }
}
