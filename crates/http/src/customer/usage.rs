//! Key usage in the customer API (SPEC §12): verified and denied verifications per key
//! and UTC day, `GET /v1/customer/api-keys/{id}/usage` and `GET /v1/customer/usage`.
//! Counts are as of the last usage flush (`usage.flush_interval_seconds`).

use actix_web::web;
use keyward_domain::services::{CustomerUsageReport, KeyUsageReport, UsageError};
use keyward_domain::usage::{DayRangeError, UsageCounts};
use serde::{Deserialize, Serialize};
use time::Date;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::CustomerPrincipal;
use crate::auth::permissions::ApiKeysRead;
use crate::error::{ApiError, Problem};
use crate::extract::KeyIdPath;
use crate::state::AppState;

/// Registers the routes, relative to `/v1/customer`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api-keys/{id}/usage").route(web::get().to(get_key_usage)))
        .service(web::resource("/usage").route(web::get().to(get_customer_usage)));
}

/// The OpenAPI description of these routes.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(get_key_usage, get_customer_usage),
    components(schemas(
        KeyUsageResponse,
        CustomerUsageResponse,
        UsageTotals,
        DayUsage,
        KeyUsageEntry,
        Problem
    ))
)]
pub struct UsageDoc;

/// `YYYY-MM-DD`, the only form of a day on the wire (RFC 3339 `full-date`).
const DAY: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// Query of both usage routes: the range of UTC days, both ends included. Read as text
/// so each bad value is reported with its parameter's name.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// First day, `YYYY-MM-DD` (UTC). Default: 29 days before `to`.
    #[param(value_type = Option<String>, format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", example = "2026-11-01")]
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC). Default: today. At most 366 days after `from`
    /// (counting both ends).
    #[param(value_type = Option<String>, format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", example = "2026-11-30")]
    pub to: Option<String>,
}

impl UsageQuery {
    /// The two ends, either of them absent.
    ///
    /// # Errors
    /// 400 naming `from` or `to` when it is not a calendar day written `YYYY-MM-DD`.
    pub fn days(&self) -> Result<(Option<Date>, Option<Date>), ApiError> {
        Ok((
            parse_day("from", self.from.as_deref())?,
            parse_day("to", self.to.as_deref())?,
        ))
    }
}

fn parse_day(field: &str, raw: Option<&str>) -> Result<Option<Date>, ApiError> {
    let Some(text) = raw.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    let well_formed = text.len() == 10
        && text.bytes().enumerate().all(|(at, byte)| {
            if at == 4 || at == 7 {
                byte == b'-'
            } else {
                byte.is_ascii_digit()
            }
        });
    well_formed
        .then(|| Date::parse(text, DAY).ok())
        .flatten()
        .map(Some)
        .ok_or_else(|| ApiError::invalid_field(field, "must be a calendar day written YYYY-MM-DD"))
}

fn day(date: Date) -> String {
    // Every day of a range lies in years 0 to 9999 (`parse_day` reads four digits, and
    // `DayRange` starts a default range no earlier than year 0), which always formats.
    date.format(DAY).unwrap_or_else(|_| date.to_string())
}

impl UsageQuery {
    /// The answer to a refused query: a too-long range names the end the caller gave
    /// (`to`, or `from` when only that was given), a reversed one both.
    fn refusal(&self, err: UsageError) -> ApiError {
        match err {
            UsageError::Range(range @ DayRangeError::Reversed { .. }) => {
                ApiError::validation(range.to_string())
            }
            UsageError::Range(range @ DayRangeError::TooLong { .. }) => {
                let given_to = self.to.as_deref().is_some_and(|to| !to.trim().is_empty());
                ApiError::invalid_field(if given_to { "to" } else { "from" }, range)
            }
            UsageError::KeyNotFound => ApiError::not_found("API key not found"),
            UsageError::Storage(storage) => storage.into(),
        }
    }
}

/// Verifications counted: `verified` let the request through; `denied` refused a key
/// keyward knows (revoked, deactivated, expired, rotated out past its grace period, or
/// lacking the route's scope). Unknown and malformed keys belong to no key and are not
/// counted.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageTotals {
    pub verified: u64,
    pub denied: u64,
}

impl From<UsageCounts> for UsageTotals {
    fn from(counts: UsageCounts) -> Self {
        Self {
            verified: counts.verified,
            denied: counts.denied,
        }
    }
}

/// One UTC day of a key's usage.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayUsage {
    #[schema(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", example = "2026-11-30")]
    pub date: String,
    pub verified: u64,
    pub denied: u64,
}

/// A key's usage over a range of days.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyUsageResponse {
    pub key_id: Uuid,
    /// First day of the range (UTC).
    #[schema(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", example = "2026-11-01")]
    pub from: String,
    /// Last day of the range (UTC).
    #[schema(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", example = "2026-11-30")]
    pub to: String,
    pub total: UsageTotals,
    /// Every day of the range in order, days without use included (zeros).
    pub days: Vec<DayUsage>,
}

impl From<KeyUsageReport> for KeyUsageResponse {
    fn from(report: KeyUsageReport) -> Self {
        Self {
            key_id: report.key.as_uuid(),
            from: day(report.range.first()),
            to: day(report.range.last()),
            total: report.total.into(),
            days: report
                .days
                .into_iter()
                .map(|(date, counts)| DayUsage {
                    date: day(date),
                    verified: counts.verified,
                    denied: counts.denied,
                })
                .collect(),
        }
    }
}

/// One key's sums over the range.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyUsageEntry {
    pub key_id: Uuid,
    /// The key's current name.
    pub name: String,
    pub verified: u64,
    pub denied: u64,
}

/// A customer's usage over a range of days, per key.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerUsageResponse {
    /// First day of the range (UTC).
    #[schema(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", example = "2026-11-01")]
    pub from: String,
    /// Last day of the range (UTC).
    #[schema(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", example = "2026-11-30")]
    pub to: String,
    /// The sum over `keys`.
    pub total: UsageTotals,
    /// The keys used in the range, busiest (`verified + denied`) first, then by id.
    /// A deleted key's usage is deleted with it.
    pub keys: Vec<KeyUsageEntry>,
}

impl From<CustomerUsageReport> for CustomerUsageResponse {
    fn from(report: CustomerUsageReport) -> Self {
        Self {
            from: day(report.range.first()),
            to: day(report.range.last()),
            total: report.total.into(),
            keys: report
                .keys
                .into_iter()
                .map(|key| KeyUsageEntry {
                    key_id: key.key.as_uuid(),
                    name: key.name,
                    verified: key.counts.verified,
                    denied: key.counts.denied,
                })
                .collect(),
        }
    }
}

/// A key's verified and denied verifications per UTC day.
#[utoipa::path(
    get,
    path = "/v1/customer/api-keys/{id}/usage",
    tag = "API keys",
    params(("id" = uuid::Uuid, Path, description = "The key's id"), UsageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every day of the range with its counts", body = KeyUsageResponse),
        (status = 400, description = "The id is not a UUID; from or to is not YYYY-MM-DD; from is after to; the range covers more than 366 days", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing api_keys:read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key for this customer", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_key_usage(
    principal: CustomerPrincipal<ApiKeysRead>,
    KeyIdPath(id): KeyIdPath,
    state: web::Data<AppState>,
    query: web::Query<UsageQuery>,
) -> Result<web::Json<KeyUsageResponse>, ApiError> {
    let (from, to) = query.days()?;
    let report = state
        .usage
        .key_usage(principal.customer, id, from, to)
        .await
        .map_err(|err| query.refusal(err))?;
    Ok(web::Json(report.into()))
}

/// The customer's verified and denied verifications per key over a range of days.
#[utoipa::path(
    get,
    path = "/v1/customer/usage",
    tag = "API keys",
    params(UsageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Sums per key used in the range", body = CustomerUsageResponse),
        (status = 400, description = "from or to is not YYYY-MM-DD; from is after to; the range covers more than 366 days", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing api_keys:read", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_customer_usage(
    principal: CustomerPrincipal<ApiKeysRead>,
    state: web::Data<AppState>,
    query: web::Query<UsageQuery>,
) -> Result<web::Json<CustomerUsageResponse>, ApiError> {
    let (from, to) = query.days()?;
    let report = state
        .usage
        .customer_usage(principal.customer, from, to)
        .await
        .map_err(|err| query.refusal(err))?;
    Ok(web::Json(report.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn days_parse_only_as_yyyy_mm_dd_and_name_their_parameter() {
        assert_eq!(
            parse_day("from", Some("2024-02-29")).unwrap(),
            Some(date!(2024 - 02 - 29))
        );
        assert_eq!(parse_day("from", Some(" ")).unwrap(), None);
        assert_eq!(parse_day("from", None).unwrap(), None);
        for bad in [
            "2023-02-29",
            "2024-2-29",
            "20240229",
            "2024-02-29T00:00:00Z",
            "+02024-02-29",
            "２０２４-02-29",
            "2024-13-01",
            "yesterday",
        ] {
            let err = parse_day("to", Some(bad)).unwrap_err();
            assert_eq!(
                err.detail(),
                "to: must be a calendar day written YYYY-MM-DD",
                "{bad}"
            );
        }
    }

    #[test]
    fn days_are_written_with_four_digit_years() {
        assert_eq!(day(date!(0099 - 01 - 02)), "0099-01-02");
        assert_eq!(day(date!(2026 - 12 - 31)), "2026-12-31");
    }
}
