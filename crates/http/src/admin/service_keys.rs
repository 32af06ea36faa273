//! The platform's service credentials (SPEC §10), managed by admins under
//! `/v1/admin/service-keys`: list, read, create, update (including replacing the secret),
//! enable, disable, delete. Responses show only the masked secret; the plaintext leaves
//! the service only through the internal decrypt endpoint.

use actix_web::{HttpResponse, web};
use keyward_domain::CredentialId;
use keyward_domain::vault::CredentialOwner;
use utoipa::OpenApi;

use crate::auth::AdminPrincipal;
use crate::error::{ApiError, Problem};
use crate::extract::JsonBody;
use crate::state::AppState;
use crate::vault::dto::{
    CreateServiceCredentialRequest, ListServiceCredentialsQuery, ServiceCredentialPage,
    ServiceCredentialResponse, UpdateServiceCredentialRequest,
};
use crate::vault::{CredentialIdPath, vault};

const PLATFORM: CredentialOwner = CredentialOwner::Platform;

/// Registers the routes, relative to `/v1/admin`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/service-keys")
            .route(web::get().to(list_platform_keys))
            .route(web::post().to(create_platform_key)),
    )
    .service(
        web::resource("/service-keys/{id}")
            .route(web::get().to(get_platform_key))
            .route(web::patch().to(update_platform_key))
            .route(web::delete().to(delete_platform_key)),
    )
    .service(web::resource("/service-keys/{id}/enable").route(web::post().to(enable_platform_key)))
    .service(
        web::resource("/service-keys/{id}/disable").route(web::post().to(disable_platform_key)),
    );
}

#[derive(Debug, OpenApi)]
#[openapi(
    paths(
        list_platform_keys,
        get_platform_key,
        create_platform_key,
        update_platform_key,
        enable_platform_key,
        disable_platform_key,
        delete_platform_key
    ),
    components(schemas(
        ServiceCredentialResponse,
        ServiceCredentialPage,
        CreateServiceCredentialRequest,
        UpdateServiceCredentialRequest,
        Problem
    ))
)]
pub struct AdminServiceKeysDoc;

/// List the platform's credentials by provider, most recently updated first.
#[utoipa::path(
    get,
    path = "/v1/admin/service-keys",
    tag = "Service keys",
    params(ListServiceCredentialsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of credentials (masked)", body = ServiceCredentialPage),
        (status = 400, description = "Bad page, limit, provider or active", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin context", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The vault is not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_platform_keys(
    _: AdminPrincipal,
    state: web::Data<AppState>,
    query: web::Query<ListServiceCredentialsQuery>,
) -> Result<web::Json<ServiceCredentialPage>, ApiError> {
    let (filter, page) = query.into_inner().try_into_domain()?;
    let credentials = vault(&state)?.list(PLATFORM, &filter, page).await?;
    Ok(web::Json(ServiceCredentialPage::from(&credentials)))
}

/// Read one platform credential (masked).
#[utoipa::path(
    get,
    path = "/v1/admin/service-keys/{id}",
    tag = "Service keys",
    params(("id" = uuid::Uuid, Path, description = "The credential's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The credential", body = ServiceCredentialResponse),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin context", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such platform credential", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The vault is not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_platform_key(
    _: AdminPrincipal,
    CredentialIdPath(id): CredentialIdPath,
    state: web::Data<AppState>,
) -> Result<web::Json<ServiceCredentialResponse>, ApiError> {
    let credential = vault(&state)?.get(PLATFORM, id).await?;
    Ok(web::Json(ServiceCredentialResponse::from(&credential)))
}

/// Store a new platform credential; the secret is encrypted and never shown again.
#[utoipa::path(
    post,
    path = "/v1/admin/service-keys",
    tag = "Service keys",
    request_body = CreateServiceCredentialRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The stored credential (masked)", body = ServiceCredentialResponse),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin context", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The vault is not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_platform_key(
    admin: AdminPrincipal,
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<CreateServiceCredentialRequest>,
) -> Result<HttpResponse, ApiError> {
    let vault = vault(&state)?;
    let request = body.try_into_domain()?;
    let created = vault.create(&admin.context(), PLATFORM, request).await?;
    Ok(HttpResponse::Created().json(ServiceCredentialResponse::from(&created)))
}

/// Change a platform credential's name, description, active flag or secret.
#[utoipa::path(
    patch,
    path = "/v1/admin/service-keys/{id}",
    tag = "Service keys",
    params(("id" = uuid::Uuid, Path, description = "The credential's id")),
    request_body = UpdateServiceCredentialRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated credential (masked)", body = ServiceCredentialResponse),
        (status = 400, description = "Invalid body or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin context", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such platform credential", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The vault is not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_platform_key(
    admin: AdminPrincipal,
    CredentialIdPath(id): CredentialIdPath,
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<UpdateServiceCredentialRequest>,
) -> Result<web::Json<ServiceCredentialResponse>, ApiError> {
    let vault = vault(&state)?;
    let changes = body.try_into_domain()?;
    let updated = vault
        .update(&admin.context(), PLATFORM, id, changes)
        .await?;
    Ok(web::Json(ServiceCredentialResponse::from(&updated)))
}

/// Enable a platform credential: it may be decrypted again.
#[utoipa::path(
    post,
    path = "/v1/admin/service-keys/{id}/enable",
    tag = "Service keys",
    params(("id" = uuid::Uuid, Path, description = "The credential's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The enabled credential", body = ServiceCredentialResponse),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin context", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such platform credential", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The vault is not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn enable_platform_key(
    admin: AdminPrincipal,
    CredentialIdPath(id): CredentialIdPath,
    state: web::Data<AppState>,
) -> Result<web::Json<ServiceCredentialResponse>, ApiError> {
    set_active(&admin, id, &state, true).await
}

/// Disable a platform credential: it is never decrypted until enabled again.
#[utoipa::path(
    post,
    path = "/v1/admin/service-keys/{id}/disable",
    tag = "Service keys",
    params(("id" = uuid::Uuid, Path, description = "The credential's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The disabled credential", body = ServiceCredentialResponse),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin context", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such platform credential", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The vault is not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn disable_platform_key(
    admin: AdminPrincipal,
    CredentialIdPath(id): CredentialIdPath,
    state: web::Data<AppState>,
) -> Result<web::Json<ServiceCredentialResponse>, ApiError> {
    set_active(&admin, id, &state, false).await
}

/// Enables or disables a platform credential (audited by the vault).
async fn set_active(
    admin: &AdminPrincipal,
    id: CredentialId,
    state: &AppState,
    active: bool,
) -> Result<web::Json<ServiceCredentialResponse>, ApiError> {
    let updated = vault(state)?
        .set_active(&admin.context(), PLATFORM, id, active)
        .await?;
    Ok(web::Json(ServiceCredentialResponse::from(&updated)))
}

/// Delete a platform credential for good.
#[utoipa::path(
    delete,
    path = "/v1/admin/service-keys/{id}",
    tag = "Service keys",
    params(("id" = uuid::Uuid, Path, description = "The credential's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin context", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such platform credential", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The vault is not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_platform_key(
    admin: AdminPrincipal,
    CredentialIdPath(id): CredentialIdPath,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    vault(&state)?
        .delete(&admin.context(), PLATFORM, id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
