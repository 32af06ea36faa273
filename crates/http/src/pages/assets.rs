//! The pages' CSS and JavaScript, compiled into the binary (SPEC §15: no CDN, no build
//! step). Pages link them as `/assets/{file}?v={hash}`: the hash of the content, so a
//! browser may keep a file for a year and still picks up a new release at once.

use std::fmt::Write as _;
use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The stylesheet of every page.
const STYLESHEET: &str = include_str!("static/keyward.css");
/// The singer page's live search (the page works without it).
const SINGER_JS: &str = include_str!("static/singer.js");
/// The dashboard's copy button, confirmations and live queue (it works without them).
const DASHBOARD_JS: &str = include_str!("static/dashboard.js");

/// One bundled file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 3] = [
    Asset {
        name: "keyward.css",
        content_type: "text/css; charset=utf-8",
        body: STYLESHEET,
    },
    Asset {
        name: "singer.js",
        content_type: "text/javascript; charset=utf-8",
        body: SINGER_JS,
    },
    Asset {
        name: "dashboard.js",
        content_type: "text/javascript; charset=utf-8",
        body: DASHBOARD_JS,
    },
];

/// `/assets/{name}?v={first 16 hex digits of the SHA-256 of the content}`.
fn versioned_href(asset: &Asset) -> String {
    let digest = Sha256::digest(asset.body.as_bytes());
    let hex = digest[..8].iter().fold(String::new(), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    });
    format!("/assets/{}?v={hex}", asset.name)
}

/// Where pages link the stylesheet.
pub static STYLESHEET_HREF: LazyLock<String> = LazyLock::new(|| versioned_href(&ASSETS[0]));
/// Where the singer page links its script.
pub static SINGER_JS_HREF: LazyLock<String> = LazyLock::new(|| versioned_href(&ASSETS[1]));
/// Where dashboard pages link their script.
pub static DASHBOARD_JS_HREF: LazyLock<String> = LazyLock::new(|| versioned_href(&ASSETS[2]));

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/assets/{name}").route(web::get().to(asset)));
}

/// `GET /assets/{name}`: the file, cacheable for a year (the link changes with the
/// content), or a 404 page.
async fn asset(req: HttpRequest) -> HttpResponse {
    let name = req.match_info().get("name").unwrap_or_default();
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == name) else {
        return super::error_page(&ApiError::not_found(format!("no asset named {name}")));
    };
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        ))
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .body(asset.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_carry_a_hash_of_the_content() {
        let href = STYLESHEET_HREF.as_str();
        let (path, version) = href.split_once("?v=").unwrap_or_default();

        assert_eq!(path, "/assets/keyward.css");
        assert_eq!(version.len(), 16);
        assert!(version.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(STYLESHEET_HREF.as_str(), SINGER_JS_HREF.as_str());
    }
}
