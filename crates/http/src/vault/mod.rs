//! The HTTP side of the service credentials vault (SPEC §10) that is not part of the
//! customer or admin areas: plaintext retrieval (`/v1/validate/keys/{provider}` for an
//! API key with `secrets:read`, `/internal/service-keys/{provider}/decrypt` for internal
//! services), plus what every vault route shares — the DTOs, path extractors, the 503
//! when no master key is configured. The `VaultService` records the audit events of
//! every change and plaintext read (SPEC §12).

pub mod dto;
pub mod internal;
pub mod retrieval;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures::future::{Ready, ready};
use keyward_domain::CredentialId;
use keyward_domain::services::{Upserted, VaultService};
use keyward_domain::vault::Provider;
use utoipa::IntoParams;

use crate::error::{ApiError, ProblemType};
use crate::extract::uuid_param;
#[cfg(doc)]
use crate::schemas;
use crate::state::AppState;

pub use internal::{INTERNAL_SERVICE_KEY_HEADER, InternalCaller, InternalServiceKey};
pub use retrieval::{RetrievalDoc, configure};

/// The answer to a credential upsert (customer `PUT /v1/customer/service-keys/{provider}`,
/// internal `POST /internal/keys`): 201 when it was created, 200 when replaced; the
/// credential masked.
pub(crate) fn upserted_response(upserted: &Upserted) -> actix_web::HttpResponse {
    let response = dto::ServiceCredentialResponse::from(&upserted.credential);
    if upserted.created {
        actix_web::HttpResponse::Created().json(response)
    } else {
        actix_web::HttpResponse::Ok().json(response)
    }
}

/// Detail of the 503 every vault route answers when no master key is configured.
pub const VAULT_NOT_CONFIGURED: &str =
    "the credentials vault is not configured: set vault.master_key or vault.master_key_file";

/// The vault, or 503 when the service runs without a master key.
pub(crate) fn vault(state: &AppState) -> Result<&VaultService, ApiError> {
    state
        .vault
        .as_ref()
        .ok_or_else(|| ApiError::new(ProblemType::ServiceUnavailable, VAULT_NOT_CONFIGURED))
}

/// The `{provider}` path parameter: a lowercase slug, else 400 `provider: …`.
#[derive(Debug, Clone)]
pub struct ProviderPath(pub Provider);

/// The OpenAPI description of the `{provider}` path parameter (`params(ProviderParam)`);
/// the pattern is [`schemas::PROVIDER_PATTERN`], which a test holds it to.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProviderParam {
    /// Provider slug, e.g. `openai`: 1 to 64 of a-z, 0-9, '-' and '_', starting with a
    /// letter or digit.
    #[param(
        pattern = "^[a-z0-9][a-z0-9_-]{0,63}$",
        max_length = 64,
        example = "openai"
    )]
    pub provider: String,
}

impl FromRequest for ProviderPath {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let slug = req.match_info().get("provider").unwrap_or_default();
        ready(dto::provider(slug.to_owned()).map(ProviderPath))
    }
}

/// The `{id}` path parameter of an admin credential route.
#[derive(Debug, Clone, Copy)]
pub struct CredentialIdPath(pub CredentialId);

impl FromRequest for CredentialIdPath {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(uuid_param(req, "id").map(|id| CredentialIdPath(CredentialId::from_uuid(id))))
    }
}
