//! The customer dashboard (SPEC §15) over HTTP, without a browser, on every backend:
//! sign-in with a pasted JWT, the key pages doing what the API does (the secret shown
//! once verifies, rotation and revocation take effect, the audit trail records them),
//! CSRF and `Origin` checks, permissions deciding what is shown and allowed, and the
//! venues' request queue. The same flows in a real browser: tests/browser/.

use keyward_http::auth::ActiveContext;
use keyward_http::auth::permissions::ALL as ALL_PERMISSIONS;
use reqwest::header::{self, HeaderMap};
use reqwest::{Response, StatusCode};
use serde_json::json;
use uuid::Uuid;

use crate::openkj_client::{Host, sing};
use crate::support::{Backend, Customer, TestApp, claims_for, on_every_backend, sign, spawn_app};

on_every_backend!(
    a_pasted_token_signs_in_with_a_strict_session_cookie,
    a_pasted_token_signs_in_and_manages_keys_like_the_api,
    forms_need_this_sessions_csrf_token_and_origin,
    nul_fields_and_cross_site_sign_ins_are_refused,
    permissions_decide_what_is_shown_and_allowed,
    bad_tokens_are_refused_on_the_sign_in_page,
    venues_show_their_request_queue,
    a_one_time_link_signs_in_once_with_its_permissions,
);

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn everything() -> Customer {
    Customer::with_permissions(ALL_PERMISSIONS)
}

/// The status, headers and body of an HTML answer (which it must be).
async fn html(response: Response) -> (StatusCode, HeaderMap, String) {
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/html"),
        "{status}: {content_type}"
    );
    (status, headers, response.text().await.unwrap())
}

/// The value of the first `<input … name="{name}" value="…">` (or `id="{name}"`).
fn input_value(page: &str, marker: &str) -> String {
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {page}"));
    let rest = &page[at..];
    let start = rest.find("value=\"").unwrap() + 7;
    let end = rest[start..].find('"').unwrap();
    rest[start..start + end].to_owned()
}

/// A signed-in browser: its session cookie and the CSRF token of its forms.
struct SignedIn {
    cookie: String,
    csrf: String,
}

impl SignedIn {
    async fn new(app: &TestApp, customer: &Customer) -> Self {
        let response = browser()
            .post(app.url("/dashboard/sign-in"))
            .form(&[("token", customer.token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let set_cookie = response.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_owned();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let (_, _, keys) = html(
            browser()
                .get(app.url("/dashboard/keys"))
                .header(header::COOKIE, &cookie)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let csrf = input_value(&keys, r#"name="csrf""#);
        Self { cookie, csrf }
    }

    async fn get(&self, app: &TestApp, path: &str) -> Response {
        browser()
            .get(app.url(path))
            .header(header::COOKIE, &self.cookie)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, app: &TestApp, path: &str, form: &[(&str, &str)]) -> Response {
        let mut fields = vec![("csrf", self.csrf.as_str())];
        fields.extend_from_slice(form);
        browser()
            .post(app.url(path))
            .header(header::COOKIE, &self.cookie)
            .form(&fields)
            .send()
            .await
            .unwrap()
    }
}

async fn a_pasted_token_signs_in_with_a_strict_session_cookie(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = everything();

    let (sign_in_status, _, sign_in_page) =
        html(browser().get(app.url("/dashboard")).send().await.unwrap()).await;
    let anonymous = browser()
        .get(app.url("/dashboard/keys"))
        .send()
        .await
        .unwrap();
    let signed_in = browser()
        .post(app.url("/dashboard/sign-in"))
        .form(&[("token", customer.token.as_str())])
        .send()
        .await
        .unwrap();
    let set_cookie = signed_in.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    let session = SignedIn::new(&app, &customer).await;
    let (_, _, empty) = html(session.get(&app, "/dashboard/keys").await).await;
    let back_home = session.get(&app, "/dashboard").await;
    let signed_out = session.post(&app, "/dashboard/sign-out", &[]).await;
    let ended = signed_out.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();

    assert_eq!(sign_in_status, StatusCode::OK);
    assert!(sign_in_page.contains(r#"id="sign-in""#), "{sign_in_page}");
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers()[header::LOCATION], "/dashboard");
    assert_eq!(signed_in.headers()[header::LOCATION], "/dashboard/keys");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/dashboard"] {
        assert!(set_cookie.contains(attribute), "{attribute}: {set_cookie}");
    }
    assert!(empty.contains(r#"id="no-keys""#), "{empty}");
    assert_eq!(back_home.headers()[header::LOCATION], "/dashboard/keys");
    assert_eq!(signed_out.headers()[header::LOCATION], "/dashboard");
    assert!(ended.starts_with("kw_session=;"), "{ended}");
}

async fn a_pasted_token_signs_in_and_manages_keys_like_the_api(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = everything();
    let session = SignedIn::new(&app, &customer).await;
    let (created_status, created_headers, created) = html(
        session
            .post(
                &app,
                "/dashboard/keys",
                &[
                    ("name", "Lobby <tablet>"),
                    ("description", ""),
                    ("scopes", "requests:write"),
                    ("scopes", "songdb:read"),
                    ("lifetimeDays", "90"),
                ],
            )
            .await,
    )
    .await;
    let secret = input_value(&created, r#"id="secret""#);
    let first_use = app.validate(&secret).await.status();
    let key_path = {
        let at = created.find(r#"id="to-key" href=""#).unwrap() + 18;
        created[at..at + created[at..].find('"').unwrap()].to_owned()
    };
    let (_, _, listed) = html(session.get(&app, "/dashboard/keys").await).await;
    let (_, _, rotated) = html(
        session
            .post(
                &app,
                &format!("{key_path}/rotate"),
                &[("gracePeriodSeconds", "0")],
            )
            .await,
    )
    .await;
    let new_secret = input_value(&rotated, r#"id="secret""#);
    let old_after_rotation = app.validate(&secret).await.status();
    let new_after_rotation = app.validate(&new_secret).await.status();
    let revoked = session.post(&app, &format!("{key_path}/revoke"), &[]).await;
    let revoked_status = revoked.status();
    let (_, _, revoked_page) = html(session.get(&app, &key_path).await).await;
    let new_after_revoke = app.validate(&new_secret).await.status();
    let (_, _, audit) = html(session.get(&app, "/dashboard/audit").await).await;
    let deleted = session.post(&app, &format!("{key_path}/delete"), &[]).await;
    let deleted_location = deleted.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let (_, _, after_delete) = html(session.get(&app, "/dashboard/keys").await).await;

    assert_eq!(created_status, StatusCode::CREATED);
    assert_eq!(created_headers[header::CACHE_CONTROL], "no-store");
    assert!(secret.starts_with("kw_"), "{secret}");
    assert_eq!(first_use, StatusCode::OK, "the secret shown once verifies");
    assert!(listed.contains("Lobby &lt;tablet&gt;"), "{listed}");
    assert!(listed.contains("requests:write, songdb:read"));
    assert!(!listed.contains(&secret), "the list never shows a secret");
    assert_ne!(new_secret, secret);
    assert_eq!(old_after_rotation, StatusCode::UNAUTHORIZED);
    assert_eq!(new_after_rotation, StatusCode::OK);
    assert_eq!(revoked_status, StatusCode::SEE_OTHER);
    assert!(
        revoked_page.contains(r#"id="key-status" class="badge badge-off">Revoked"#),
        "{revoked_page}"
    );
    assert!(!revoked_page.contains(&new_secret));
    assert_eq!(new_after_revoke, StatusCode::UNAUTHORIZED);
    for action in ["api_key.created", "api_key.rotated", "api_key.revoked"] {
        assert!(
            audit.contains(&format!(r#"data-action="{action}""#)),
            "{action}: {audit}"
        );
    }
    assert_eq!(deleted_location, "/dashboard/keys");
    assert!(after_delete.contains(r#"id="no-keys""#), "{after_delete}");
}

async fn forms_need_this_sessions_csrf_token_and_origin(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = everything();
    let session = SignedIn::new(&app, &customer).await;
    let other = SignedIn::new(&app, &everything()).await;
    let form = [
        ("name", "K"),
        ("scopes", "songdb:read"),
        ("lifetimeDays", "0"),
    ];

    let without = browser()
        .post(app.url("/dashboard/keys"))
        .header(header::COOKIE, &session.cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    let foreign_token = {
        let mut fields = vec![("csrf", other.csrf.as_str())];
        fields.extend_from_slice(&form);
        browser()
            .post(app.url("/dashboard/keys"))
            .header(header::COOKIE, &session.cookie)
            .form(&fields)
            .send()
            .await
            .unwrap()
    };
    let cross_site = {
        let mut fields = vec![("csrf", session.csrf.as_str())];
        fields.extend_from_slice(&form);
        browser()
            .post(app.url("/dashboard/keys"))
            .header(header::COOKIE, &session.cookie)
            .header("sec-fetch-site", "cross-site")
            .form(&fields)
            .send()
            .await
            .unwrap()
    };
    let same_origin = {
        let mut fields = vec![("csrf", session.csrf.as_str())];
        fields.extend_from_slice(&form);
        browser()
            .post(app.url("/dashboard/keys"))
            .header(header::COOKIE, &session.cookie)
            .header("sec-fetch-site", "same-origin")
            .form(&fields)
            .send()
            .await
            .unwrap()
    };

    for refused in [without, foreign_token, cross_site] {
        let (status, _, page) = html(refused).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(page.contains(r#"id="problem""#), "{page}");
    }
    assert_eq!(same_origin.status(), StatusCode::CREATED);
    let keys: serde_json::Value = app
        .get("/v1/customer/api-keys", &customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        keys["pagination"]["total"], 1,
        "only the good form made a key: {keys}"
    );
}

async fn permissions_decide_what_is_shown_and_allowed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let reader = Customer::with_permissions(&["api_keys:read"]);
    let session = SignedIn::new(&app, &reader).await;

    let (_, _, list) = html(session.get(&app, "/dashboard/keys").await).await;
    let (form_status, _, _) = html(session.get(&app, "/dashboard/keys/new").await).await;
    let (create_status, _, create) = html(
        session
            .post(
                &app,
                "/dashboard/keys",
                &[
                    ("name", "K"),
                    ("scopes", "songdb:read"),
                    ("lifetimeDays", "0"),
                ],
            )
            .await,
    )
    .await;
    let (audit_status, _, audit) = html(session.get(&app, "/dashboard/audit").await).await;
    let (venues_status, _, _) = html(session.get(&app, "/dashboard/venues").await).await;
    let (alerts_status, _, _) = html(session.get(&app, "/dashboard/alerts").await).await;

    assert!(!list.contains(r#"id="create-key""#), "{list}");
    assert!(
        !list.contains(r#"href="/dashboard/audit""#),
        "no link to what it may not see"
    );
    assert!(!list.contains(r#"href="/dashboard/venues""#));
    assert!(list.contains(r#"href="/dashboard/alerts""#));
    assert_eq!(form_status, StatusCode::FORBIDDEN);
    assert_eq!(create_status, StatusCode::FORBIDDEN);
    assert!(create.contains("api_keys:write"), "{create}");
    assert_eq!(audit_status, StatusCode::FORBIDDEN);
    assert!(audit.contains("audit:read"), "{audit}");
    assert_eq!(venues_status, StatusCode::FORBIDDEN);
    assert_eq!(alerts_status, StatusCode::OK);
}

async fn bad_tokens_are_refused_on_the_sign_in_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = sign(&claims_for(
        ActiveContext::admin(Uuid::new_v4()),
        ALL_PERMISSIONS,
    ));
    let mut expired_claims = claims_for(ActiveContext::customer(Uuid::new_v4()), ALL_PERMISSIONS);
    expired_claims.exp = 1_000_000;
    let expired = sign(&expired_claims);
    let attempt = |token: String| {
        browser()
            .post(app.url("/dashboard/sign-in"))
            .form(&[("token", token)])
            .send()
    };

    let mut in_leeway_claims = claims_for(ActiveContext::customer(Uuid::new_v4()), ALL_PERMISSIONS);
    in_leeway_claims.exp =
        u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap() - 5;
    let in_leeway = sign(&in_leeway_claims);
    let cases = [
        (in_leeway, StatusCode::UNAUTHORIZED, "has expired"),
        (
            "not a token".to_owned(),
            StatusCode::UNAUTHORIZED,
            "not a token this service accepts",
        ),
        (expired, StatusCode::UNAUTHORIZED, "has expired"),
        (admin, StatusCode::FORBIDDEN, "does not act for a customer"),
        (
            String::new(),
            StatusCode::BAD_REQUEST,
            "Paste a token first",
        ),
    ];
    for (token, status, message) in cases {
        let response = attempt(token).await.unwrap();
        assert!(!response.headers().contains_key(header::SET_COOKIE));
        let (got, _, page) = html(response).await;
        assert_eq!(got, status, "{message}");
        assert!(
            page.contains(r#"id="token-error""#) && page.contains(message),
            "{page}"
        );
    }
    let forged_cookie = browser()
        .get(app.url("/dashboard/keys"))
        .header(header::COOKIE, "kw_session=not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(forged_cookie.status(), StatusCode::SEE_OTHER);
}

async fn venues_show_their_request_queue(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    host.openkj(&app)
        .ok(
            "setAccepting",
            json!({"accepting": true, "system_id": 1, "venue_id": 0}),
        )
        .await;
    let sung = sing(
        &app,
        &host.url_name,
        json!({"singer": "Zoë <b>", "artist": "ABBA", "title": "Waterloo", "keyChange": 3}),
    )
    .await;
    assert_eq!(sung.status(), StatusCode::CREATED);
    let session = SignedIn::new(&app, &host.customer).await;

    let (_, _, venues) = html(session.get(&app, "/dashboard/venues").await).await;
    let queue_path = {
        let at = venues.find(r#"href="/dashboard/venues/"#).unwrap() + 6;
        venues[at..at + venues[at..].find('"').unwrap()].to_owned()
    };
    let (_, _, queue) = html(session.get(&app, &queue_path).await).await;
    let (missing, _, _) = html(
        session
            .get(&app, &format!("/dashboard/venues/{}", Uuid::new_v4()))
            .await,
    )
    .await;

    assert!(
        venues.contains("The Rusty Mic") && venues.contains("Taking requests"),
        "{venues}"
    );
    assert!(queue.contains(r#"data-refresh-seconds="5""#), "{queue}");
    assert!(
        queue.contains("Zoë &lt;b&gt;") && queue.contains("Waterloo"),
        "{queue}"
    );
    assert_eq!(missing, StatusCode::NOT_FOUND);
}

/// `keyward dashboard-link` (the real binary, on the app's database) prints a link; its
/// page asks before using it; the first `POST` signs in with the link's permissions and
/// the link never works again (SPEC §15).
async fn a_one_time_link_signs_in_once_with_its_permissions(backend: Backend) {
    if backend == Backend::Memory {
        return; // the CLI works on a database
    }
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let base = app.address.clone();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .current_dir(dir.path())
        .args(["dashboard-link", "--customer", &Uuid::new_v4().to_string()])
        .args(["--permissions", "api_keys:read", "--base-url", &base])
        .env_remove("RUST_LOG")
        .env_remove("KEYWARD_CONFIG")
        .env(
            "KEYWARD__DATABASE__URL",
            app.database_url.as_deref().unwrap(),
        )
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let url = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let token = url
        .strip_prefix(&format!("{base}/dashboard/link?token="))
        .unwrap_or_else(|| panic!("{url}"))
        .to_owned();
    let redeem = |token: String| {
        browser()
            .post(app.url("/dashboard/link"))
            .form(&[("token", token)])
            .send()
    };

    let (first_look, look_headers, page) = html(browser().get(&url).send().await.unwrap()).await;
    let (second_look, _, _) = html(browser().get(&url).send().await.unwrap()).await;
    let mistyped = redeem(format!("{token}x")).await.unwrap();
    let redeemed = redeem(token.clone()).await.unwrap();
    let cookie = redeemed.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let keys = browser()
        .get(app.url("/dashboard/keys"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    let new_key = browser()
        .get(app.url("/dashboard/keys/new"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    let again = redeem(token).await.unwrap();

    assert_eq!((first_look, second_look), (StatusCode::OK, StatusCode::OK));
    assert_eq!(look_headers[header::REFERRER_POLICY], "no-referrer");
    assert!(page.contains(r#"id="link-sign-in-submit""#), "{page}");
    assert_eq!(mistyped.status(), StatusCode::BAD_REQUEST);
    assert_eq!(redeemed.status(), StatusCode::SEE_OTHER);
    assert_eq!(redeemed.headers()[header::LOCATION], "/dashboard/keys");
    assert_eq!(keys.status(), StatusCode::OK);
    assert_eq!(
        new_key.status(),
        StatusCode::FORBIDDEN,
        "only the link's permissions"
    );
    assert!(!again.headers().contains_key(header::SET_COOKIE));
    let (status, _, used) = html(again).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        used.contains(r#"id="problem""#) && used.contains("used already"),
        "{used}"
    );
}

/// A form field holding U+0000 is refused as the API refuses it (SPEC §2: PostgreSQL
/// could not store it), and a sign-in posted from another site never sets a session
/// (login CSRF): by `Sec-Fetch-Site`, or by `Origin` from a browser without it.
async fn nul_fields_and_cross_site_sign_ins_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = everything();
    let session = SignedIn::new(&app, &customer).await;

    let nul = {
        let fields = [
            ("csrf", session.csrf.as_str()),
            ("name", "a\0b"),
            ("scopes", "songdb:read"),
            ("lifetimeDays", "0"),
        ];
        browser()
            .post(app.url("/dashboard/keys"))
            .header(header::COOKIE, &session.cookie)
            .form(&fields)
            .send()
            .await
            .unwrap()
    };
    let (nul_status, _, nul_page) = html(nul).await;
    assert_eq!(nul_status, StatusCode::BAD_REQUEST, "{nul_page}");
    assert!(
        nul_page.contains("Name: must not contain U+0000"),
        "{nul_page}"
    );
    let login_csrf = browser()
        .post(app.url("/dashboard/sign-in"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("token", customer.token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(!login_csrf.headers().contains_key(header::SET_COOKIE));
    assert_eq!(login_csrf.status(), StatusCode::FORBIDDEN);
    let other_origin = browser()
        .post(app.url("/dashboard/sign-in"))
        .header(header::ORIGIN, "https://evil.example")
        .form(&[("token", customer.token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(other_origin.status(), StatusCode::FORBIDDEN);
    let keys: serde_json::Value = app
        .get("/v1/customer/api-keys", &customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["pagination"]["total"], 0, "{keys}");
}
