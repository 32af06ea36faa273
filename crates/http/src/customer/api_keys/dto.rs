//! Wire shapes of the API key endpoints (SPEC §6): request bodies that validate and
//! convert themselves into domain values, and response bodies built from domain models.
//! The domain types never cross the wire directly.

use keyward_domain::keys::{ApiKey, Description, KeyName};
use keyward_domain::ports::{KeyFilter, Page, PageRequest, truncate_to_micros};
use keyward_domain::services::{GracePeriod, IssuedKey, KeyChanges, NewKey};
use keyward_domain::{Scope, ScopeSet};
use serde::{Deserialize, Deserializer, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::schemas::{self, ScopeName};
use crate::validation::validate;

/// Body of `POST /v1/customer/api-keys`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// 1 to 100 characters, not only white space.
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    #[schema(schema_with = schemas::key_name)]
    pub name: String,
    /// At most 500 characters.
    #[validate(length(max = 500, message = "must be at most 500 characters"))]
    #[serde(default)]
    #[schema(max_length = 500, example = "Song requests from the lobby tablet")]
    pub description: Option<String>,
    /// RFC 3339, in the future. Left out: the key expires `keys.default_ttl_days` after
    /// its creation, or never when that setting is 0 (the default).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime, example = "2027-01-01T00:00:00Z")]
    pub expires_at: Option<String>,
    /// 1 to 20 of the scopes listed by `GET /v1/customer/api-keys/scopes`.
    #[validate(length(min = 1, max = 20, message = "must list 1 to 20 scopes"))]
    #[schema(value_type = Vec<ScopeName>, min_items = 1, max_items = 20, example = json!(["requests:write", "songdb:read"]))]
    pub scopes: Vec<String>,
}

impl CreateApiKeyRequest {
    /// Checks every rule of the body and builds the domain request.
    ///
    /// # Errors
    /// 400 naming the first field that breaks a rule.
    pub fn try_into_domain(self, created_by: String) -> Result<NewKey, ApiError> {
        validate(&self)?;
        Ok(NewKey {
            name: key_name(self.name)?,
            description: self.description.map(description).transpose()?,
            scopes: ScopeSet::parse(&self.scopes)?,
            expires_at: self.expires_at.as_deref().map(parse_expiry).transpose()?,
            created_by: Some(created_by),
        })
    }
}

/// Body of `PATCH /v1/customer/api-keys/{id}`: every field optional; only `description`
/// may be `null` (it clears the description).
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateApiKeyRequest {
    /// 1 to 100 characters, not only white space; never `null`.
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schemas::key_name)]
    pub name: Option<Option<String>>,
    /// At most 500 characters; `null` clears it.
    #[validate(length(max = 500, message = "must be at most 500 characters"))]
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, max_length = 500)]
    pub description: Option<Option<String>>,
    /// `false` deactivates the key, `true` reactivates it (not after a revoke); never
    /// `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool, required = false)]
    pub active: Option<Option<bool>>,
    /// 1 to 20 scopes, replacing the key's; never `null`.
    #[validate(length(min = 1, max = 20, message = "must list 1 to 20 scopes"))]
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<ScopeName>, required = false, min_items = 1, max_items = 20)]
    pub scopes: Option<Option<Vec<String>>>,
}

/// Distinguishes a field sent as `null` (`Some(None)`) from one left out (`None`).
#[allow(
    clippy::option_option,
    reason = "absent, null and a value are three cases"
)]
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[allow(
    clippy::option_option,
    reason = "absent, null and a value are three cases"
)]
pub(crate) fn not_null<T>(field: &str, value: Option<Option<T>>) -> Result<Option<T>, ApiError> {
    match value {
        Some(None) => Err(ApiError::invalid_field(field, "must not be null")),
        Some(Some(value)) => Ok(Some(value)),
        None => Ok(None),
    }
}

impl UpdateApiKeyRequest {
    /// # Errors
    /// 400 naming the first field that breaks a rule.
    pub fn try_into_domain(self) -> Result<KeyChanges, ApiError> {
        validate(&self)?;
        Ok(KeyChanges {
            name: not_null("name", self.name)?.map(key_name).transpose()?,
            description: self
                .description
                .map(|text| text.map(description).transpose())
                .transpose()?,
            active: not_null("active", self.active)?,
            scopes: not_null("scopes", self.scopes)?
                .map(|names| ScopeSet::parse(&names))
                .transpose()?,
        })
    }
}

/// Optional body of `POST /v1/customer/api-keys/{id}/rotate`.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateApiKeyRequest {
    /// How long the old key keeps working, 0 to 604800 seconds (default 0).
    #[validate(range(min = 0, max = 604_800, message = "must be between 0 and 604800"))]
    #[serde(default, deserialize_with = "crate::whole::option")]
    #[schema(minimum = 0, maximum = 604_800, example = 3600)]
    pub grace_period_seconds: Option<i64>,
}

impl RotateApiKeyRequest {
    /// # Errors
    /// 400 when the grace period is out of range.
    pub fn try_into_domain(self) -> Result<GracePeriod, ApiError> {
        validate(&self)?;
        Ok(GracePeriod::from_seconds(
            self.grace_period_seconds.unwrap_or(0),
        )?)
    }
}

/// Query of `GET /v1/customer/api-keys`. Read as text so each bad value is reported
/// with its parameter's name.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListApiKeysQuery {
    /// Page number, 1 to 2147483647 (default 1).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 2_147_483_647)]
    pub page: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `true` or `false` to list only active or inactive keys; empty for all.
    #[param(value_type = Option<bool>)]
    pub active: Option<String>,
}

impl ListApiKeysQuery {
    /// # Errors
    /// 400 naming the parameter.
    pub fn try_into_domain(self) -> Result<(KeyFilter, PageRequest), ApiError> {
        let page = number("page", self.page.as_deref(), 1)?;
        let limit = number("limit", self.limit.as_deref(), 20)?;
        let active = match self.active.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return Err(ApiError::invalid_field("active", "must be true or false")),
        };
        Ok((KeyFilter { active }, PageRequest::new(page, limit)?))
    }
}

pub(crate) fn number(field: &str, raw: Option<&str>, default: u32) -> Result<u32, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(default),
        Some(text) => crate::whole::parse(text)
            .ok_or_else(|| ApiError::invalid_field(field, "must be a whole number")),
    }
}

fn key_name(name: String) -> Result<KeyName, ApiError> {
    KeyName::new(name).map_err(|err| ApiError::invalid_field("name", err))
}

fn description(text: String) -> Result<Description, ApiError> {
    Description::new(text).map_err(|err| ApiError::invalid_field("description", err))
}

fn parse_expiry(text: &str) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(|at| truncate_to_micros(at.to_offset(UtcOffset::UTC)))
        .map_err(|_| {
            ApiError::invalid_field(
                "expiresAt",
                "must be an RFC 3339 timestamp such as 2027-01-01T00:00:00Z",
            )
        })
}

/// An API key as the customer API shows it. Never carries the secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyResponse {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// The first characters of the key's body, to recognise it by.
    #[schema(example = "4fT9xQa")]
    pub prefix: String,
    #[schema(value_type = Vec<ScopeName>, example = json!(["requests:write", "songdb:read"]))]
    pub scopes: Vec<&'static str>,
    pub active: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

pub(crate) fn utc(at: OffsetDateTime) -> OffsetDateTime {
    at.to_offset(UtcOffset::UTC)
}

impl From<&ApiKey> for ApiKeyResponse {
    fn from(key: &ApiKey) -> Self {
        Self {
            id: key.id().as_uuid(),
            name: key.name().as_str().to_owned(),
            description: key.description().map(|d| d.as_str().to_owned()),
            prefix: key.display_prefix().as_str().to_owned(),
            scopes: key.scopes().names(),
            active: key.is_active(),
            last_used_at: key.last_used_at().map(utc),
            expires_at: key.expires_at().map(utc),
            created_at: utc(key.created_at()),
        }
    }
}

/// An API key with its secret: the answer to create and rotate, the only time the
/// secret is ever shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedApiKeyResponse {
    #[serde(flatten)]
    pub api_key: ApiKeyResponse,
    /// The full key. Store it now: it cannot be shown again.
    #[schema(example = "kw_4fT9xQa…")]
    pub key: String,
}

impl From<&IssuedKey> for IssuedApiKeyResponse {
    fn from(issued: &IssuedKey) -> Self {
        Self {
            api_key: ApiKeyResponse::from(&issued.key),
            key: issued.secret.expose().to_owned(),
        }
    }
}

/// Paging information of a listing.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub page: u32,
    pub limit: u32,
    pub total: u64,
    pub total_pages: u64,
}

impl Pagination {
    /// The paging information of `page`.
    pub fn of<T>(page: &Page<T>) -> Self {
        Self {
            page: page.request.page(),
            limit: page.request.limit(),
            total: page.total,
            total_pages: page.total_pages(),
        }
    }
}

/// One page of API keys, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyPage {
    pub data: Vec<ApiKeyResponse>,
    pub pagination: Pagination,
}

impl From<&Page<ApiKey>> for ApiKeyPage {
    fn from(page: &Page<ApiKey>) -> Self {
        Self {
            data: page.items.iter().map(ApiKeyResponse::from).collect(),
            pagination: Pagination::of(page),
        }
    }
}

/// Every scope a key can be granted.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScopesResponse {
    #[schema(value_type = Vec<ScopeName>, example = json!(["requests:read", "requests:write"]))]
    pub scopes: Vec<&'static str>,
}

impl ScopesResponse {
    pub fn all() -> Self {
        Self {
            scopes: Scope::ALL.iter().map(|scope| scope.as_str()).collect(),
        }
    }
}

/// A confirmation.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    #[schema(example = "API key revoked successfully")]
    pub message: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(json: serde_json::Value) -> Result<NewKey, ApiError> {
        serde_json::from_value::<CreateApiKeyRequest>(json)
            .unwrap()
            .try_into_domain("user-1".into())
    }

    #[test]
    fn unknown_scopes_are_all_named() {
        let err = create(serde_json::json!({"name": "n", "scopes": ["a", "requests:read", "b"]}))
            .unwrap_err();

        assert_eq!(err.detail(), "Invalid scopes: a, b");
    }

    #[test]
    fn name_of_101_characters_is_refused() {
        let err = create(serde_json::json!({"name": "x".repeat(101), "scopes": ["requests:read"]}))
            .unwrap_err();

        assert_eq!(err.detail(), "name: must be 1 to 100 characters");
    }

    #[test]
    fn blank_name_is_refused() {
        let err =
            create(serde_json::json!({"name": "   ", "scopes": ["requests:read"]})).unwrap_err();

        assert_eq!(err.detail(), "name: must not be empty");
    }

    #[test]
    fn expiry_with_an_offset_is_converted_to_utc() {
        let key = create(serde_json::json!({
            "name": "n", "scopes": ["requests:read"], "expiresAt": "2030-01-01T02:00:00+02:00"
        }))
        .unwrap();

        assert_eq!(
            key.expires_at,
            Some(time::macros::datetime!(2030-01-01 00:00 UTC))
        );
    }

    #[test]
    fn patch_distinguishes_null_from_absent() {
        let patch: UpdateApiKeyRequest =
            serde_json::from_value(serde_json::json!({"description": null})).unwrap();

        let changes = patch.try_into_domain().unwrap();

        assert!(matches!(changes.description, Some(None)));
        assert!(changes.name.is_none());
    }

    #[test]
    fn patch_refuses_null_name() {
        let patch: UpdateApiKeyRequest =
            serde_json::from_value(serde_json::json!({"name": null})).unwrap();

        assert_eq!(
            patch.try_into_domain().unwrap_err().detail(),
            "name: must not be null"
        );
    }

    #[test]
    fn a_grace_period_written_with_a_zero_fraction_is_whole_seconds() {
        let body: RotateApiKeyRequest =
            serde_json::from_value(serde_json::json!({"gracePeriodSeconds": 3600.0})).unwrap();

        assert_eq!(
            body.try_into_domain().unwrap().duration().whole_seconds(),
            3600
        );
    }

    #[test]
    fn a_page_written_with_a_zero_fraction_is_that_page() {
        let query = ListApiKeysQuery {
            page: Some("2.0".into()),
            limit: Some("1e1".into()),
            ..ListApiKeysQuery::default()
        };

        let (_, page) = query.try_into_domain().unwrap();

        assert_eq!((page.page(), page.limit()), (2, 10));
    }

    #[test]
    fn a_page_past_int32_is_refused_naming_page() {
        let query = ListApiKeysQuery {
            page: Some("2147483648".into()),
            ..ListApiKeysQuery::default()
        };

        assert_eq!(
            query.try_into_domain().unwrap_err().detail(),
            "page: must be between 1 and 2147483647"
        );
    }

    #[test]
    fn query_reports_the_bad_parameter() {
        let query = ListApiKeysQuery {
            limit: Some("101".into()),
            ..ListApiKeysQuery::default()
        };

        assert_eq!(
            query.try_into_domain().unwrap_err().detail(),
            "limit: must be between 1 and 100"
        );
    }
}
