//! The internal service API (SPEC §13): what the platform's other services do for a
//! customer without a customer token — the seed Key Service's `/internal/api-keys` and
//! `/internal/keys` routes. Every route wants `X-Service-Key` (`internal.service_key`,
//! compared in constant time; unset → 503) and names the customer in the body or the
//! `customerId` query parameter.
//!
//! The rules are the customer API's: keys go through the same `ApiKeyService` (name,
//! scopes, expiry, `keys.max_per_customer`, `keys.default_ttl_days`) and credentials
//! through the same `VaultService`, which record the audit events (SPEC §12) with the
//! actor `{type: "service", id: "internal"}`.

use std::future::Future;

use actix_web::{HttpResponse, web};
use keyward_domain::CustomerId;
use keyward_domain::ports::{CredentialFilter, KeyFilter, MAX_PAGE_LIMIT, Page, PageRequest};
use keyward_domain::services::ApiKeyError;
use keyward_domain::vault::CredentialOwner;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::customer::api_keys::dto::{ApiKeyResponse, CreateApiKeyRequest, IssuedApiKeyResponse};
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, KeyIdPath};
use crate::schemas::{self, ScopeName};
use crate::state::AppState;
use crate::vault::dto::{
    PutServiceCredentialRequest, SecretInput, ServiceCredentialResponse, provider,
};
use crate::vault::retrieval::plaintext;
use crate::vault::upserted_response;
use crate::vault::{InternalCaller, ProviderParam, ProviderPath, vault};

/// The `created_by` of keys created through this API.
pub const INTERNAL_ACTOR: &str = "internal-service";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/internal/api-keys")
            .route(web::get().to(list_api_keys))
            .route(web::post().to(create_api_key)),
    )
    .service(web::resource("/internal/api-keys/{id}").route(web::delete().to(delete_api_key)))
    .service(
        web::resource("/internal/keys")
            .route(web::get().to(list_credentials))
            .route(web::post().to(put_credential)),
    )
    .service(web::resource("/internal/keys/{provider}").route(web::delete().to(delete_credential)))
    .service(
        web::resource("/internal/keys/{provider}/decrypt").route(web::get().to(reveal_credential)),
    );
}

#[derive(Debug, OpenApi)]
#[openapi(
    paths(
        list_api_keys,
        create_api_key,
        delete_api_key,
        list_credentials,
        put_credential,
        delete_credential,
        reveal_credential
    ),
    components(schemas(
        InternalApiKeyList,
        InternalCreateApiKeyRequest,
        InternalCredentialList,
        InternalPutCredentialRequest,
        Problem
    ))
)]
pub struct InternalDoc;

/// The `customerId` query parameter every route without a body takes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    /// The customer acted for (a UUID).
    #[serde(rename = "customerId")]
    #[param(rename = "customerId", value_type = String, format = Uuid, required = true)]
    pub customer_id: Option<String>,
}

impl CustomerQuery {
    /// # Errors
    /// 400 `customerId: …` when missing or not a UUID.
    fn customer(&self) -> Result<CustomerId, ApiError> {
        self.optional_customer()?
            .ok_or_else(|| ApiError::invalid_field("customerId", "is required"))
    }

    /// The customer when the parameter is given (and not empty).
    ///
    /// # Errors
    /// 400 `customerId: must be a UUID`.
    fn optional_customer(&self) -> Result<Option<CustomerId>, ApiError> {
        self.customer_id
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(customer_id)
            .transpose()
    }
}

/// A `customerId` (query or body).
///
/// # Errors
/// 400 `customerId: must be a UUID`.
fn customer_id(text: &str) -> Result<CustomerId, ApiError> {
    Uuid::parse_str(text.trim())
        .map(CustomerId::from_uuid)
        .map_err(|_| ApiError::invalid_field("customerId", "must be a UUID"))
}

/// The optional `customerId` of `DELETE /internal/api-keys/{id}`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OptionalCustomerQuery {
    /// When given, the key must belong to this customer (else 404).
    #[serde(rename = "customerId")]
    #[param(rename = "customerId", value_type = Option<String>, format = Uuid)]
    pub customer_id: Option<String>,
}

/// Every page of a listing, fetched `MAX_PAGE_LIMIT` at a time: the internal listings
/// answer with all of a customer's items at once.
async fn every_page<T, E, F, Fut>(mut fetch: F) -> Result<Vec<T>, ApiError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, E>>,
    ApiError: From<E>,
{
    let mut items = Vec::new();
    for page in 1.. {
        let found = fetch(PageRequest::new(page, MAX_PAGE_LIMIT)?).await?;
        let last = found.items.len() < MAX_PAGE_LIMIT as usize;
        items.extend(found.items);
        if last {
            break;
        }
    }
    Ok(items)
}

/// A customer's API keys, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct InternalApiKeyList {
    pub data: Vec<ApiKeyResponse>,
}

/// Body of `POST /internal/api-keys`: the customer API's create body plus the customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InternalCreateApiKeyRequest {
    /// The customer the key belongs to (a UUID).
    #[schema(value_type = String, format = Uuid)]
    pub customer_id: String,
    /// 1 to 100 characters, not only white space.
    #[schema(schema_with = schemas::key_name)]
    pub name: String,
    /// At most 500 characters.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// RFC 3339, in the future. Left out: `keys.default_ttl_days` after creation, or
    /// never when that setting is 0.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime, example = "2027-01-01T00:00:00Z")]
    pub expires_at: Option<String>,
    /// 1 to 20 scopes.
    #[schema(value_type = Vec<ScopeName>, min_items = 1, max_items = 20, example = json!(["requests:write", "songdb:read"]))]
    pub scopes: Vec<String>,
}

/// List a customer's API keys (internal services).
#[utoipa::path(
    get,
    path = "/internal/api-keys",
    operation_id = "internal_list_api_keys",
    tag = "Internal",
    params(CustomerQuery),
    security(("service_key" = [])),
    responses(
        (status = 200, description = "Every key of the customer, newest first (never a secret)", body = InternalApiKeyList),
        (status = 400, description = "customerId missing or not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Service Key Required, or Invalid Service Key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "internal.service_key is not configured, or the database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_api_keys(
    _: InternalCaller,
    query: web::Query<CustomerQuery>,
    state: web::Data<AppState>,
) -> Result<web::Json<InternalApiKeyList>, ApiError> {
    let customer = query.customer()?;
    let keys = every_page(|page| state.api_keys.list(customer, KeyFilter::default(), page)).await?;
    Ok(web::Json(InternalApiKeyList {
        data: keys.iter().map(ApiKeyResponse::from).collect(),
    }))
}

/// Create an API key for a customer (internal services). The key is in the answer only.
#[utoipa::path(
    post,
    path = "/internal/api-keys",
    operation_id = "internal_create_api_key",
    tag = "Internal",
    request_body = InternalCreateApiKeyRequest,
    security(("service_key" = [])),
    responses(
        (status = 201, description = "Created; `key` is shown only now", body = IssuedApiKeyResponse),
        (status = 400, description = "A field breaks a rule (named in detail)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Service Key Required, or Invalid Service Key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The customer has keys.max_per_customer active keys", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "internal.service_key is not configured, or the database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_api_key(
    caller: InternalCaller,
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<InternalCreateApiKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let customer = customer_id(&body.customer_id)?;
    let request = CreateApiKeyRequest {
        name: body.name,
        description: body.description,
        expires_at: body.expires_at,
        scopes: body.scopes,
    }
    .try_into_domain(INTERNAL_ACTOR.to_owned())?;
    let issued = state
        .api_keys
        .create(&caller.context(), customer, request)
        .await?;
    Ok(HttpResponse::Created().json(IssuedApiKeyResponse::from(&issued)))
}

/// Delete an API key (internal services). With `customerId`, only that customer's key:
/// another customer's is 404, as everywhere (SPEC §5).
#[utoipa::path(
    delete,
    path = "/internal/api-keys/{id}",
    operation_id = "internal_delete_api_key",
    tag = "Internal",
    params(("id" = uuid::Uuid, Path, description = "The key's id"), OptionalCustomerQuery),
    security(("service_key" = [])),
    responses(
        (status = 204, description = "Deleted: it fails verification at once"),
        (status = 400, description = "The id or customerId is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Service Key Required, or Invalid Service Key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No key has this id (for this customerId, when given)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "internal.service_key is not configured, or the database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_api_key(
    caller: InternalCaller,
    KeyIdPath(id): KeyIdPath,
    query: web::Query<OptionalCustomerQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let named = CustomerQuery {
        customer_id: query.into_inner().customer_id,
    }
    .optional_customer()?;
    let key = state.api_keys.find_any(id).await?;
    if named.is_some_and(|customer| customer != key.customer_id()) {
        return Err(ApiKeyError::NotFound.into());
    }
    state
        .api_keys
        .delete(&caller.context(), key.customer_id(), id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A customer's credentials (masked), one per provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct InternalCredentialList {
    pub data: Vec<ServiceCredentialResponse>,
}

/// Body of `POST /internal/keys`: a customer's credential for a provider, created or
/// replaced (the customer API's `PUT /v1/customer/service-keys/{provider}`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InternalPutCredentialRequest {
    /// The customer the credential belongs to (a UUID).
    #[schema(value_type = String, format = Uuid)]
    pub customer_id: String,
    /// Provider slug, e.g. `openai`.
    #[schema(
        pattern = "^[a-z0-9][a-z0-9_-]{0,63}$",
        max_length = 64,
        example = "openai"
    )]
    pub provider: String,
    /// The plaintext, stored encrypted.
    #[schema(schema_with = schemas::secret)]
    pub secret: SecretInput,
    /// 1 to 100 characters; left out or `null`: the provider.
    #[serde(default)]
    #[schema(schema_with = schemas::credential_name_or_null)]
    pub name: Option<String>,
}

/// List a customer's credentials, masked (internal services).
#[utoipa::path(
    get,
    path = "/internal/keys",
    operation_id = "internal_list_credentials",
    tag = "Internal",
    params(CustomerQuery),
    security(("service_key" = [])),
    responses(
        (status = 200, description = "Every credential of the customer (masked), most recently updated first", body = InternalCredentialList),
        (status = 400, description = "customerId missing or not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Service Key Required, or Invalid Service Key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The vault or internal access is not configured, or the database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_credentials(
    _: InternalCaller,
    query: web::Query<CustomerQuery>,
    state: web::Data<AppState>,
) -> Result<web::Json<InternalCredentialList>, ApiError> {
    let customer = query.customer()?;
    let vault = vault(&state)?;
    let owner = CredentialOwner::Customer(customer);
    let filter = CredentialFilter::default();
    let credentials = every_page(|page| vault.list(owner, &filter, page)).await?;
    Ok(web::Json(InternalCredentialList {
        data: credentials
            .iter()
            .map(ServiceCredentialResponse::from)
            .collect(),
    }))
}

/// Create or replace a customer's credential for a provider (internal services).
#[utoipa::path(
    post,
    path = "/internal/keys",
    operation_id = "internal_put_credential",
    tag = "Internal",
    request_body = InternalPutCredentialRequest,
    security(("service_key" = [])),
    responses(
        (status = 201, description = "Created (masked)", body = ServiceCredentialResponse),
        (status = 200, description = "Replaced (masked); id and createdAt are kept", body = ServiceCredentialResponse),
        (status = 400, description = "A field breaks a rule (named in detail)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Service Key Required, or Invalid Service Key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The vault or internal access is not configured, or the database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_credential(
    caller: InternalCaller,
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<InternalPutCredentialRequest>,
) -> Result<HttpResponse, ApiError> {
    let vault = vault(&state)?;
    let customer = customer_id(&body.customer_id)?;
    let provider = provider(body.provider)?;
    let request = PutServiceCredentialRequest {
        name: body.name,
        description: None,
        secret: body.secret,
        active: None,
    };
    let upserted = vault
        .put_for_customer(
            &caller.context(),
            customer,
            provider,
            request.try_into_domain()?,
        )
        .await?;
    Ok(upserted_response(&upserted))
}

/// Delete a customer's credential for a provider (internal services).
#[utoipa::path(
    delete,
    path = "/internal/keys/{provider}",
    operation_id = "internal_delete_credential",
    tag = "Internal",
    params(ProviderParam, CustomerQuery),
    security(("service_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "customerId or the provider is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Service Key Required, or Invalid Service Key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The customer has no credential for this provider", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The vault or internal access is not configured, or the database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_credential(
    caller: InternalCaller,
    ProviderPath(provider): ProviderPath,
    query: web::Query<CustomerQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let customer = query.customer()?;
    vault(&state)?
        .delete_for_customer(&caller.context(), customer, &provider)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The plaintext of a customer's active credential for a provider (internal services).
#[utoipa::path(
    get,
    path = "/internal/keys/{provider}/decrypt",
    operation_id = "internal_reveal_credential",
    tag = "Internal",
    params(ProviderParam, CustomerQuery),
    security(("service_key" = [])),
    responses(
        (status = 200, description = "The plaintext (Cache-Control: no-store)", body = crate::vault::dto::PlaintextResponse),
        (status = 400, description = "customerId or the provider is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Service Key Required, or Invalid Service Key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The customer has no active credential for this provider", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The vault or internal access is not configured, or the database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reveal_credential(
    caller: InternalCaller,
    ProviderPath(provider): ProviderPath,
    query: web::Query<CustomerQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let customer = query.customer()?;
    let revealed = vault(&state)?
        .reveal(
            &caller.context(),
            CredentialOwner::Customer(customer),
            &provider,
        )
        .await?;
    Ok(plaintext(&revealed))
}
