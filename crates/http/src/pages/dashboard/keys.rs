//! The dashboard's key pages: the list (status, scopes, last use, uses in 30 days), one
//! key with its 30-day chart and actions, and creating a key. A new or rotated key's
//! secret is shown once, on the answer to the form that made it (never stored, never in
//! a URL; the page is `Cache-Control: no-store`).
//!
//! - `GET /dashboard/keys?page=`, `GET /dashboard/keys/new`, `POST /dashboard/keys`
//! - `GET /dashboard/keys/{id}`
//! - `POST /dashboard/keys/{id}/rotate` (`gracePeriodSeconds`), `…/revoke`, `…/delete`

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use keyward_domain::KeyId;
use keyward_domain::keys::ApiKey;
use keyward_domain::ports::KeyFilter;
use keyward_domain::scope::Scope;
use keyward_domain::services::{GracePeriod, IssuedKey, UsageError};
use maud::{Markup, html};
use time::{Duration, OffsetDateTime};

use super::session::Session;
use super::{
    Section, chart, csrf_field, dashboard_response, page_request, pager, see_other, signed_in,
    submitted, time_element,
};
use crate::auth::permissions::{ApiKeysRead, ApiKeysRevoke, ApiKeysWrite};
use crate::customer::api_keys::dto::CreateApiKeyRequest;
use crate::error::ApiError;
use crate::extract::uuid_param;
use crate::pages::form::FormFields;
use crate::state::AppState;

/// Keys per page of the list.
const PAGE_SIZE: u32 = 20;

/// The grace periods the rotate form offers: (seconds, label).
const GRACE_PERIODS: [(i64, &str); 5] = [
    (0, "None: the current secret stops working now"),
    (300, "5 minutes"),
    (3600, "1 hour"),
    (86_400, "1 day"),
    (604_800, "7 days (the longest)"),
];

/// The lifetimes the create form offers: (days, label); 0 is "no expiry date".
const LIFETIMES: [(i64, &str); 4] = [
    (0, "No expiry date"),
    (30, "30 days"),
    (90, "90 days"),
    (365, "1 year"),
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/dashboard/keys")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(web::resource("/dashboard/keys/new").route(web::get().to(new_key_form)))
    .service(web::resource("/dashboard/keys/{id}").route(web::get().to(show)))
    .service(web::resource("/dashboard/keys/{id}/rotate").route(web::post().to(rotate)))
    .service(web::resource("/dashboard/keys/{id}/revoke").route(web::post().to(revoke)))
    .service(web::resource("/dashboard/keys/{id}/delete").route(web::post().to(delete)));
}

fn key_id(req: &HttpRequest) -> Result<KeyId, ApiError> {
    uuid_param(req, "id")
        .map(KeyId::from_uuid)
        .map_err(|_| ApiError::not_found("API key not found"))
}

fn key_path(id: KeyId) -> String {
    format!("/dashboard/keys/{}", id.as_uuid())
}

/// Active, Inactive, Revoked or Expired (at `now`), with the class that colours it.
fn status(key: &ApiKey, now: OffsetDateTime) -> (&'static str, &'static str) {
    if key.is_revoked() {
        ("Revoked", "badge badge-off")
    } else if !key.is_active() {
        ("Inactive", "badge badge-off")
    } else if key.expires_at().is_some_and(|at| at <= now) {
        ("Expired", "badge badge-off")
    } else {
        ("Active", "badge badge-on")
    }
}

// ---- list -------------------------------------------------------------------------------

async fn list(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (req, state) = (&req, &state);
    signed_in(req, state, |session| async move {
        session.require::<ApiKeysRead>()?;
        let page = page_request(req, PAGE_SIZE)?;
        let number = page.page();
        let customer = session.customer();
        let keys = state
            .api_keys
            .list(customer, KeyFilter::default(), page)
            .await?;
        let today = state.usage.today();
        let usage = state
            .usage
            .customer_usage(customer, Some(today - Duration::days(29)), Some(today))
            .await
            .map_err(usage_refusal)?;
        let uses: HashMap<KeyId, u64> = usage
            .keys
            .iter()
            .map(|key| (key.key, key.counts.verified + key.counts.denied))
            .collect();
        let now = OffsetDateTime::now_utc();
        let body = html! {
            h1 { "API keys" }
            @if session.may::<ApiKeysWrite>() {
                p { a #create-key .button href="/dashboard/keys/new" { "Create a key" } }
            }
            @if keys.items.is_empty() {
                p #no-keys { "No keys yet." }
            } @else {
                div .table-scroll {
                    table #keys {
                        caption .visually-hidden { "Your API keys, newest first" }
                        thead { tr {
                            th scope="col" { "Name" } th scope="col" { "Prefix" }
                            th scope="col" { "Status" } th scope="col" { "Scopes" }
                            th scope="col" { "Last used" } th scope="col" { "Uses, 30 days" }
                            th scope="col" { "Expires" }
                        } }
                        tbody {
                            @for key in &keys.items {
                                @let (label, class) = status(key, now);
                                tr .key data-key-id=(key.id().as_uuid()) {
                                    td { a href=(key_path(key.id())) { (key.name().as_str()) } }
                                    td { code { (key.display_prefix().as_str()) } }
                                    td { span class=(class) { (label) } }
                                    td .scopes { (key.scopes().names().join(", ")) }
                                    td { @match key.last_used_at() { Some(at) => (time_element(at)), None => "never" } }
                                    td .number { (uses.get(&key.id()).copied().unwrap_or(0)) }
                                    td { @match key.expires_at() { Some(at) => (time_element(at)), None => "never" } }
                                }
                            }
                        }
                    }
                }
            }
            (pager(number, keys.total_pages(), ("← Previous", "Next →")))
            p .hint { "Uses are written every few seconds, so the newest may take a moment to show." }
        };
        Ok(dashboard_response(
            StatusCode::OK,
            &session,
            "API keys",
            Section::Keys,
            &body,
        ))
    })
    .await
}

fn usage_refusal(err: UsageError) -> ApiError {
    match err {
        UsageError::KeyNotFound => ApiError::not_found("API key not found"),
        UsageError::Storage(storage) => storage.into(),
        UsageError::Range(range) => {
            tracing::error!(error = %range, "the dashboard asked for a bad usage range");
            ApiError::internal()
        }
    }
}

// ---- one key ----------------------------------------------------------------------------

async fn show(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (req, state) = (&req, &state);
    signed_in(req, state, |session| async move {
        session.require::<ApiKeysRead>()?;
        let id = key_id(req)?;
        let key = state.api_keys.get(session.customer(), id).await?;
        let today = state.usage.today();
        let report = state
            .usage
            .key_usage(
                session.customer(),
                id,
                Some(today - Duration::days(29)),
                Some(today),
            )
            .await
            .map_err(usage_refusal)?;
        let body = key_view(&session, &key, &report);
        Ok(dashboard_response(
            StatusCode::OK,
            &session,
            key.name().as_str(),
            Section::Keys,
            &body,
        ))
    })
    .await
}

fn key_view(
    session: &Session,
    key: &ApiKey,
    report: &keyward_domain::services::KeyUsageReport,
) -> Markup {
    let now = OffsetDateTime::now_utc();
    let (label, class) = status(key, now);
    let path = key_path(key.id());
    let live = !key.is_revoked() && key.is_active() && key.expires_at().is_none_or(|at| at > now);
    html! {
        p { a href="/dashboard/keys" { "← All keys" } }
        h1 #key-name { (key.name().as_str()) }
        p { span #key-status class=(class) { (label) } }
        dl .facts {
            dt { "Prefix" } dd { code { (key.display_prefix().as_str()) } }
            @if let Some(description) = key.description() {
                dt { "Description" } dd { (description.as_str()) }
            }
            dt { "Scopes" } dd #key-scopes { (key.scopes().names().join(", ")) }
            dt { "Created" } dd { (time_element(key.created_at())) }
            dt { "Last used" } dd { @match key.last_used_at() { Some(at) => (time_element(at)), None => "never" } }
            dt { "Expires" } dd { @match key.expires_at() { Some(at) => (time_element(at)), None => "never" } }
            @if let Some(at) = key.revoked_at() {
                dt { "Revoked" } dd { (time_element(at)) }
            }
            dt { "ID" } dd { code { (key.id().as_uuid()) } }
        }
        h2 { "Last 30 days" }
        (chart::usage_chart(&report.days))
        p .hint { "Uses are written every few seconds, so the newest may take a moment to show." }
        @if live && session.may::<ApiKeysWrite>() {
            h2 { "Rotate" }
            p { "Makes a new secret. The current one keeps working for the grace period you choose, so integrations can switch without downtime." }
            form #rotate-form method="post" action={ (path) "/rotate" } {
                (csrf_field(session))
                label for="gracePeriodSeconds" { "Grace period" }
                select #gracePeriodSeconds name="gracePeriodSeconds" {
                    @for (seconds, text) in GRACE_PERIODS {
                        option value=(seconds) selected[seconds == 3600] { (text) }
                    }
                }
                " "
                button #rotate type="submit" { "Rotate" }
            }
        }
        @if !key.is_revoked() && session.may::<ApiKeysRevoke>() {
            h2 { "Revoke" }
            p { "Every secret of this key stops working at once, for good." }
            form #revoke-form method="post" action={ (path) "/revoke" }
                data-confirm="Revoke this key? Integrations using it stop working at once." {
                (csrf_field(session))
                button #revoke type="submit" .danger { "Revoke" }
            }
        }
        @if session.may::<ApiKeysWrite>() {
            h2 { "Delete" }
            p { "Removes the key and its history from this list. Revoke it first if it may still be in use." }
            form #delete-form method="post" action={ (path) "/delete" }
                data-confirm="Delete this key? This cannot be undone." {
                (csrf_field(session))
                button #delete type="submit" .danger { "Delete" }
            }
        }
    }
}

// ---- create -----------------------------------------------------------------------------

/// What the create form holds, to show it again with its errors.
#[derive(Debug, Default)]
struct KeyForm {
    name: String,
    description: String,
    scopes: Vec<String>,
    lifetime_days: String,
}

async fn new_key_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (req, state) = (&req, &state);
    signed_in(req, state, |session| async move {
        session.require::<ApiKeysWrite>()?;
        let form = KeyForm {
            lifetime_days: "0".to_owned(),
            ..KeyForm::default()
        };
        Ok(create_page(StatusCode::OK, &session, &form, None))
    })
    .await
}

fn create_page(
    status: StatusCode,
    session: &Session,
    form: &KeyForm,
    error: Option<(&str, &str)>,
) -> HttpResponse {
    let error_of = |field: &str| error.filter(|(name, _)| *name == field).map(|(_, m)| m);
    let body = html! {
        p { a href="/dashboard/keys" { "← All keys" } }
        h1 { "Create a key" }
        @if let Some((field, message)) = error.filter(|(name, _)| !["name", "description", "scopes", "expiresAt"].contains(name)) {
            p #problem .notice.notice-error role="alert" { (field) ": " (message) }
        }
        form #create-form method="post" action="/dashboard/keys" {
            (csrf_field(session))
            label for="name" { "Name" }
            input #name type="text" name="name" value=(form.name) maxlength="100" required
                aria-invalid=[error_of("name").map(|_| "true")];
            @if let Some(message) = error_of("name") { p #name-error .field-error { "Name " (message) } }
            label for="description" { "Description (optional)" }
            textarea #description name="description" maxlength="500" rows="2" { (form.description) }
            @if let Some(message) = error_of("description") { p #description-error .field-error { "Description " (message) } }
            fieldset #scopes aria-invalid=[error_of("scopes").map(|_| "true")] {
                legend { "Scopes: what the key may do" }
                @for scope in Scope::ALL {
                    label .check {
                        input type="checkbox" name="scopes" value=(scope.as_str())
                            checked[form.scopes.iter().any(|s| s == scope.as_str())];
                        " " code { (scope.as_str()) }
                    }
                }
            }
            @if let Some(message) = error_of("scopes") { p #scopes-error .field-error { "Scopes " (message) } }
            label for="lifetime" { "Expires" }
            select #lifetime name="lifetimeDays" {
                @for (days, text) in LIFETIMES {
                    option value=(days) selected[form.lifetime_days == days.to_string()] { (text) }
                }
            }
            @if let Some(message) = error_of("expiresAt") { p #lifetime-error .field-error { "Expiry " (message) } }
            p { button #create type="submit" { "Create key" } }
        }
    };
    dashboard_response(status, session, "Create a key", Section::Keys, &body)
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Result<FormFields, ApiError>,
) -> HttpResponse {
    let (req, state) = (&req, &state);
    submitted(req, state, form, |session, form| async move {
        session.require::<ApiKeysWrite>()?;
        let entered = KeyForm {
            name: form.get("name").to_owned(),
            description: form.get("description").to_owned(),
            scopes: form.all("scopes"),
            lifetime_days: form.get("lifetimeDays").to_owned(),
        };
        let expires_at = match LIFETIMES
            .iter()
            .find(|(days, _)| entered.lifetime_days == days.to_string())
        {
            Some((0, _)) => None,
            Some((days, _)) => Some(OffsetDateTime::now_utc() + Duration::days(*days)),
            None => {
                return Ok(create_page(
                    StatusCode::BAD_REQUEST,
                    &session,
                    &entered,
                    Some(("expiresAt", "must be one of the choices")),
                ));
            }
        };
        let request = CreateApiKeyRequest {
            name: entered.name.clone(),
            description: Some(entered.description.clone()).filter(|d| !d.trim().is_empty()),
            expires_at: expires_at.and_then(|at| {
                at.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            }),
            scopes: entered.scopes.clone(),
        };
        let new_key = match request.try_into_domain(session.subject().to_owned()) {
            Ok(new_key) => new_key,
            Err(error) => {
                let (field, message) = error
                    .detail()
                    .split_once(": ")
                    .unwrap_or(("body", error.detail()));
                return Ok(create_page(
                    StatusCode::BAD_REQUEST,
                    &session,
                    &entered,
                    Some((field, message)),
                ));
            }
        };
        let issued = state
            .api_keys
            .create(&session.audit_context(), session.customer(), new_key)
            .await?;
        Ok(secret_page(
            StatusCode::CREATED,
            &session,
            "Key created",
            &issued,
            None,
        ))
    })
    .await
}

/// The one page that ever shows a secret: after create and rotate.
fn secret_page(
    status: StatusCode,
    session: &Session,
    heading: &str,
    issued: &IssuedKey,
    grace: Option<GracePeriod>,
) -> HttpResponse {
    let path = key_path(issued.key.id());
    let body = html! {
        h1 { (heading) }
        div .notice.notice-ok role="status" {
            p { strong { "Copy this key now. " } "It is shown only this once; keyward keeps only its hash." }
        }
        label for="secret" { "The key for " (issued.key.name().as_str()) }
        div .secret-row {
            input #secret type="text" readonly value=(issued.secret.expose()) autocomplete="off" spellcheck="false";
            button #copy-secret type="button" data-copy-target="secret" hidden { "Copy" }
        }
        p #copy-status .hint aria-live="polite" {}
        @if let Some(grace) = grace {
            @if grace.duration().is_zero() {
                p { "The previous secret stopped working now." }
            } @else {
                p { "The previous secret keeps working for " (grace_text(grace)) "." }
            }
        }
        p { a #to-key href=(path) { "Go to the key" } " · " a href="/dashboard/keys" { "All keys" } }
    };
    dashboard_response(status, session, heading, Section::Keys, &body)
}

fn grace_text(grace: GracePeriod) -> String {
    GRACE_PERIODS
        .iter()
        .find(|(seconds, _)| *seconds == grace.duration().whole_seconds())
        .map_or_else(
            || format!("{} seconds", grace.duration().whole_seconds()),
            |(_, text)| (*text).to_owned(),
        )
}

// ---- actions ----------------------------------------------------------------------------

async fn rotate(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Result<FormFields, ApiError>,
) -> HttpResponse {
    let (req, state) = (&req, &state);
    submitted(req, state, form, |session, form| async move {
        session.require::<ApiKeysWrite>()?;
        let id = key_id(req)?;
        let seconds = match form.get("gracePeriodSeconds").trim() {
            "" => 0,
            text => crate::whole::parse::<i64>(text).ok_or_else(|| {
                ApiError::invalid_field("gracePeriodSeconds", "must be a whole number")
            })?,
        };
        let grace = GracePeriod::from_seconds(seconds)?;
        state
            .api_keys
            .ensure_rotatable(session.customer(), id)
            .await?;
        state.rotation_limiter.check(session.customer())?;
        let issued = state
            .api_keys
            .rotate(&session.audit_context(), session.customer(), id, grace)
            .await?;
        Ok(secret_page(
            StatusCode::OK,
            &session,
            "Key rotated",
            &issued,
            Some(grace),
        ))
    })
    .await
}

async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Result<FormFields, ApiError>,
) -> HttpResponse {
    let (req, state) = (&req, &state);
    submitted(req, state, form, |session, _| async move {
        session.require::<ApiKeysRevoke>()?;
        let id = key_id(req)?;
        state
            .api_keys
            .revoke(&session.audit_context(), session.customer(), id)
            .await?;
        Ok(see_other(&key_path(id)))
    })
    .await
}

async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Result<FormFields, ApiError>,
) -> HttpResponse {
    let (req, state) = (&req, &state);
    submitted(req, state, form, |session, _| async move {
        session.require::<ApiKeysWrite>()?;
        let id = key_id(req)?;
        state
            .api_keys
            .delete(&session.audit_context(), session.customer(), id)
            .await?;
        Ok(see_other("/dashboard/keys"))
    })
    .await
}
