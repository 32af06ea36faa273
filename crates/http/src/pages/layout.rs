//! The page shell every page shares, and the headers every HTML answer carries.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use maud::{DOCTYPE, Markup, html};

use super::assets;

/// Which bundled script a page loads (at the end of `body`, so the markup it enhances
/// is already there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    None,
    /// Live search on the singer page (`static/singer.js`).
    Singer,
    /// The dashboard's copy button, confirmations and live queue (`static/dashboard.js`).
    Dashboard,
}

/// A whole HTML document: `title` in the tab, `body` in `main`, the bundled stylesheet,
/// and the script a page asks for.
pub fn page(title: &str, body: &Markup, script: Script) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="dark light";
                title { (title) }
                link rel="stylesheet" href=(assets::STYLESHEET_HREF.as_str());
            }
            body {
                main .wide[script == Script::Dashboard] { (body) }
                footer { "Powered by " a href="/" { "keyward" } }
                @match script {
                    Script::None => {}
                    Script::Singer => { script src=(assets::SINGER_JS_HREF.as_str()) defer {} }
                    Script::Dashboard => { script src=(assets::DASHBOARD_JS_HREF.as_str()) defer {} }
                }
            }
        }
    }
}

/// The content security policy of every page: only this origin's scripts, styles and
/// forms; no framing (clickjacking), no `<base>`, no plugins (OWASP's CSP cheat sheet).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// An HTML answer with `status`: UTF-8, never cached (pages show live queues and
/// one-time confirmations), and the security headers of [`CONTENT_SECURITY_POLICY`],
/// `X-Content-Type-Options: nosniff` and `Referrer-Policy: same-origin`.
pub fn html_response(status: StatusCode, markup: Markup) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    set_page_headers(&mut response);
    response.body(markup.into_string())
}

/// The headers of [`html_response`], for builders that add more (cookies, `Location`).
pub fn set_page_headers(response: &mut actix_web::HttpResponseBuilder) {
    response
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ));
}
