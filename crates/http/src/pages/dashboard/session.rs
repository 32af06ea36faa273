//! Dashboard sessions (SPEC §15): the session cookie holds a customer-API JWT, checked
//! on every request exactly as a bearer token is, so the dashboard grants what the API
//! grants to the same token. It comes from a pasted JWT or from a one-time sign-in link
//! redeemed by the server (which then signs an 8-hour token for the link's customer and
//! permissions).
//!
//! The cookie is `HttpOnly`, `SameSite=Strict`, `Secure` when the request came over
//! HTTPS, and scoped to `/dashboard`. Every form that changes something carries a CSRF
//! token, the HMAC-SHA256 of the session token under a key derived from the JWT secret
//! (OWASP's "HMAC based token" pattern), so every instance sharing the secret accepts it;
//! a `POST` the browser marks as coming from another site (`Sec-Fetch-Site`) is refused
//! before that.

use std::fmt;
use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};
use keyward_domain::CustomerId;
use keyward_domain::audit::RequestContext;
use ring::hmac;

use crate::auth::jwt::{ActiveContext, Audience, Claims, JwtSettings, JwtSigner};
use crate::auth::permissions::Permission;
use crate::auth::principal::Principal;
use crate::client_ip::client_ip;
use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "kw_session";
/// Where the session cookie is sent.
pub const SESSION_PATH: &str = "/dashboard";
/// How long a session from a one-time link lasts, in seconds (8 hours: a working day).
pub const LINK_SESSION_SECONDS: u64 = 8 * 3600;

/// What the dashboard signs and derives from the JWT secret.
pub struct DashboardKeys {
    signer: JwtSigner,
    csrf: hmac::Key,
    issuer: Option<String>,
    audience: Option<String>,
}

impl fmt::Debug for DashboardKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DashboardKeys(<redacted>)")
    }
}

impl DashboardKeys {
    /// Keys from the customer API's JWT settings: the same secret signs link sessions;
    /// the CSRF key is HMAC-SHA256(secret, "keyward dashboard csrf v1"), so it changes
    /// with the secret and is never the secret itself.
    pub fn new(settings: &JwtSettings) -> Self {
        let root = hmac::Key::new(hmac::HMAC_SHA256, settings.secret.bytes());
        let derived = hmac::sign(&root, b"keyward dashboard csrf v1");
        Self {
            signer: JwtSigner::new(&settings.secret),
            csrf: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
        }
    }

    /// A session token for `customer` with `permissions`, acting as `subject`, valid
    /// for [`LINK_SESSION_SECONDS`] from `now` (seconds since the epoch).
    ///
    /// # Errors
    /// 500 when the claims cannot be signed (not expected).
    pub fn sign_session(
        &self,
        customer: CustomerId,
        subject: &str,
        permissions: Vec<String>,
        now: u64,
    ) -> Result<String, ApiError> {
        let claims = Claims {
            sub: subject.to_owned(),
            exp: now + LINK_SESSION_SECONDS,
            nbf: None,
            iat: Some(now),
            active_context: Some(ActiveContext::customer(customer.as_uuid())),
            permissions,
            iss: self.issuer.clone(),
            aud: self.audience.clone().map(Audience::One),
        };
        self.signer.sign(&claims).map_err(|err| {
            tracing::error!(error = %err, "could not sign a dashboard session");
            ApiError::internal()
        })
    }

    /// The CSRF token of a session: 64 hex digits.
    pub fn csrf_token(&self, session_token: &str) -> String {
        hex(hmac::sign(&self.csrf, session_token.as_bytes()).as_ref())
    }

    /// Whether `presented` is the CSRF token of `session_token` (constant time).
    pub fn csrf_ok(&self, session_token: &str, presented: &str) -> bool {
        let Some(tag) = unhex(presented) else {
            return false;
        };
        hmac::verify(&self.csrf, session_token.as_bytes(), &tag).is_ok()
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// A signed-in dashboard user.
#[derive(Debug, Clone)]
pub struct Session {
    principal: Principal,
    customer: CustomerId,
    /// The session JWT (the CSRF token is derived from it). Never shown.
    token: String,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
}

impl Session {
    /// The session of `req`'s cookie, or `None` when there is none or its token is not
    /// (or no longer) good for a customer.
    pub fn of(req: &HttpRequest, state: &AppState) -> Option<Self> {
        let cookie = req.cookie(SESSION_COOKIE)?;
        Self::from_token(state, cookie.value(), client_ip(req)).ok()
    }

    /// The session a token would give.
    ///
    /// # Errors
    /// 401 for a token the customer API would refuse; 403 for one without a customer
    /// context (an admin token cannot sign in to a customer's dashboard).
    pub fn from_token(state: &AppState, token: &str, ip: IpAddr) -> Result<Self, ApiError> {
        let principal = Principal::from_token(state, token, ip)?;
        let customer = principal.customer().ok_or_else(|| {
            ApiError::forbidden("this token does not act for a customer (activeContext)")
        })?;
        Ok(Self {
            csrf: state.dashboard.csrf_token(token),
            principal,
            customer,
            token: token.to_owned(),
        })
    }

    pub fn customer(&self) -> CustomerId {
        self.customer
    }

    /// Who the audit trail names for what this session changes.
    pub fn audit_context(&self) -> RequestContext {
        self.principal.audit_context()
    }

    /// The `sub` claim, shown as "signed in as".
    pub fn subject(&self) -> &str {
        &self.principal.subject
    }

    /// Whether the session's token grants `P`.
    pub fn may<P: Permission>(&self) -> bool {
        self.principal.has_permission(P::NAME)
    }

    /// # Errors
    /// 403 naming the permission the token lacks, as the API words it.
    pub fn require<P: Permission>(&self) -> Result<(), ApiError> {
        if self.may::<P>() {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "Missing permission: {} (ask for a sign-in that grants it)",
                P::NAME
            )))
        }
    }

    /// Checks a submitted form's CSRF token.
    ///
    /// # Errors
    /// 403 when it is missing or is not this session's.
    pub fn check_csrf(&self, state: &AppState, presented: &str) -> Result<(), ApiError> {
        if state.dashboard.csrf_ok(&self.token, presented) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "the form is stale or came from another site; reload the page and try again",
            ))
        }
    }
}

/// Refuses a state-changing request that a browser says came from another site: its
/// `Sec-Fetch-Site` header (Fetch Metadata, sent by every current browser and not
/// settable by a page) is `cross-site` or `same-site`. The browser computes it, so it
/// holds behind any proxy, unlike comparing `Origin` with the `Host` the proxy passed on.
/// A request without it (an old browser, `curl`) is left to the CSRF token and the
/// `SameSite=Strict` cookie.
///
/// # Errors
/// 403.
pub fn check_fetch_site(req: &HttpRequest) -> Result<(), ApiError> {
    let site = req
        .headers()
        .get("sec-fetch-site")
        .map(|value| value.as_bytes().to_ascii_lowercase());
    match site.as_deref() {
        Some(b"cross-site" | b"same-site") => Err(ApiError::forbidden(
            "this form was sent from another site; open the dashboard and try again",
        )),
        _ => Ok(()),
    }
}

/// The stricter check of the sign-in forms, which have no session (and so no CSRF
/// token) yet; signing a victim in to the attacker's account ("login CSRF") is what
/// they must prevent. A browser's `Sec-Fetch-Site` must be `same-origin` or `none` (typed
/// or bookmarked); a browser without Fetch Metadata must send an `Origin` whose host is
/// the `Host` it asked. Neither header (`curl`): allowed, as no browser is involved.
///
/// # Errors
/// 403.
pub fn check_same_origin(req: &HttpRequest) -> Result<(), ApiError> {
    let refused = || {
        ApiError::forbidden(
            "this sign-in was sent from another site; open the dashboard and sign in there",
        )
    };
    if let Some(site) = req.headers().get("sec-fetch-site") {
        let site = site.as_bytes().to_ascii_lowercase();
        return match site.as_slice() {
            b"same-origin" | b"none" => Ok(()),
            _ => Err(refused()),
        };
    }
    let Some(origin) = req.headers().get(actix_web::http::header::ORIGIN) else {
        return Ok(());
    };
    let host = req
        .headers()
        .get(actix_web::http::header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|origin| origin.split_once("://"))
        .map(|(_, rest)| rest);
    if origin_host.is_some_and(|origin_host| origin_host.eq_ignore_ascii_case(host)) {
        Ok(())
    } else {
        Err(refused())
    }
}

/// The session cookie for `token`, living `max_age_seconds`.
pub fn session_cookie(req: &HttpRequest, token: String, max_age_seconds: u64) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token)
        .path(SESSION_PATH)
        .max_age(CookieDuration::seconds(
            i64::try_from(max_age_seconds).unwrap_or(i64::MAX),
        ))
        .http_only(true)
        .secure(req.connection_info().scheme() == "https")
        .same_site(SameSite::Strict)
        .finish()
}

/// The cookie that ends a session.
pub fn ended_session_cookie(req: &HttpRequest) -> Cookie<'static> {
    let mut cookie = session_cookie(req, String::new(), 0);
    cookie.make_removal();
    cookie
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::jwt::JwtSecret;

    fn keys(secret: &[u8]) -> DashboardKeys {
        DashboardKeys::new(&JwtSettings {
            secret: JwtSecret::new(secret.to_vec()),
            issuer: None,
            audience: None,
            leeway_seconds: 30,
        })
    }

    #[test]
    fn a_csrf_token_belongs_to_one_session_and_one_secret() {
        let keys_a = keys(b"first secret of at least thirty-two bytes");
        let keys_b = keys(b"other secret of at least thirty-two bytes");
        let token = keys_a.csrf_token("session one");

        assert_eq!(token.len(), 64);
        assert!(keys_a.csrf_ok("session one", &token));
        assert!(!keys_a.csrf_ok("session two", &token));
        assert!(!keys_b.csrf_ok("session one", &token));
        assert!(!keys_a.csrf_ok("session one", ""));
        assert!(!keys_a.csrf_ok("session one", "zz"));
        assert!(!keys_a.csrf_ok("session one", &token[..62]));
    }

    #[test]
    fn the_csrf_key_is_not_the_secret() {
        let secret = b"first secret of at least thirty-two bytes";
        let direct = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), b"session");

        assert_ne!(keys(secret).csrf_token("session"), hex(direct.as_ref()));
    }

    #[test]
    fn debug_shows_no_key() {
        assert_eq!(
            format!("{:?}", keys(b"first secret of at least thirty-two bytes")),
            "DashboardKeys(<redacted>)"
        );
    }
}
