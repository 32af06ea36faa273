//! Suspicious-activity alerts in the customer API (SPEC §12):
//! `GET /v1/customer/alerts?page=&limit=&kind=`, newest first.

use actix_web::web;
use keyward_domain::alerts::{AlertKind, KeyAlert};
use keyward_domain::ports::{Page, PageRequest, truncate_to_micros};
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::CustomerPrincipal;
use crate::auth::permissions::ApiKeysRead;
use crate::customer::api_keys::dto::{Pagination, number};
use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// Registers the route, relative to `/v1/customer`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/alerts").route(web::get().to(list_alerts)));
}

/// The OpenAPI description of this route.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(list_alerts),
    components(schemas(AlertResponse, AlertPage, AlertKindName, Pagination, Problem))
)]
pub struct AlertsDoc;

/// An alert kind's wire name.
#[derive(Debug, ToSchema)]
#[schema(as = AlertKind)]
pub enum AlertKindName {
    #[schema(rename = "revoked_key_used")]
    RevokedKeyUsed,
    #[schema(rename = "new_client_ip")]
    NewClientIp,
    #[schema(rename = "usage_spike")]
    UsageSpike,
    #[schema(rename = "dormant_key_used")]
    DormantKeyUsed,
}

/// Query of `GET /v1/customer/alerts`. Read as text so each bad value is reported with its
/// parameter's name.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// Page number, 1 to 2147483647 (default 1).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 2_147_483_647)]
    pub page: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Only alerts of this kind; empty for all.
    #[param(value_type = Option<AlertKindName>)]
    pub kind: Option<String>,
}

impl AlertsQuery {
    /// # Errors
    /// 400 naming the parameter.
    fn try_into_domain(self) -> Result<(Option<AlertKind>, PageRequest), ApiError> {
        let page = number("page", self.page.as_deref(), 1)?;
        let limit = number("limit", self.limit.as_deref(), 20)?;
        let kind = match self.kind.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(
                name.parse::<AlertKind>()
                    .map_err(|err| ApiError::invalid_field("kind", err))?,
            ),
        };
        Ok((kind, PageRequest::new(page, limit)?))
    }
}

/// One alert about one of the customer's keys.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertResponse {
    pub id: Uuid,
    /// When the activity was noticed (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub key_id: Uuid,
    #[schema(value_type = AlertKindName)]
    pub kind: &'static str,
    /// What was noticed, in one sentence.
    pub detail: String,
}

impl From<&KeyAlert> for AlertResponse {
    fn from(alert: &KeyAlert) -> Self {
        Self {
            id: alert.id.as_uuid(),
            at: truncate_to_micros(alert.at.to_offset(UtcOffset::UTC)),
            key_id: alert.key.as_uuid(),
            kind: alert.kind.as_str(),
            detail: alert.detail.clone(),
        }
    }
}

/// One page of alerts, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertPage {
    pub data: Vec<AlertResponse>,
    pub pagination: Pagination,
}

impl From<&Page<KeyAlert>> for AlertPage {
    fn from(page: &Page<KeyAlert>) -> Self {
        Self {
            data: page.items.iter().map(AlertResponse::from).collect(),
            pagination: Pagination::of(page),
        }
    }
}

/// List suspicious-activity alerts about the customer's keys, newest first.
#[utoipa::path(
    get,
    path = "/v1/customer/alerts",
    tag = "API keys",
    params(AlertsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of alerts", body = AlertPage),
        (status = 400, description = "Bad page, limit or kind", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing api_keys:read", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_alerts(
    principal: CustomerPrincipal<ApiKeysRead>,
    state: web::Data<AppState>,
    query: web::Query<AlertsQuery>,
) -> Result<web::Json<AlertPage>, ApiError> {
    let (kind, page) = query.into_inner().try_into_domain()?;
    let alerts = state.usage.alerts(principal.customer, kind, page).await?;
    Ok(web::Json(AlertPage::from(&alerts)))
}
