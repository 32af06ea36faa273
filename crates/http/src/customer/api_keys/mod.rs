//! The API key endpoints of the customer API (SPEC §6), under `/v1/customer`.
//!
//! Each handler authenticates through its extractor signature, converts the request into
//! domain values, calls `ApiKeyService` once and maps the result to a response DTO.

pub mod dto;

use actix_web::{HttpResponse, web};
use utoipa::OpenApi;

use crate::auth::CustomerPrincipal;
use crate::auth::permissions::{ApiKeysRead, ApiKeysRevoke, ApiKeysWrite};
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, KeyIdPath, OptionalJsonBody};
use crate::schemas::ScopeName;
use crate::state::AppState;
use dto::{
    ApiKeyPage, ApiKeyResponse, CreateApiKeyRequest, IssuedApiKeyResponse, ListApiKeysQuery,
    MessageResponse, Pagination, RotateApiKeyRequest, ScopesResponse, UpdateApiKeyRequest,
};

/// Registers the routes, relative to `/v1/customer`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api-keys")
            .route(web::get().to(list_api_keys))
            .route(web::post().to(create_api_key)),
    )
    // Before `/api-keys/{id}`, which would otherwise take "scopes" for an id.
    .service(web::resource("/api-keys/scopes").route(web::get().to(list_scopes)))
    .service(
        web::resource("/api-keys/{id}")
            .route(web::get().to(get_api_key))
            .route(web::patch().to(update_api_key))
            .route(web::delete().to(delete_api_key)),
    )
    .service(web::resource("/api-keys/{id}/revoke").route(web::post().to(revoke_api_key)))
    .service(web::resource("/api-keys/{id}/rotate").route(web::post().to(rotate_api_key)));
}

/// The OpenAPI description of these routes.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(
        list_api_keys,
        list_scopes,
        get_api_key,
        create_api_key,
        update_api_key,
        revoke_api_key,
        rotate_api_key,
        delete_api_key
    ),
    components(schemas(
        ApiKeyResponse,
        IssuedApiKeyResponse,
        ApiKeyPage,
        Pagination,
        ScopesResponse,
        MessageResponse,
        CreateApiKeyRequest,
        UpdateApiKeyRequest,
        RotateApiKeyRequest,
        ScopeName,
        Problem
    ))
)]
pub struct ApiKeysDoc;

/// List the customer's API keys, newest first.
#[utoipa::path(
    get,
    path = "/v1/customer/api-keys",
    tag = "API keys",
    params(ListApiKeysQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of keys", body = ApiKeyPage),
        (status = 400, description = "Bad page, limit or active", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing api_keys:read", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_api_keys(
    principal: CustomerPrincipal<ApiKeysRead>,
    state: web::Data<AppState>,
    query: web::Query<ListApiKeysQuery>,
) -> Result<web::Json<ApiKeyPage>, ApiError> {
    let (filter, page) = query.into_inner().try_into_domain()?;
    let keys = state
        .api_keys
        .list(principal.customer, filter, page)
        .await?;
    Ok(web::Json(ApiKeyPage::from(&keys)))
}

/// List every scope a key can be granted.
#[utoipa::path(
    get,
    path = "/v1/customer/api-keys/scopes",
    tag = "API keys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The known scopes", body = ScopesResponse),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing api_keys:read", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_scopes(_: CustomerPrincipal<ApiKeysRead>) -> web::Json<ScopesResponse> {
    web::Json(ScopesResponse::all())
}

/// Read one API key.
#[utoipa::path(
    get,
    path = "/v1/customer/api-keys/{id}",
    tag = "API keys",
    params(("id" = uuid::Uuid, Path, description = "The key's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The key", body = ApiKeyResponse),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing api_keys:read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key for this customer", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_api_key(
    principal: CustomerPrincipal<ApiKeysRead>,
    KeyIdPath(id): KeyIdPath,
    state: web::Data<AppState>,
) -> Result<web::Json<ApiKeyResponse>, ApiError> {
    let key = state.api_keys.get(principal.customer, id).await?;
    Ok(web::Json(ApiKeyResponse::from(&key)))
}

/// Create an API key. The response is the only time the full key is shown.
#[utoipa::path(
    post,
    path = "/v1/customer/api-keys",
    tag = "API keys",
    request_body = CreateApiKeyRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new key, with its secret", body = IssuedApiKeyResponse),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing api_keys:write", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "keys.max_per_customer active keys already", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_api_key(
    principal: CustomerPrincipal<ApiKeysWrite>,
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<CreateApiKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let context = principal.context();
    let request = body.try_into_domain(principal.subject)?;
    let issued = state
        .api_keys
        .create(&context, principal.customer, request)
        .await?;
    Ok(HttpResponse::Created().json(IssuedApiKeyResponse::from(&issued)))
}

/// Change a key's name, description, active flag or scopes.
#[utoipa::path(
    patch,
    path = "/v1/customer/api-keys/{id}",
    tag = "API keys",
    params(("id" = uuid::Uuid, Path, description = "The key's id")),
    request_body = UpdateApiKeyRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated key", body = ApiKeyResponse),
        (status = 400, description = "Invalid body or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing api_keys:write", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key for this customer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Re-activating would exceed keys.max_per_customer, the key was revoked (revocation is permanent), or the key kept changing concurrently (try again)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_api_key(
    principal: CustomerPrincipal<ApiKeysWrite>,
    KeyIdPath(id): KeyIdPath,
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<UpdateApiKeyRequest>,
) -> Result<web::Json<ApiKeyResponse>, ApiError> {
    let changes = body.try_into_domain()?;
    let key = state
        .api_keys
        .update(&principal.context(), principal.customer, id, changes)
        .await?;
    Ok(web::Json(ApiKeyResponse::from(&key)))
}

/// Revoke a key: it fails verification at once, with any grace-period secret.
#[utoipa::path(
    post,
    path = "/v1/customer/api-keys/{id}/revoke",
    tag = "API keys",
    params(("id" = uuid::Uuid, Path, description = "The key's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Revoked", body = MessageResponse),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing api_keys:revoke", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key for this customer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The key kept changing concurrently; try again", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_api_key(
    principal: CustomerPrincipal<ApiKeysRevoke>,
    KeyIdPath(id): KeyIdPath,
    state: web::Data<AppState>,
) -> Result<web::Json<MessageResponse>, ApiError> {
    state
        .api_keys
        .revoke(&principal.context(), principal.customer, id)
        .await?;
    Ok(web::Json(MessageResponse {
        message: "API key revoked successfully",
    }))
}

/// Replace a key's secret; the old one keeps working for `gracePeriodSeconds`.
#[utoipa::path(
    post,
    path = "/v1/customer/api-keys/{id}/rotate",
    tag = "API keys",
    params(("id" = uuid::Uuid, Path, description = "The key's id")),
    request_body(content = Option<RotateApiKeyRequest>, description = "Optional; default grace period 0"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The key with its new secret", body = IssuedApiKeyResponse),
        (status = 400, description = "Invalid body or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing api_keys:write", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key for this customer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The key is inactive or expired (also when revoked meanwhile), or it kept changing concurrently (try again)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "More than 5 rotations in an hour; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rotate_api_key(
    principal: CustomerPrincipal<ApiKeysWrite>,
    KeyIdPath(id): KeyIdPath,
    state: web::Data<AppState>,
    OptionalJsonBody(body): OptionalJsonBody<RotateApiKeyRequest>,
) -> Result<web::Json<IssuedApiKeyResponse>, ApiError> {
    let grace = body.try_into_domain()?;
    // Only a rotation that can go ahead spends the budget: a 404 or 409 must not lock
    // the customer out for an hour.
    state
        .api_keys
        .ensure_rotatable(principal.customer, id)
        .await?;
    state.rotation_limiter.check(principal.customer)?;
    let issued = state
        .api_keys
        .rotate(&principal.context(), principal.customer, id, grace)
        .await?;
    Ok(web::Json(IssuedApiKeyResponse::from(&issued)))
}

/// Delete a key for good.
#[utoipa::path(
    delete,
    path = "/v1/customer/api-keys/{id}",
    tag = "API keys",
    params(("id" = uuid::Uuid, Path, description = "The key's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing api_keys:write", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key for this customer", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_api_key(
    principal: CustomerPrincipal<ApiKeysWrite>,
    KeyIdPath(id): KeyIdPath,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state
        .api_keys
        .delete(&principal.context(), principal.customer, id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
