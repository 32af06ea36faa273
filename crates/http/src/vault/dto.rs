//! Wire shapes of the vault endpoints (SPEC §10): the credential as listings show it
//! (masked, never the secret), request bodies that carry a plaintext `secret` and convert
//! themselves into domain values, and the plaintext response `{provider, secret}`.

use std::fmt;

use keyward_domain::ports::{CredentialFilter, Page, PageRequest};
use keyward_domain::services::{CredentialChanges, CustomerCredentialInput, NewCredential};
use keyward_domain::vault::{
    CredentialDescription, CredentialName, Provider, SecretText, ServiceCredential,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::customer::api_keys::dto::{Pagination, not_null, number, present, utc};
use crate::error::ApiError;
use crate::schemas;
use crate::validation::validate;

/// A plaintext secret in a request body. Its `Debug` is redacted so a logged request
/// value can never show it; it becomes a `SecretText` (wiped on drop) at once.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct SecretInput(String);

impl fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretInput(<redacted>)")
    }
}

impl SecretInput {
    fn into_domain(self) -> Result<SecretText, ApiError> {
        SecretText::new(self.0).map_err(|err| ApiError::invalid_field("secret", err))
    }
}

/// A service credential as the admin and customer APIs show it: the secret only masked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceCredentialResponse {
    pub id: Uuid,
    #[schema(example = "openai")]
    pub provider: String,
    #[schema(example = "Production")]
    pub name: String,
    pub description: Option<String>,
    /// A recognisable prefix and the last 4 characters, e.g. `sk-…abcd` (`…` alone for
    /// secrets under 16 characters).
    #[schema(example = "sk-…abcd")]
    pub masked_secret: String,
    /// Only active credentials are ever decrypted.
    pub active: bool,
    /// When the plaintext was last retrieved.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&ServiceCredential> for ServiceCredentialResponse {
    fn from(credential: &ServiceCredential) -> Self {
        Self {
            id: credential.id().as_uuid(),
            provider: credential.provider().as_str().to_owned(),
            name: credential.name().as_str().to_owned(),
            description: credential.description().map(|d| d.as_str().to_owned()),
            masked_secret: credential.masked_secret().as_str().to_owned(),
            active: credential.is_active(),
            last_used_at: credential.last_used_at().map(utc),
            created_at: utc(credential.created_at()),
            updated_at: utc(credential.updated_at()),
        }
    }
}

/// One page of credentials, by provider, most recently updated first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceCredentialPage {
    pub data: Vec<ServiceCredentialResponse>,
    pub pagination: Pagination,
}

impl From<&Page<ServiceCredential>> for ServiceCredentialPage {
    fn from(page: &Page<ServiceCredential>) -> Self {
        Self {
            data: page
                .items
                .iter()
                .map(ServiceCredentialResponse::from)
                .collect(),
            pagination: Pagination::of(page),
        }
    }
}

/// A decrypted credential: the only response that carries a secret.
#[derive(Serialize, ToSchema)]
pub struct PlaintextResponse {
    #[schema(example = "openai")]
    pub provider: String,
    #[schema(example = "sk-proj-…")]
    pub secret: String,
}

impl fmt::Debug for PlaintextResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlaintextResponse")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// Body of `POST /v1/admin/service-keys`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateServiceCredentialRequest {
    /// Lowercase slug: 1 to 64 of `a-z`, `0-9`, `-`, `_`, starting with a letter or digit.
    #[schema(schema_with = schemas::provider)]
    pub provider: String,
    /// 1 to 100 characters, not only white space.
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    #[schema(schema_with = schemas::credential_name)]
    pub name: String,
    /// At most 500 characters.
    #[validate(length(max = 500, message = "must be at most 500 characters"))]
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// The plaintext, stored encrypted; never shown again by this API.
    #[schema(schema_with = schemas::secret)]
    pub secret: SecretInput,
    /// Default `true`.
    #[serde(default)]
    pub active: Option<bool>,
}

impl CreateServiceCredentialRequest {
    /// # Errors
    /// 400 naming the first field that breaks a rule.
    pub fn try_into_domain(self) -> Result<NewCredential, ApiError> {
        validate(&self)?;
        Ok(NewCredential {
            provider: provider(self.provider)?,
            name: credential_name(self.name)?,
            description: self.description.map(description).transpose()?,
            secret: self.secret.into_domain()?,
            active: self.active.unwrap_or(true),
        })
    }
}

/// Body of `PATCH /v1/admin/service-keys/{id}`: every field optional; `description: null`
/// clears it; `secret` replaces the stored secret. The provider cannot change.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateServiceCredentialRequest {
    /// 1 to 100 characters, not only white space; never `null`.
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schemas::credential_name)]
    pub name: Option<Option<String>>,
    /// At most 500 characters; `null` clears it.
    #[validate(length(max = 500, message = "must be at most 500 characters"))]
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, max_length = 500)]
    pub description: Option<Option<String>>,
    /// A new plaintext replacing the stored one; never `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schemas::secret)]
    pub secret: Option<Option<SecretInput>>,
    /// Whether the credential may be decrypted; never `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool, required = false)]
    pub active: Option<Option<bool>>,
}

impl UpdateServiceCredentialRequest {
    /// # Errors
    /// 400 naming the first field that breaks a rule.
    pub fn try_into_domain(self) -> Result<CredentialChanges, ApiError> {
        validate(&self)?;
        Ok(CredentialChanges {
            name: not_null("name", self.name)?
                .map(credential_name)
                .transpose()?,
            description: self
                .description
                .map(|text| text.map(description).transpose())
                .transpose()?,
            secret: not_null("secret", self.secret)?
                .map(SecretInput::into_domain)
                .transpose()?,
            active: not_null("active", self.active)?,
        })
    }
}

/// Body of `PUT /v1/customer/service-keys/{provider}`: the credential as a whole. Without
/// a name the provider is used; a left-out description is cleared.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PutServiceCredentialRequest {
    /// 1 to 100 characters, not only white space; left out or `null`: the provider.
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    #[serde(default)]
    #[schema(schema_with = schemas::credential_name_or_null)]
    pub name: Option<String>,
    /// At most 500 characters; left out or `null`: none.
    #[validate(length(max = 500, message = "must be at most 500 characters"))]
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// The plaintext, stored encrypted.
    #[schema(schema_with = schemas::secret)]
    pub secret: SecretInput,
    /// Default `true`.
    #[serde(default)]
    pub active: Option<bool>,
}

impl PutServiceCredentialRequest {
    /// # Errors
    /// 400 naming the first field that breaks a rule.
    pub fn try_into_domain(self) -> Result<CustomerCredentialInput, ApiError> {
        validate(&self)?;
        Ok(CustomerCredentialInput {
            name: self.name.map(credential_name).transpose()?,
            description: self.description.map(description).transpose()?,
            secret: self.secret.into_domain()?,
            active: self.active.unwrap_or(true),
        })
    }
}

/// Query of the credential listings. Read as text so each bad value is reported with
/// its parameter's name.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListServiceCredentialsQuery {
    /// Page number, 1 to 2147483647 (default 1).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 2_147_483_647)]
    pub page: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Only this provider's credentials; empty for all (the pattern is
    /// [`schemas::PROVIDER_PATTERN`]).
    #[param(value_type = Option<String>, pattern = "^[a-z0-9][a-z0-9_-]{0,63}$", example = "openai")]
    pub provider: Option<String>,
    /// `true` or `false` to list only active or disabled credentials; empty for all.
    #[param(value_type = Option<bool>)]
    pub active: Option<String>,
}

impl ListServiceCredentialsQuery {
    /// # Errors
    /// 400 naming the parameter.
    pub fn try_into_domain(self) -> Result<(CredentialFilter, PageRequest), ApiError> {
        let page = number("page", self.page.as_deref(), 1)?;
        let limit = number("limit", self.limit.as_deref(), 20)?;
        let provider = match self.provider.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(slug) => Some(provider(slug.to_owned())?),
        };
        let active = match self.active.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return Err(ApiError::invalid_field("active", "must be true or false")),
        };
        Ok((
            CredentialFilter { provider, active },
            PageRequest::new(page, limit)?,
        ))
    }
}

/// Parses a provider slug, reporting `provider: …`.
pub fn provider(slug: String) -> Result<Provider, ApiError> {
    Provider::new(slug).map_err(|err| ApiError::invalid_field("provider", err))
}

fn credential_name(name: String) -> Result<CredentialName, ApiError> {
    CredentialName::new(name).map_err(|err| ApiError::invalid_field("name", err))
}

fn description(text: String) -> Result<CredentialDescription, ApiError> {
    CredentialDescription::new(text).map_err(|err| ApiError::invalid_field("description", err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_body_debug_never_shows_the_secret() {
        let body: CreateServiceCredentialRequest = serde_json::from_value(serde_json::json!({
            "provider": "openai", "name": "Production", "secret": "sk-live-do-not-print"
        }))
        .unwrap();

        assert!(!format!("{body:?}").contains("do-not-print"));
    }

    #[test]
    fn create_refuses_a_provider_that_is_not_a_slug() {
        let body: CreateServiceCredentialRequest = serde_json::from_value(serde_json::json!({
            "provider": "Open AI", "name": "Production", "secret": "sk-live-1234567890"
        }))
        .unwrap();

        let err = body.try_into_domain().unwrap_err();

        assert!(err.detail().starts_with("provider: "), "{}", err.detail());
    }

    #[test]
    fn create_refuses_a_blank_secret() {
        let body: CreateServiceCredentialRequest = serde_json::from_value(serde_json::json!({
            "provider": "openai", "name": "Production", "secret": "   "
        }))
        .unwrap();

        assert_eq!(
            body.try_into_domain().unwrap_err().detail(),
            "secret: must not be empty"
        );
    }

    #[test]
    fn patch_refuses_a_null_secret_but_accepts_a_null_description() {
        let null_secret: UpdateServiceCredentialRequest =
            serde_json::from_value(serde_json::json!({"secret": null})).unwrap();
        let null_description: UpdateServiceCredentialRequest =
            serde_json::from_value(serde_json::json!({"description": null})).unwrap();

        assert_eq!(
            null_secret.try_into_domain().unwrap_err().detail(),
            "secret: must not be null"
        );
        let changes = null_description.try_into_domain().unwrap();
        assert!(matches!(changes.description, Some(None)));
        assert!(changes.secret.is_none());
    }

    #[test]
    fn plaintext_response_debug_never_shows_the_secret() {
        let response = PlaintextResponse {
            provider: "openai".into(),
            secret: "sk-live-do-not-print".into(),
        };

        assert!(!format!("{response:?}").contains("do-not-print"));
    }
}
