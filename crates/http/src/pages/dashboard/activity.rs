//! The dashboard's other sections: venues and their live request queues, audit events and
//! alerts. Read-only, with the customer API's permissions (`venues:read`, `audit:read`,
//! `api_keys:read` for alerts, as `GET /v1/customer/alerts` asks).
//!
//! - `GET /dashboard/venues`, `GET /dashboard/venues/{id}` (the queue; with JavaScript it
//!   refreshes itself every 5 seconds)
//! - `GET /dashboard/audit?page=`, `GET /dashboard/alerts?page=`

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use keyward_domain::VenueId;
use keyward_domain::audit::AuditFilter;
use maud::html;

use super::{Section, dashboard_response, page_request, pager, signed_in, time_element};
use crate::auth::permissions::{ApiKeysRead, AuditRead, VenuesRead};
use crate::error::ApiError;
use crate::extract::uuid_param;
use crate::state::AppState;

/// Events or alerts per page.
const PAGE_SIZE: u32 = 50;
/// The pager's labels for lists newest first.
const NEWER_OLDER: (&str, &str) = ("← Newer", "Older →");
/// How often the queue page refreshes itself (with JavaScript), in seconds.
const QUEUE_REFRESH_SECONDS: u32 = 5;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/dashboard/venues").route(web::get().to(venues)))
        .service(web::resource("/dashboard/venues/{id}").route(web::get().to(queue)))
        .service(web::resource("/dashboard/audit").route(web::get().to(audit)))
        .service(web::resource("/dashboard/alerts").route(web::get().to(alerts)));
}

async fn venues(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (req, state) = (&req, &state);
    signed_in(req, state, |session| async move {
        session.require::<VenuesRead>()?;
        let venues = state.karaoke.venues.list(session.customer()).await?;
        let body = html! {
            h1 { "Venues" }
            @if venues.is_empty() {
                p #no-venues { "No venues yet. OpenKJ creates one when it connects, or use " code { "POST /v1/customer/venues" } "." }
            } @else {
                div .table-scroll {
                    table #venues {
                        thead { tr {
                            th scope="col" { "Name" } th scope="col" { "Singer page" }
                            th scope="col" { "Requests" } th scope="col" { "OpenKJ venue" }
                            th scope="col" { "Song book" }
                        } }
                        tbody {
                            @for venue in &venues {
                                tr {
                                    td { a href={ "/dashboard/venues/" (venue.id().as_uuid()) } { (venue.name().as_str()) } }
                                    td { a href={ "/v/" (venue.url_name().as_str()) } { "/v/" (venue.url_name().as_str()) } }
                                    td { @if venue.is_accepting_requests() { span .badge.badge-on { "Taking requests" } } @else { span .badge.badge-off { "Closed" } } }
                                    td .number { (venue.openkj_venue_id().get()) }
                                    td .number { (venue.system_id().get()) }
                                }
                            }
                        }
                    }
                }
            }
        };
        Ok(dashboard_response(
            StatusCode::OK,
            &session,
            "Venues",
            Section::Venues,
            &body,
        ))
    })
    .await
}

async fn queue(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (req, state) = (&req, &state);
    signed_in(req, state, |session| async move {
        session.require::<VenuesRead>()?;
        let id = uuid_param(req, "id")
            .map(VenueId::from_uuid)
            .map_err(|_| ApiError::not_found("venue not found"))?;
        let venue = state.karaoke.venues.get(session.customer(), id).await?;
        let queue = state.karaoke.requests.queue(&venue).await?;
        let body = html! {
            p { a href="/dashboard/venues" { "← All venues" } }
            h1 #venue-name { (venue.name().as_str()) }
            p {
                @if venue.is_accepting_requests() { span .badge.badge-on { "Taking requests" } }
                @else { span .badge.badge-off { "Closed" } }
                " · singer page " a href={ "/v/" (venue.url_name().as_str()) } { "/v/" (venue.url_name().as_str()) }
            }
            h2 { "Request queue" }
            div #queue data-refresh-seconds=(QUEUE_REFRESH_SECONDS) aria-live="polite" {
                @if queue.is_empty() {
                    p #queue-empty { "No requests waiting." }
                } @else {
                    div .table-scroll {
                        table #queue-table {
                            thead { tr {
                                th scope="col" { "#" } th scope="col" { "Singer" } th scope="col" { "Song" }
                                th scope="col" { "Key" } th scope="col" { "Asked at" }
                            } }
                            tbody {
                                @for request in &queue {
                                    tr .request {
                                        td .number { (request.id().get()) }
                                        td .singer { (request.singer().as_str()) }
                                        td { span .title { (request.song().title()) } " — " span .artist { (request.song().artist()) } }
                                        td .number { (request.key_change().get()) }
                                        td { (time_element(request.requested_at())) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p .hint { "The host handles the queue in OpenKJ. " a href="" { "Refresh" } }
        };
        Ok(dashboard_response(
            StatusCode::OK,
            &session,
            venue.name().as_str(),
            Section::Venues,
            &body,
        ))
    })
    .await
}

async fn audit(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (req, state) = (&req, &state);
    signed_in(req, state, |session| async move {
        session.require::<AuditRead>()?;
        let page = page_request(req, PAGE_SIZE)?;
        let events = state
            .audit
            .list(session.customer(), AuditFilter::default(), page)
            .await?;
        let body = html! {
            h1 { "Audit events" }
            p .hint { "Every change to a key, venue or service credential, newest first." }
            @if events.items.is_empty() {
                p #no-events { "Nothing recorded yet." }
            } @else {
                div .table-scroll {
                    table #audit-events {
                        thead { tr {
                            th scope="col" { "When" } th scope="col" { "What" } th scope="col" { "Who" }
                            th scope="col" { "From" } th scope="col" { "Target" } th scope="col" { "Details" }
                        } }
                        tbody {
                            @for event in &events.items {
                                tr .event data-action=(event.action.as_str()) {
                                    td { (time_element(event.at)) }
                                    td { code { (event.action.as_str()) } }
                                    td { (event.actor.kind()) ": " (event.actor.id()) }
                                    td { @match event.ip { Some(ip) => (ip), None => "—" } }
                                    td { (event.action.target_type()) " " code .target { (event.target_id) } }
                                    td .details { code { (serde_json::Value::Object(event.details.clone())) } }
                                }
                            }
                        }
                    }
                }
            }
            (pager(page.page(), events.total_pages(), NEWER_OLDER))
        };
        Ok(dashboard_response(
            StatusCode::OK,
            &session,
            "Audit events",
            Section::Audit,
            &body,
        ))
    })
    .await
}

async fn alerts(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (req, state) = (&req, &state);
    signed_in(req, state, |session| async move {
        session.require::<ApiKeysRead>()?;
        let page = page_request(req, PAGE_SIZE)?;
        let alerts = state.usage.alerts(session.customer(), None, page).await?;
        let body = html! {
            h1 { "Alerts" }
            p .hint { "Suspicious use of your keys, newest first (docs/MONITORING.md lists the kinds)." }
            @if alerts.items.is_empty() {
                p #no-alerts { "No alerts." }
            } @else {
                div .table-scroll {
                    table #alerts {
                        thead { tr {
                            th scope="col" { "When" } th scope="col" { "Kind" }
                            th scope="col" { "Key" } th scope="col" { "What happened" }
                        } }
                        tbody {
                            @for alert in &alerts.items {
                                tr .alert {
                                    td { (time_element(alert.at)) }
                                    td { code { (alert.kind.as_str()) } }
                                    td { a href={ "/dashboard/keys/" (alert.key.as_uuid()) } { code { (alert.key.as_uuid()) } } }
                                    td { (alert.detail) }
                                }
                            }
                        }
                    }
                }
            }
            (pager(page.page(), alerts.total_pages(), NEWER_OLDER))
        };
        Ok(dashboard_response(
            StatusCode::OK,
            &session,
            "Alerts",
            Section::Alerts,
            &body,
        ))
    })
    .await
}
