//! `X-API-Key` authentication for integration routes (SPEC §7).
//!
//! [`ApiKeyAuth`] verifies the key (401 "API Key Required" / "Invalid API Key", the
//! same body for every kind of invalid key); [`ScopedApiKey<S>`] adds the per-route
//! scope check (403 "Insufficient Scope"). The presented key is never logged.

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures::future::LocalBoxFuture;
use keyward_domain::Scope;
use keyward_domain::services::VerifiedKey;

use crate::error::{API_KEY_REQUIRED, ApiError};
use crate::state::AppState;

/// The header integrations send their key in.
pub const API_KEY_HEADER: &str = "X-API-Key";

/// A request carrying a valid API key.
#[derive(Debug, Clone)]
pub struct ApiKeyAuth(pub VerifiedKey);

impl ApiKeyAuth {
    /// # Errors
    /// 403 "Insufficient Scope" when the key does not allow `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        self.0.require(scope).map_err(ApiError::from)
    }
}

impl FromRequest for ApiKeyAuth {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let service = req
            .app_data::<web::Data<AppState>>()
            .map(|state| state.api_keys.clone());
        let presented = req
            .headers()
            .get(API_KEY_HEADER)
            .map(|value| value.to_str().map(str::to_owned));
        Box::pin(async move {
            let Some(service) = service else {
                tracing::error!("AppState is not registered as app data");
                return Err(ApiError::internal());
            };
            let presented = match presented {
                None => return Err(ApiError::unauthenticated(API_KEY_REQUIRED)),
                Some(Err(_)) => {
                    return Err(ApiError::from(
                        keyward_domain::services::VerifyError::Invalid,
                    ));
                }
                Some(Ok(value)) if value.trim().is_empty() => {
                    return Err(ApiError::unauthenticated(API_KEY_REQUIRED));
                }
                Some(Ok(value)) => value,
            };
            let verified = service.verify(presented.trim()).await?;
            Ok(ApiKeyAuth(verified))
        })
    }
}

/// A scope a route requires, as a type: `ScopedApiKey<RequestsWrite>`.
pub trait RequiredScope: 'static {
    const SCOPE: Scope;
}

/// A request carrying a valid API key that allows `S`.
#[derive(Debug, Clone)]
pub struct ScopedApiKey<S> {
    pub key: VerifiedKey,
    scope: PhantomData<fn() -> S>,
}

impl<S: RequiredScope> FromRequest for ScopedApiKey<S> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let auth = ApiKeyAuth::from_request(req, payload);
        Box::pin(async move {
            let ApiKeyAuth(key) = auth.await?;
            key.require(S::SCOPE).map_err(ApiError::from)?;
            Ok(Self {
                key,
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
