//! Audit events in the customer API (SPEC §12):
//! `GET /v1/customer/audit-events?page=&limit=&action=&targetId=`, newest first. The
//! services record them (`AuditTrail`); this route only reads.

use actix_web::web;
use keyward_domain::audit::{AuditAction, AuditEvent, AuditFilter};
use keyward_domain::ports::{Page, PageRequest, truncate_to_micros};
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::CustomerPrincipal;
use crate::auth::permissions::AuditRead;
use crate::customer::api_keys::dto::{Pagination, number};
use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// Registers the route, relative to `/v1/customer`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/audit-events").route(web::get().to(list_audit_events)));
}

/// The OpenAPI description of this route.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(list_audit_events),
    components(schemas(
        AuditEventResponse,
        AuditEventPage,
        AuditActor,
        ActorTypeName,
        AuditActionName,
        TargetTypeName,
        Pagination,
        Problem
    ))
)]
pub struct AuditEventsDoc;

/// Who made a change: `user` (a customer JWT's `sub`), `service` (an integration's API
/// key id, or `internal` for the internal service API) or `system` (`cleanup`, `cli`).
#[derive(Debug, ToSchema)]
#[schema(as = AuditActorType)]
pub enum ActorTypeName {
    #[schema(rename = "user")]
    User,
    #[schema(rename = "service")]
    Service,
    #[schema(rename = "system")]
    System,
}

/// What an audit event is about.
#[derive(Debug, ToSchema)]
#[schema(as = AuditTargetType)]
pub enum TargetTypeName {
    #[schema(rename = "api_key")]
    ApiKey,
    #[schema(rename = "venue")]
    Venue,
    #[schema(rename = "service_key")]
    ServiceKey,
}

/// What happened.
#[derive(Debug, ToSchema)]
#[schema(as = AuditAction)]
pub enum AuditActionName {
    #[schema(rename = "api_key.created")]
    ApiKeyCreated,
    #[schema(rename = "api_key.updated")]
    ApiKeyUpdated,
    #[schema(rename = "api_key.rotated")]
    ApiKeyRotated,
    #[schema(rename = "api_key.revoked")]
    ApiKeyRevoked,
    #[schema(rename = "api_key.deleted")]
    ApiKeyDeleted,
    #[schema(rename = "venue.created")]
    VenueCreated,
    #[schema(rename = "venue.updated")]
    VenueUpdated,
    #[schema(rename = "venue.deleted")]
    VenueDeleted,
    #[schema(rename = "service_key.created")]
    ServiceKeyCreated,
    #[schema(rename = "service_key.updated")]
    ServiceKeyUpdated,
    #[schema(rename = "service_key.deleted")]
    ServiceKeyDeleted,
    #[schema(rename = "service_key.revealed")]
    ServiceKeyRevealed,
}

/// Query of `GET /v1/customer/audit-events`. Read as text so each bad value is reported
/// with its parameter's name.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventsQuery {
    /// Page number, 1 to 2147483647 (default 1).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 2_147_483_647)]
    pub page: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Only events of this action; empty for all.
    #[param(value_type = Option<AuditActionName>)]
    pub action: Option<String>,
    /// Only events about this key, venue or credential (its id); empty for all.
    #[param(value_type = Option<String>, format = Uuid)]
    pub target_id: Option<String>,
}

impl AuditEventsQuery {
    /// # Errors
    /// 400 naming the parameter.
    fn try_into_domain(self) -> Result<(AuditFilter, PageRequest), ApiError> {
        let page = number("page", self.page.as_deref(), 1)?;
        let limit = number("limit", self.limit.as_deref(), 20)?;
        let action = match self.action.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(
                name.parse::<AuditAction>()
                    .map_err(|err| ApiError::invalid_field("action", err))?,
            ),
        };
        let target_id = match self.target_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(
                Uuid::parse_str(text)
                    .map_err(|_| ApiError::invalid_field("targetId", "must be a UUID"))?,
            ),
        };
        Ok((
            AuditFilter { action, target_id },
            PageRequest::new(page, limit)?,
        ))
    }
}

/// Who made the change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditActor {
    #[serde(rename = "type")]
    #[schema(value_type = ActorTypeName)]
    pub kind: &'static str,
    /// The JWT `sub`, the API key's id, `internal`, `cleanup` or `cli`.
    pub id: String,
}

/// One audit event (SPEC §12).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventResponse {
    pub id: Uuid,
    /// When the change was made (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub actor: AuditActor,
    #[schema(value_type = AuditActionName)]
    pub action: &'static str,
    #[schema(value_type = TargetTypeName)]
    pub target_type: &'static str,
    pub target_id: Uuid,
    /// The client's address; `null` for keyward's own jobs and the CLI.
    pub ip: Option<String>,
    /// What changed, by field (never a secret); e.g. `{"scopes": ["songdb:read"]}`.
    #[schema(value_type = Object)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl From<&AuditEvent> for AuditEventResponse {
    fn from(event: &AuditEvent) -> Self {
        Self {
            id: event.id.as_uuid(),
            at: truncate_to_micros(event.at.to_offset(UtcOffset::UTC)),
            actor: AuditActor {
                kind: event.actor.kind().as_str(),
                id: event.actor.id().to_owned(),
            },
            action: event.action.as_str(),
            target_type: event.action.target_type().as_str(),
            target_id: event.target_id,
            ip: event.ip.map(|ip| ip.to_string()),
            details: event.details.clone(),
        }
    }
}

/// One page of audit events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventPage {
    pub data: Vec<AuditEventResponse>,
    pub pagination: Pagination,
}

impl From<&Page<AuditEvent>> for AuditEventPage {
    fn from(page: &Page<AuditEvent>) -> Self {
        Self {
            data: page.items.iter().map(AuditEventResponse::from).collect(),
            pagination: Pagination::of(page),
        }
    }
}

/// List the customer's audit events, newest first: every change to a key, venue or
/// service credential and every plaintext read of a credential.
#[utoipa::path(
    get,
    path = "/v1/customer/audit-events",
    tag = "Audit",
    params(AuditEventsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of audit events", body = AuditEventPage),
        (status = 400, description = "Bad page, limit, action or targetId", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing audit:read", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_audit_events(
    principal: CustomerPrincipal<AuditRead>,
    state: web::Data<AppState>,
    query: web::Query<AuditEventsQuery>,
) -> Result<web::Json<AuditEventPage>, ApiError> {
    let (filter, page) = query.into_inner().try_into_domain()?;
    let events = state.audit.list(principal.customer, filter, page).await?;
    Ok(web::Json(AuditEventPage::from(&events)))
}
