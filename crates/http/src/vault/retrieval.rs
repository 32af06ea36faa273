//! Plaintext retrieval: the only two routes that ever answer with a secret.
//! - `GET /v1/validate/keys/{provider}`: an integration's API key with `secrets:read`
//!   gets its own customer's active credential for the provider.
//! - `GET /internal/service-keys/{provider}/decrypt`: an internal service holding
//!   `internal.service_key` gets the platform's active credential for the provider.
//!
//! Both record the use (`lastUsedAt`), write an audit event, and answer with
//! `Cache-Control: no-store` so no proxy or client cache keeps the secret.

use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpResponse, web};
use keyward_domain::services::RevealedSecret;
use keyward_domain::vault::CredentialOwner;
use utoipa::OpenApi;

use crate::auth::ScopedApiKey;
use crate::auth::scopes::SecretsRead;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use crate::vault::dto::PlaintextResponse;
use crate::vault::{InternalCaller, ProviderParam, ProviderPath, vault};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/validate/keys/{provider}").route(web::get().to(reveal_customer_key)),
    )
    .service(
        web::resource("/internal/service-keys/{provider}/decrypt")
            .route(web::get().to(reveal_platform_key)),
    );
}

#[derive(Debug, OpenApi)]
#[openapi(
    paths(reveal_customer_key, reveal_platform_key),
    components(schemas(PlaintextResponse, Problem))
)]
pub struct RetrievalDoc;

/// The plaintext answer, never cached.
pub(crate) fn plaintext(revealed: &RevealedSecret) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(PlaintextResponse {
            provider: revealed.credential.provider().as_str().to_owned(),
            secret: revealed.secret.expose().to_owned(),
        })
}

/// Fetch your own credential for a provider with an API key holding `secrets:read`.
#[utoipa::path(
    get,
    path = "/v1/validate/keys/{provider}",
    tag = "Service keys",
    params(ProviderParam),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The plaintext of the customer's active credential", body = PlaintextResponse),
        (status = 400, description = "The provider is not a lowercase slug", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "API Key Required, or Invalid API Key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks secrets:read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No active credential for this provider", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The vault is not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reveal_customer_key(
    auth: ScopedApiKey<SecretsRead>,
    ProviderPath(provider): ProviderPath,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let customer = auth.key.customer_id;
    let revealed = vault(&state)?
        .reveal(
            &auth.context(),
            CredentialOwner::Customer(customer),
            &provider,
        )
        .await?;
    Ok(plaintext(&revealed))
}

/// Fetch the platform's active credential for a provider (internal services only).
#[utoipa::path(
    get,
    path = "/internal/service-keys/{provider}/decrypt",
    tag = "Service keys",
    params(ProviderParam),
    security(("service_key" = [])),
    responses(
        (status = 200, description = "The plaintext of the platform's most recently updated active credential", body = PlaintextResponse),
        (status = 400, description = "The provider is not a lowercase slug", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Service Key Required, or Invalid Service Key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No active credential for this provider", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The vault or internal access is not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reveal_platform_key(
    caller: InternalCaller,
    ProviderPath(provider): ProviderPath,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let revealed = vault(&state)?
        .reveal(&caller.context(), CredentialOwner::Platform, &provider)
        .await?;
    Ok(plaintext(&revealed))
}
