//! `GET /v1/validate` (SPEC §7): lets an integration check its key, and optionally one
//! scope, without doing anything else.

use actix_web::web;
use keyward_domain::Scope;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::ApiKeyAuth;
use crate::error::{ApiError, Problem};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/validate").route(web::get().to(validate_api_key)));
}

#[derive(Debug, OpenApi)]
#[openapi(
    paths(validate_api_key),
    components(schemas(KeyValidationResponse, Problem))
)]
pub struct ValidateDoc;

/// Query of `GET /v1/validate`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ValidateQuery {
    /// A scope the key must allow (a `:write` scope allows the matching `:read`).
    #[param(example = "requests:read")]
    pub scope: Option<String>,
}

/// What a valid key is allowed to do.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyValidationResponse {
    /// Always `true`; an invalid key gets a 401 instead.
    pub valid: bool,
    pub key_id: Uuid,
    pub customer_id: Uuid,
    #[schema(example = json!(["requests:write", "songdb:read"]))]
    pub scopes: Vec<&'static str>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// Check an API key (and optionally a scope).
#[utoipa::path(
    get,
    path = "/v1/validate",
    tag = "Verification",
    params(ValidateQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The key is valid", body = KeyValidationResponse),
        (status = 400, description = "Unknown scope", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "API Key Required, or Invalid API Key (the same for unknown, revoked, expired and malformed keys)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Insufficient Scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn validate_api_key(
    auth: ApiKeyAuth,
    query: web::Query<ValidateQuery>,
) -> Result<web::Json<KeyValidationResponse>, ApiError> {
    if let Some(name) = query.scope.as_deref().filter(|name| !name.is_empty()) {
        let scope: Scope = name
            .parse()
            .map_err(|_| ApiError::invalid_field("scope", format!("unknown scope '{name}'")))?;
        auth.require(scope)?;
    }
    let key = auth.0;
    Ok(web::Json(KeyValidationResponse {
        valid: true,
        key_id: key.key_id.as_uuid(),
        customer_id: key.customer_id.as_uuid(),
        scopes: key.scopes.names(),
        expires_at: key.expires_at.map(|at| at.to_offset(time::UtcOffset::UTC)),
    }))
}
