//! A customer's own third-party credentials, bring-your-own-key (SPEC §10), under
//! `/v1/customer/service-keys`: one per provider, addressed by the provider slug; `PUT`
//! creates or replaces. Responses show only the masked secret; the plaintext is only
//! ever returned to the customer's integrations through `/v1/validate/keys/{provider}`.

use actix_web::{HttpResponse, web};
use keyward_domain::vault::CredentialOwner;
use utoipa::OpenApi;

use crate::auth::CustomerPrincipal;
use crate::auth::permissions::{ServiceKeysRead, ServiceKeysWrite};
use crate::error::{ApiError, Problem};
use crate::extract::JsonBody;
use crate::state::AppState;
use crate::vault::dto::{
    ListServiceCredentialsQuery, PutServiceCredentialRequest, ServiceCredentialPage,
    ServiceCredentialResponse,
};
use crate::vault::{ProviderParam, ProviderPath, upserted_response, vault};

/// Registers the routes, relative to `/v1/customer`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/service-keys").route(web::get().to(list_own_keys)))
        .service(
            web::resource("/service-keys/{provider}")
                .route(web::get().to(get_own_key))
                .route(web::put().to(put_own_key))
                .route(web::delete().to(delete_own_key)),
        );
}

#[derive(Debug, OpenApi)]
#[openapi(
    paths(list_own_keys, get_own_key, put_own_key, delete_own_key),
    components(schemas(
        ServiceCredentialResponse,
        ServiceCredentialPage,
        PutServiceCredentialRequest,
        Problem
    ))
)]
pub struct CustomerServiceKeysDoc;

/// List the customer's credentials by provider (masked).
#[utoipa::path(
    get,
    path = "/v1/customer/service-keys",
    tag = "Service keys",
    params(ListServiceCredentialsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of credentials (masked)", body = ServiceCredentialPage),
        (status = 400, description = "Bad page, limit, provider or active", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing service_keys:read", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The vault is not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_own_keys(
    principal: CustomerPrincipal<ServiceKeysRead>,
    state: web::Data<AppState>,
    query: web::Query<ListServiceCredentialsQuery>,
) -> Result<web::Json<ServiceCredentialPage>, ApiError> {
    let (filter, page) = query.into_inner().try_into_domain()?;
    let owner = CredentialOwner::Customer(principal.customer);
    let credentials = vault(&state)?.list(owner, &filter, page).await?;
    Ok(web::Json(ServiceCredentialPage::from(&credentials)))
}

/// Read the customer's credential for a provider (masked).
#[utoipa::path(
    get,
    path = "/v1/customer/service-keys/{provider}",
    tag = "Service keys",
    params(ProviderParam),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The credential", body = ServiceCredentialResponse),
        (status = 400, description = "The provider is not a lowercase slug", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing service_keys:read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No credential for this provider", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The vault is not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_own_key(
    principal: CustomerPrincipal<ServiceKeysRead>,
    ProviderPath(provider): ProviderPath,
    state: web::Data<AppState>,
) -> Result<web::Json<ServiceCredentialResponse>, ApiError> {
    let credential = vault(&state)?
        .get_for_customer(principal.customer, &provider)
        .await?;
    Ok(web::Json(ServiceCredentialResponse::from(&credential)))
}

/// Create or replace the customer's credential for a provider.
#[utoipa::path(
    put,
    path = "/v1/customer/service-keys/{provider}",
    tag = "Service keys",
    params(ProviderParam),
    request_body = PutServiceCredentialRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created (masked)", body = ServiceCredentialResponse),
        (status = 200, description = "Replaced (masked); id and createdAt are kept", body = ServiceCredentialResponse),
        (status = 400, description = "Invalid body or provider", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing service_keys:write", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The vault is not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_own_key(
    principal: CustomerPrincipal<ServiceKeysWrite>,
    ProviderPath(provider): ProviderPath,
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<PutServiceCredentialRequest>,
) -> Result<HttpResponse, ApiError> {
    let vault = vault(&state)?;
    let input = body.try_into_domain()?;
    let upserted = vault
        .put_for_customer(&principal.context(), principal.customer, provider, input)
        .await?;
    Ok(upserted_response(&upserted))
}

/// Delete the customer's credential for a provider.
#[utoipa::path(
    delete,
    path = "/v1/customer/service-keys/{provider}",
    tag = "Service keys",
    params(ProviderParam),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The provider is not a lowercase slug", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing service_keys:write", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No credential for this provider", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The vault is not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_own_key(
    principal: CustomerPrincipal<ServiceKeysWrite>,
    ProviderPath(provider): ProviderPath,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    vault(&state)?
        .delete_for_customer(&principal.context(), principal.customer, &provider)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
