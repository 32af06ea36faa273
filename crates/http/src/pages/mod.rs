//! Pages for people (SPEC §15): server-rendered HTML beside the APIs, built with maud
//! (compile-time checked templates that escape every value; ADR 0060). The CSS and
//! JavaScript are compiled into the binary ([`assets`]); nothing is fetched from a CDN.
//!
//! - `GET /`: a landing page pointing to the API explorer and the singer pages.
//! - `GET /v/{urlName}`, `GET|POST /v/{urlName}/request`: the singer pages ([`singer`]).
//! - `/dashboard…`: the customer dashboard ([`dashboard`]).
//!
//! Every answer of a page path is HTML, errors included: the application's error
//! fallback and the input boundary ask [`is_page_path`] and render [`error_page`]
//! instead of a problem document, so a browser never shows raw JSON.

mod assets;
pub mod dashboard;
mod form;
mod layout;
mod singer;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, guard, web};
use maud::{Markup, html};

use crate::error::{ApiError, ProblemType};

pub use layout::html_response;

/// Registers the landing page. It must come before the OpenKJ endpoint's resource for
/// `/`, which answers `POST` only: a resource guarded by `GET` lets the router fall
/// through to it for every other method.
pub fn configure_landing(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/")
            .guard(guard::Get())
            .route(web::get().to(landing)),
    );
}

/// Registers the singer pages, the dashboard and the bundled assets.
pub fn configure(cfg: &mut web::ServiceConfig) {
    singer::configure(cfg);
    dashboard::configure(cfg);
    assets::configure(cfg);
}

/// Whether `path` is answered by a page (so its errors are HTML too): `/`, `/v/…`,
/// `/dashboard…` and `/assets/…`.
pub fn is_page_path(path: &str) -> bool {
    path == "/"
        || path.starts_with("/v/")
        || path == "/dashboard"
        || path.starts_with("/dashboard/")
        || path.starts_with("/assets/")
}

/// The HTML page for an error: its status, a heading, the message (`#problem`), and a
/// `Retry-After` header for a 429. Internal errors show no detail beyond "it has been
/// logged", exactly like the problem documents of the API.
pub fn error_page(error: &ApiError) -> HttpResponse {
    error_page_linking(error, "/", "Start page")
}

/// [`error_page`] with a link back to `href` (labelled `label`), e.g. the singer page
/// of the venue the error happened on.
pub(crate) fn error_page_linking(error: &ApiError, href: &str, label: &str) -> HttpResponse {
    let heading = match error.kind() {
        ProblemType::ResourceNotFound => "Not found",
        ProblemType::RateLimited => "Slow down a little",
        ProblemType::ServiceUnavailable => "Back in a moment",
        ProblemType::InternalError => "Something went wrong",
        ProblemType::MethodNotAllowed => "Not allowed here",
        ProblemType::PayloadTooLarge => "Too much at once",
        ProblemType::AuthenticationFailed | ProblemType::AuthorizationDenied => "Not allowed",
        ProblemType::ValidationError | ProblemType::Conflict => "That did not work",
    };
    let body = html! {
        h1 { (heading) }
        p #problem .notice.notice-error role="alert" { (capitalised(error.detail())) }
        p { a href=(href) { (label) } }
    };
    let mut response = html_response(
        error.kind().status(),
        layout::page(heading, &body, layout::Script::None),
    );
    if let Some(seconds) = error.retry_after_seconds() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The first letter upper-case, so a domain message reads as a sentence on a page.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `GET /`: what this service is and where to go.
async fn landing(req: HttpRequest) -> HttpResponse {
    let host = req.connection_info().host().to_owned();
    let body = landing_body(&host);
    html_response(
        StatusCode::OK,
        layout::page("keyward", &body, layout::Script::None),
    )
}

fn landing_body(host: &str) -> Markup {
    html! {
        h1 { "keyward" }
        p { "An API key service for karaoke platforms, with a request server for the OpenKJ host program." }
        h2 { "Singers" }
        p {
            "Open the link or QR code your host gives you: it looks like "
            code { "http://" (host) "/v/the-venue-name" } "."
        }
        h2 { "Karaoke hosts" }
        p {
            "In OpenKJ's Network settings, enter " code { "http://" (host) "/openkj/api" }
            " as the server URL, and an API key with the scopes "
            code { "requests:write venues:write songdb:write" } "."
        }
        h2 { "Developers" }
        ul {
            li { a href="/docs" { "API explorer" } " (interactive documentation)" }
            li { a href="/openapi.json" { "OpenAPI document" } }
            li { a href="/health" { "Liveness" } ", " a href="/ready" { "readiness" } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_paths_are_the_landing_page_singer_pages_and_assets() {
        for path in [
            "/",
            "/v/bar",
            "/v/bar/request",
            "/assets/keyward.css",
            "/dashboard",
            "/dashboard/keys",
        ] {
            assert!(is_page_path(path), "{path}");
        }
        for path in [
            "/v1/public/venues/bar",
            "/openkj/api",
            "/docs",
            "/health",
            "/v",
        ] {
            assert!(!is_page_path(path), "{path}");
        }
    }

    #[test]
    fn an_error_page_is_html_with_its_status_and_retry_after() {
        let response = error_page(&ApiError::rate_limited("at most 10 song requests", 7));

        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok());
        assert_eq!(header(header::RETRY_AFTER), Some("7"));
        assert!(header(header::CONTENT_TYPE).is_some_and(|v| v.starts_with("text/html")));
    }

    #[test]
    fn messages_start_with_a_capital() {
        assert_eq!(capitalised("venue not found"), "Venue not found");
        assert_eq!(capitalised("élan"), "Élan");
        assert_eq!(capitalised(""), "");
    }
}
