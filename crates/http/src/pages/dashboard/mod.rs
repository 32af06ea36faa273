//! The customer dashboard (SPEC §15): sign-in, the customer's keys (create, rotate,
//! revoke, delete, 30 days of usage), venues with their live request queues, audit events
//! and alerts. Every page calls the same services as the customer API and asks the
//! session's token for the same permissions ([`session::Session::require`]).
//!
//! - `GET /dashboard`: the sign-in page, or the keys when signed in.
//! - `POST /dashboard/sign-in` (form `token`): a pasted customer JWT.
//! - `GET /dashboard/link?token=…`: a one-time link's confirmation page; `POST
//!   /dashboard/link` redeems it (a link preview that fetches the URL does not use it up).
//! - `POST /dashboard/sign-out`.
//! - keys: [`keys`]; venues, audit events, alerts: [`activity`].

mod activity;
mod chart;
mod keys;
pub mod session;

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use session::DashboardKeys;
use session::{Session, check_fetch_site, check_same_origin, ended_session_cookie, session_cookie};

use super::form::FormFields;
use super::layout::{self, Script, set_page_headers};
use super::{error_page_linking, html_response};
use crate::auth::permissions::{ApiKeysRead, AuditRead, VenuesRead};
use crate::boundary::NUL_MESSAGE;
use crate::error::ApiError;
use crate::state::AppState;
use keyward_domain::ports::PageRequest;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/dashboard").route(web::get().to(home)))
        .service(web::resource("/dashboard/sign-in").route(web::post().to(sign_in)))
        .service(
            web::resource("/dashboard/link")
                .route(web::get().to(link_page))
                .route(web::post().to(redeem_link)),
        )
        .service(web::resource("/dashboard/sign-out").route(web::post().to(sign_out)));
    keys::configure(cfg);
    activity::configure(cfg);
}

/// The dashboard's sections, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Keys,
    Venues,
    Audit,
    Alerts,
}

const SECTIONS: [(Section, &str, &str); 4] = [
    (Section::Keys, "/dashboard/keys", "Keys"),
    (Section::Venues, "/dashboard/venues", "Venues"),
    (Section::Audit, "/dashboard/audit", "Audit events"),
    (Section::Alerts, "/dashboard/alerts", "Alerts"),
];

/// A dashboard page: navigation, who is signed in, a sign-out button, then `body`.
/// Whether the session's token allows the section at all (the navigation shows only
/// those).
fn session_may_see(session: &Session, section: Section) -> bool {
    match section {
        Section::Keys | Section::Alerts => session.may::<ApiKeysRead>(),
        Section::Venues => session.may::<VenuesRead>(),
        Section::Audit => session.may::<AuditRead>(),
    }
}

/// `section` is `None` on pages outside the four (an error).
fn dashboard_page(
    session: &Session,
    title: &str,
    section: Option<Section>,
    body: &Markup,
) -> Markup {
    let body = html! {
        header .dashboard-header {
            nav .dashboard-nav aria-label="Dashboard" {
                @for (each, href, label) in SECTIONS {
                    @if session_may_see(session, each) {
                        a href=(href) aria-current=[(Some(each) == section).then_some("page")] { (label) }
                    }
                }
            }
            form .sign-out method="post" action="/dashboard/sign-out" {
                (csrf_field(session))
                span .hint { "Signed in as " (session.subject()) }
                " "
                button #sign-out type="submit" .secondary { "Sign out" }
            }
        }
        (body)
    };
    layout::page(
        &format!("{title} · keyward dashboard"),
        &body,
        Script::Dashboard,
    )
}

/// Where a signed-in user starts: the first section the token allows (keys when it
/// allows none, whose page then names the permission it needs).
fn first_section(session: &Session) -> &'static str {
    SECTIONS
        .iter()
        .find(|(section, _, _)| session_may_see(session, *section))
        .map_or("/dashboard/keys", |(_, href, _)| href)
}

/// The hidden CSRF field every form of a session carries.
fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A dashboard page with `status`.
fn dashboard_response(
    status: StatusCode,
    session: &Session,
    title: &str,
    section: Section,
    body: &Markup,
) -> HttpResponse {
    html_response(status, dashboard_page(session, title, Some(section), body))
}

/// `303 See Other` to `location` (after a form, so a reload does not send it again).
fn see_other(location: &str) -> HttpResponse {
    let mut response = HttpResponse::SeeOther();
    set_page_headers(&mut response);
    response
        .insert_header((
            header::LOCATION,
            HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/dashboard")),
        ))
        .finish()
}

/// Runs a page for a signed-in user: without a session, a `303` to the sign-in page;
/// an error, as a page linking back to the dashboard.
async fn signed_in<F, Fut>(req: &HttpRequest, state: &AppState, page: F) -> HttpResponse
where
    F: FnOnce(Session) -> Fut,
    Fut: Future<Output = Result<HttpResponse, ApiError>>,
{
    let Some(session) = Session::of(req, state) else {
        return see_other("/dashboard");
    };
    match page(session.clone()).await {
        Ok(response) => response,
        Err(error) => dashboard_error(&session, &error),
    }
}

/// An error inside the dashboard: its status (and `Retry-After`), the message as
/// `#problem`, with the navigation still there.
fn dashboard_error(session: &Session, error: &ApiError) -> HttpResponse {
    let body = html! {
        h1 { "That did not work" }
        p #problem .notice.notice-error role="alert" { (super::capitalised(error.detail())) }
    };
    let mut response = html_response(
        error.kind().status(),
        dashboard_page(session, "Error", None, &body),
    );
    if let Some(seconds) = error.retry_after_seconds() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Runs a form submission of a signed-in user: the `Origin` and CSRF checks first.
async fn submitted<F, Fut>(
    req: &HttpRequest,
    state: &AppState,
    form: Result<FormFields, ApiError>,
    action: F,
) -> HttpResponse
where
    F: FnOnce(Session, FormFields) -> Fut,
    Fut: Future<Output = Result<HttpResponse, ApiError>>,
{
    signed_in(req, state, |session| async move {
        check_fetch_site(req)?;
        let form = form?;
        session.check_csrf(state, form.get("csrf"))?;
        if let Some(field) = form.nul_field() {
            return Err(ApiError::invalid_field(field, NUL_MESSAGE));
        }
        action(session, form).await
    })
    .await
}

/// The `page` query parameter (default 1) as a page of `size`.
///
/// # Errors
/// 400 naming `page` when it is not a whole number from 1 to 2147483647.
fn page_request(req: &HttpRequest, size: u32) -> Result<PageRequest, ApiError> {
    let query = FormFields::parse(req.query_string().as_bytes());
    let page = match query.get("page").trim() {
        "" => 1,
        text => crate::whole::parse(text).ok_or_else(|| {
            ApiError::invalid_field("page", "must be a whole number of 1 or more")
        })?,
    };
    Ok(PageRequest::new(page, size)?)
}

/// Links to the previous and next page (`?page=N`), labelled `(back, forward)`; nothing
/// when everything fits on one page.
fn pager(page: u32, total_pages: u64, (back, forward): (&str, &str)) -> Markup {
    html! {
        @if total_pages > 1 {
            nav .pager aria-label="Pages" {
                @if page > 1 { a rel="prev" href={ "?page=" (page - 1) } { (back) } }
                @else { span .placeholder { (back) } }
                span .page-of { "Page " (page) " of " (total_pages) }
                @if u64::from(page) < total_pages { a rel="next" href={ "?page=" (page + 1) } { (forward) } }
                @else { span .placeholder { (forward) } }
            }
        }
    }
}

/// `2026-12-07 16:49 UTC`.
fn when(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// A `<time>` element: readable text, machine-readable `datetime`.
fn time_element(at: OffsetDateTime) -> Markup {
    let machine = at.format(&Rfc3339).unwrap_or_default();
    html! { time datetime=(machine) { (when(at)) } }
}

// ---- sign-in ----------------------------------------------------------------------------

/// `GET /dashboard`.
async fn home(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (req, state) = (&req, &state);
    match Session::of(req, state) {
        Some(session) => see_other(first_section(&session)),
        None => sign_in_page(StatusCode::OK, None),
    }
}

fn sign_in_page(status: StatusCode, error: Option<&str>) -> HttpResponse {
    let body = html! {
        h1 { "Customer dashboard" }
        p {
            "Sign in with a customer token (a JWT from your identity service, or "
            code { "keyward token --customer <uuid>" } " in development), or open a one-time link from "
            code { "keyward dashboard-link --customer <uuid>" } "."
        }
        form #sign-in method="post" action="/dashboard/sign-in" {
            label for="token" { "Customer token (JWT)" }
            textarea #token name="token" rows="5" autocomplete="off" spellcheck="false" required
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| "token-error")] {}
            @if let Some(message) = error {
                p #token-error .field-error { (message) }
            }
            p { button #sign-in-submit type="submit" { "Sign in" } }
        }
        p .hint {
            "The token is kept in a cookie for this site only and is checked on every page, "
            "like a bearer token: the dashboard shows and allows what the token's permissions allow."
        }
    };
    html_response(
        status,
        layout::page("Sign in · keyward dashboard", &body, Script::None),
    )
}

/// `POST /dashboard/sign-in`.
async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Result<FormFields, ApiError>,
) -> HttpResponse {
    let (req, state) = (&req, &state);
    if let Err(error) = check_same_origin(req) {
        return error_page_linking(&error, "/dashboard", "Back to the sign-in page");
    }
    let form = match form {
        Ok(form) => form,
        Err(error) => return error_page_linking(&error, "/dashboard", "Back to the sign-in page"),
    };
    let token = form.get("token").trim();
    if token.is_empty() {
        return sign_in_page(StatusCode::BAD_REQUEST, Some("Paste a token first."));
    }
    let session = Session::from_token(state, token, crate::client_ip::client_ip(req));
    let claims = state.jwt.verify(token);
    match (session, claims) {
        (Ok(_), Ok(claims))
            if claims.exp
                <= u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0) =>
        {
            // Past `exp` but inside the verifier's leeway: a session of no length.
            sign_in_page(
                StatusCode::UNAUTHORIZED,
                Some("This token has expired; get a new one."),
            )
        }
        (Ok(_), Ok(claims)) => {
            let now = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
            let cookie = session_cookie(req, token.to_owned(), claims.exp.saturating_sub(now));
            let mut response = see_other("/dashboard/keys");
            if let Err(err) = response.add_cookie(&cookie) {
                tracing::error!(error = %err, "could not set the session cookie");
            }
            response
        }
        (Err(error), _) => sign_in_page(error.kind().status(), Some(&sign_in_refusal(&error))),
        (_, Err(_)) => sign_in_page(
            StatusCode::UNAUTHORIZED,
            Some("This token is not valid here."),
        ),
    }
}

/// Why a pasted token was refused, as a sentence.
fn sign_in_refusal(error: &ApiError) -> String {
    match error.detail() {
        "bearer token expired" => "This token has expired; get a new one.".to_owned(),
        "bearer token not yet valid" => "This token is not valid yet.".to_owned(),
        "bearer token invalid" => {
            "This is not a token this service accepts (wrong secret, issuer or audience, or mistyped).".to_owned()
        }
        other => super::capitalised(other),
    }
}

/// `GET /dashboard/link?token=…`: asks before using the link up.
async fn link_page(req: HttpRequest) -> HttpResponse {
    let query = FormFields::parse(req.query_string().as_bytes());
    let token = query.get("token");
    let body = html! {
        h1 { "Sign in to the dashboard" }
        @if token.is_empty() {
            p #problem .notice.notice-error { "This link has no sign-in token. Ask for a new one." }
        } @else {
            p { "This one-time link signs you in to your keyward dashboard. It works once." }
            form #link-sign-in method="post" action="/dashboard/link" {
                input type="hidden" name="token" value=(token);
                button #link-sign-in-submit type="submit" { "Sign in" }
            }
        }
    };
    let mut response = html_response(
        if token.is_empty() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        layout::page("Sign in · keyward dashboard", &body, Script::None),
    );
    // The token is in this page's URL: never send it onwards in a Referer.
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// `POST /dashboard/link`: uses the link up and starts an 8-hour session.
async fn redeem_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Result<FormFields, ApiError>,
) -> HttpResponse {
    let (req, state) = (&req, &state);
    match redeem(req, state, form).await {
        Ok(response) => response,
        Err(error) => error_page_linking(&error, "/dashboard", "Sign in another way"),
    }
}

async fn redeem(
    req: &HttpRequest,
    state: &AppState,
    form: Result<FormFields, ApiError>,
) -> Result<HttpResponse, ApiError> {
    check_same_origin(req)?;
    let form = form?;
    let links = state
        .sign_in_links
        .as_ref()
        .ok_or_else(ApiError::unavailable)?;
    let link = links
        .redeem(form.get("token").trim())
        .await?
        .ok_or_else(|| {
            ApiError::validation(
                "this sign-in link is not valid: it was used already, has expired or is \
                 mistyped. Ask for a new one (keyward dashboard-link).",
            )
        })?;
    let now = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
    let token =
        state
            .dashboard
            .sign_session(link.customer_id, &link.subject, link.permissions, now)?;
    let mut response = see_other("/dashboard/keys");
    response
        .add_cookie(&session_cookie(req, token, session::LINK_SESSION_SECONDS))
        .map_err(|err| {
            tracing::error!(error = %err, "could not set the session cookie");
            ApiError::internal()
        })?;
    Ok(response)
}

/// `POST /dashboard/sign-out`: forgets the cookie (the token itself stays valid until
/// it expires, as a bearer token would).
async fn sign_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Result<FormFields, ApiError>,
) -> HttpResponse {
    let (req, state) = (&req, &state);
    submitted(req, state, form, |_, _| async move {
        let mut response = see_other("/dashboard");
        response
            .add_cookie(&ended_session_cookie(req))
            .map_err(|_| ApiError::internal())?;
        Ok(response)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_read_in_utc_to_the_minute() {
        assert_eq!(
            when(datetime!(2026-12-07 18:49:59 +02:00)),
            "2026-12-07 16:49 UTC"
        );
    }
}
