//! Faults found by fuzzing, bug reports and fault injection (issue 13), each fixed by
//! kind and checked here on every backend: U+0000 in any text input (SPEC §2), JWT
//! dates (SPEC §4), `HEAD` on every GET route (SPEC §5), OpenKJ bodies that name a
//! key twice (SPEC §9) and an API explorer that phones nobody.

use jsonwebtoken::{EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::openkj_client::Host;
use crate::support::{
    Backend, Customer, SECRET, TestApp, claims_for, on_every_backend, problem, rate_limited, sign,
    spawn_app, spawn_app_with,
};
use keyward_http::auth::ActiveContext;

on_every_backend!(
    nul_in_any_text_input_is_400_naming_the_field_and_stores_nothing,
    openkj_refuses_nul_naming_the_field,
    openkj_body_naming_a_key_twice_runs_nothing,
    jwt_dates_follow_rfc_7519,
    every_get_route_answers_head,
    the_api_explorer_names_no_outside_address,
    failed_verifications_past_the_budget_are_429_for_every_key_from_the_address,
    wrong_keys_sent_at_once_are_verified_no_more_than_the_budget,
    a_stop_under_load_answers_every_request_it_took,
    a_draining_instance_is_not_ready_and_closes_every_connection,
);

/// An app on `backend` with a customer, an OpenKJ key and a venue that takes requests
/// (system 1); `None` where the backend is not available.
async fn accepting_host(backend: Backend) -> Option<(TestApp, Host)> {
    let app = spawn_app(backend).await?;
    let host = Host::new(&app).await;
    host.openkj(&app)
        .ok(
            "setAccepting",
            json!({"accepting": true, "system_id": 1, "venue_id": host.venue}),
        )
        .await;
    Some((app, host))
}

/// A new `venues:read` key of `customer`, in full.
async fn venues_read_key(app: &TestApp, customer: &Customer) -> String {
    app.create_key_with_scopes(customer, &["venues:read"]).await["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Expects a 400 whose detail is `detail`.
async fn refused(response: reqwest::Response, detail: &str) {
    let body = problem(response, StatusCode::BAD_REQUEST, "validation_error").await;
    assert_eq!(body["detail"], detail, "{body}");
}

async fn nul_in_any_text_input_is_400_naming_the_field_and_stores_nothing(backend: Backend) {
    let Some((app, host)) = accepting_host(backend).await else {
        return;
    };
    let openkj = host.openkj(&app);
    let public = format!("/v1/public/venues/{}", host.url_name);
    let keyed = |method: Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .header("X-API-Key", &host.key)
    };

    // Unauthenticated: the singer API, body, query and path.
    let singer = app
        .client
        .post(app.url(&format!("{public}/requests")))
        .json(&json!({"singer": "Al\u{0}ice", "artist": "A", "title": "T"}))
        .send()
        .await
        .unwrap();
    refused(singer, "singer: must not contain U+0000").await;
    let search = app
        .client
        .get(app.url(&format!("{public}/songs?q=%00")))
        .send()
        .await
        .unwrap();
    refused(search, "q: must not contain U+0000").await;
    let path = app
        .client
        .get(app.url("/v1/public/venues/bar%00"))
        .send()
        .await
        .unwrap();
    refused(path, "path: must not contain U+0000").await;

    // The customer API.
    let venue = app
        .post("/v1/customer/venues", &host.customer)
        .json(&json!({"name": "Bar\u{0}"}))
        .send()
        .await
        .unwrap();
    refused(venue, "name: must not contain U+0000").await;
    let key = app
        .post("/v1/customer/api-keys", &host.customer)
        .json(&json!({"name": "n", "description": "d\u{0}", "scopes": ["venues:read"]}))
        .send()
        .await
        .unwrap();
    refused(key, "description: must not contain U+0000").await;
    let songdb = app
        .get("/v1/customer/songdb?systemId=1&q=a%00", &host.customer)
        .send()
        .await
        .unwrap();
    refused(songdb, "q: must not contain U+0000").await;

    // Integrations.
    let integration_search = keyed(Method::GET, "/v1/songdb?q=%00").send().await.unwrap();
    refused(integration_search, "q: must not contain U+0000").await;
    let integration_request = keyed(Method::POST, &format!("/v1/venues/{}/requests", host.venue))
        .json(&json!({"singer": "S", "artist": "A\u{0}", "title": "T"}))
        .send()
        .await
        .unwrap();
    refused(integration_request, "artist: must not contain U+0000").await;

    // A token claim that is kept as text.
    let mut claims = claims_for(ActiveContext::customer(host.customer.id), &["venues:read"]);
    "user\u{0}1".clone_into(&mut claims.sub);
    let token = app
        .client
        .get(app.url("/v1/customer/venues"))
        .bearer_auth(sign(&claims))
        .send()
        .await
        .unwrap();
    refused(token, "sub: must not contain U+0000").await;

    assert!(openkj.requests(host.venue).await.is_empty());
    let venues = app
        .get("/v1/customer/venues", &host.customer)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(venues["data"].as_array().map(Vec::len), Some(1), "{venues}");
}

async fn openkj_refuses_nul_naming_the_field(backend: Backend) {
    let Some((app, host)) = accepting_host(backend).await else {
        return;
    };
    let openkj = host.openkj(&app);

    let add = openkj
        .refused(
            "addRequest",
            json!({"venue_id": host.venue, "singer": "Al\u{0}ice", "artist": "A", "title": "T"}),
        )
        .await;
    let search = openkj
        .refused("search", json!({"searchString": "\u{0}", "system_id": 1}))
        .await;
    let upload = openkj
        .refused(
            "addSongs",
            json!({"system_id": 1, "songs": [{"artist": "A", "title": "ok"}, {"artist": "B", "title": "x\u{0}"}]}),
        )
        .await;

    assert_eq!(add, "singer must not contain U+0000");
    assert_eq!(search, "searchString must not contain U+0000");
    assert_eq!(upload, "songs[1].title must not contain U+0000");
    assert!(openkj.requests(host.venue).await.is_empty());
    let found = openkj
        .ok("search", json!({"searchString": "ok", "system_id": 1}))
        .await;
    assert_eq!(found["songs"], json!([]), "nothing of the batch was stored");
}

async fn openkj_body_naming_a_key_twice_runs_nothing(backend: Backend) {
    let Some((app, host)) = accepting_host(backend).await else {
        return;
    };
    let openkj = host.openkj(&app);
    crate::openkj_client::sing_ok(&app, &host.url_name, "Alice", "A", "T").await;
    // Written by hand: no JSON library writes a key twice.
    let body = format!(
        r#"{{"api_key": "{}", "command": "getSerial", "venue_id": {}, "command": "clearRequests"}}"#,
        host.key, host.venue
    );

    let reply = openkj.post_raw("/openkj/api", body.into_bytes()).await;

    assert_eq!(reply["error"], true, "{reply}");
    let reason = reply["errorString"].as_str().unwrap_or_default();
    assert!(reason.contains(r#"duplicate key "command""#), "{reply}");
    assert_eq!(
        openkj.requests(host.venue).await.len(),
        1,
        "nothing cleared"
    );
}

/// A token with raw claims, signed with the test secret.
fn token_with(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

async fn jwt_dates_follow_rfc_7519(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let now = jsonwebtoken::get_current_timestamp();
    let base = |exp: Value, nbf: Option<u64>| {
        let mut claims = json!({
            "sub": "user-1",
            "exp": exp,
            "activeContext": {"type": "customer", "id": customer.id},
            "permissions": ["api_keys:read"],
        });
        if let Some(nbf) = nbf {
            claims["nbf"] = json!(nbf);
        }
        token_with(&claims)
    };
    let list = |token: String| {
        app.client
            .get(app.url("/v1/customer/api-keys"))
            .bearer_auth(token)
            .send()
    };
    // 2100-01-01T00:00:00Z as RFC 7519 allows writing it.
    let fractional = list(base(json!(4_102_444_800.5), None)).await.unwrap();
    let whole_float = list(base(json!(4_102_444_800.0), None)).await.unwrap();
    let not_yet = list(base(json!(now + 600), Some(now + 300))).await.unwrap();
    let inside_leeway = list(base(json!(now + 600), Some(now + 5))).await.unwrap();

    assert_eq!(fractional.status(), StatusCode::OK);
    assert_eq!(whole_float.status(), StatusCode::OK);
    assert_eq!(inside_leeway.status(), StatusCode::OK);
    let body = problem(not_yet, StatusCode::UNAUTHORIZED, "authentication_failed").await;
    assert_eq!(body["detail"], "bearer token not yet valid");
}

/// `HEAD` answers like `GET` without a body.
async fn head_like_get(app: &TestApp, path: &str, auth: &[(&str, String)]) -> StatusCode {
    let send = |method: Method| {
        let mut request = app.client.request(method, app.url(path));
        for (name, value) in auth {
            request = request.header(*name, value);
        }
        request.send()
    };
    let get = send(Method::GET).await.unwrap();
    let head = send(Method::HEAD).await.unwrap();
    let status = head.status();
    assert_eq!(status, get.status(), "{path}");
    assert_eq!(
        head.headers().get("content-type"),
        get.headers().get("content-type"),
        "{path}"
    );
    let get_length = get.bytes().await.unwrap().len();
    assert_eq!(
        head.headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok()),
        Some(get_length),
        "{path}: Content-Length of the GET body"
    );
    assert!(head.bytes().await.unwrap().is_empty(), "{path}: no body");
    status
}

async fn every_get_route_answers_head(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let bearer = [("Authorization", format!("Bearer {}", host.customer.token))];
    let keyed = [("X-API-Key", host.key.clone())];
    let public = format!("/v1/public/venues/{}", host.url_name);

    let cases = [
        ("/health", &[][..]),
        ("/openapi.json", &[]),
        ("/docs/", &[]),
        ("/v1/validate", &keyed),
        ("/v1/venues", &keyed),
        ("/v1/customer/api-keys", &bearer),
        ("/v1/customer/venues", &bearer),
        (public.as_str(), &[]),
    ];
    for (path, auth) in cases {
        assert_eq!(
            head_like_get(&app, path, auth).await,
            StatusCode::OK,
            "{path}"
        );
    }
    assert_eq!(
        head_like_get(&app, "/v1/no-such-route", &[]).await,
        StatusCode::NOT_FOUND
    );
    let post_only = app
        .client
        .head(app.url("/v1/customer/api-keys/00000000-0000-0000-0000-000000000000/rotate"))
        .send()
        .await
        .unwrap();
    assert_eq!(post_only.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post_only.headers().get("allow").unwrap(), "POST");
}

async fn the_api_explorer_names_no_outside_address(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let app = &app;
    let get = |path: &'static str| async move {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.text().await.unwrap()
    };

    let initializer = get("/docs/swagger-initializer.js").await;
    let page = get("/docs/").await;

    assert!(
        initializer.contains(r#""validatorUrl": "none""#)
            || initializer.contains(r#""validatorUrl":"none""#),
        "the validator badge is on:\n{initializer}"
    );
    for text in [&initializer, &page] {
        for scheme in ["http://", "https://", "//validator"] {
            assert!(
                !text.contains(scheme),
                "names an outside address ({scheme}):\n{text}"
            );
        }
    }
}

async fn failed_verifications_past_the_budget_are_429_for_every_key_from_the_address(
    backend: Backend,
) {
    let Some(app) = spawn_app_with(backend, |settings| settings.auth.failed_per_minute = 3).await
    else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    let wrong = format!("{}x", host.key);

    for _ in 0..10 {
        assert_eq!(app.validate(&host.key).await.status(), StatusCode::OK);
    }
    for _ in 0..3 {
        assert_eq!(
            app.validate(&wrong).await.status(),
            StatusCode::UNAUTHORIZED,
            "successes spent nothing"
        );
    }
    let (seconds, body) = rate_limited(app.validate(&wrong).await).await;
    let good_key_now = app.validate(&host.key).await;
    let integration = app
        .client
        .get(app.url("/v1/venues"))
        .header("X-API-Key", &host.key)
        .send()
        .await
        .unwrap();
    let polled = openkj.refused("getSerial", json!({})).await;
    let without_key = app
        .client
        .get(app.url("/v1/validate"))
        .send()
        .await
        .unwrap();

    assert!((1..=20).contains(&seconds), "{seconds}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("too many failed API key verifications"),
        "{body}"
    );
    problem(good_key_now, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    problem(integration, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(
        polled.contains("too many failed API key verifications"),
        "{polled}"
    );
    assert_eq!(
        without_key.status(),
        StatusCode::UNAUTHORIZED,
        "a request without a key is not a verification"
    );
}

/// However many wrong keys a client has in flight at once, no more than its budget are
/// looked up.
async fn wrong_keys_sent_at_once_are_verified_no_more_than_the_budget(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |settings| settings.auth.failed_per_minute = 3).await
    else {
        return;
    };
    let customer = Customer::new();
    let key = venues_read_key(&app, &customer).await;
    let wrong = format!("{key}x");

    let statuses: Vec<StatusCode> =
        futures::future::join_all((0..40).map(|_| async { app.validate(&wrong).await.status() }))
            .await;

    let unauthorized = statuses
        .iter()
        .filter(|status| **status == StatusCode::UNAUTHORIZED)
        .count();
    let limited = statuses
        .iter()
        .filter(|status| **status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((unauthorized, limited), (3, 37), "{statuses:?}");
}

/// What one client saw while the server stopped under it.
#[derive(Debug, Default)]
struct Outcomes {
    answered: usize,
    /// Whether the server said `Connection: close` before it went away.
    told_to_leave: bool,
    server_errors: Vec<u16>,
    /// Requests that were sent but never answered (the connection broke under them).
    lost: Vec<String>,
}

/// Clients behave as behind a load balancer: a client told `Connection: close` goes
/// elsewhere (here: stops), as one routed away by a `/ready` of 503 would.
async fn a_stop_under_load_answers_every_request_it_took(backend: Backend) {
    let Some(mut app) = spawn_app_with(backend, |settings| settings.server.drain_seconds = 1).await
    else {
        return;
    };
    let customer = Customer::new();
    let key = venues_read_key(&app, &customer).await;
    let stopping = std::sync::Arc::new(tokio::sync::Notify::new());
    let mut clients = Vec::new();
    for n in 0..8 {
        // Each client keeps its own keep-alive connection, as load balancers do.
        let client = reqwest::Client::new();
        let (validate, list) = (app.url("/v1/validate"), app.url("/v1/customer/api-keys"));
        let (key, token) = (key.clone(), customer.token.clone());
        let started = stopping.clone();
        clients.push(tokio::spawn(async move {
            let mut outcomes = Outcomes::default();
            for round in 0.. {
                let request = if (n + round) % 2 == 0 {
                    client.get(&validate).header("X-API-Key", &key)
                } else {
                    client.get(&list).bearer_auth(&token)
                };
                match request.send().await {
                    Ok(response) => {
                        let status = response.status();
                        let close = response
                            .headers()
                            .get("connection")
                            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
                        // The body too: a response cut short is a lost one.
                        match response.bytes().await {
                            Ok(_) if status.is_server_error() => {
                                outcomes.server_errors.push(status.as_u16());
                            }
                            Ok(_) => outcomes.answered += 1,
                            Err(err) => outcomes.lost.push(format!("body: {err:?}")),
                        }
                        if close {
                            outcomes.told_to_leave = true;
                            break;
                        }
                    }
                    // Refused: the listener is closed, the request was never taken.
                    Err(err) if err.is_connect() => break,
                    Err(err) => outcomes.lost.push(format!("{err:?}")),
                }
                if round == 20 {
                    started.notify_one();
                }
            }
            outcomes
        }));
    }

    stopping.notified().await;
    app.stop().await;

    let mut answered = 0;
    for client in clients {
        let outcomes = client.await.unwrap();
        assert!(outcomes.server_errors.is_empty(), "{outcomes:?}");
        assert!(outcomes.lost.is_empty(), "{outcomes:?}");
        assert!(outcomes.told_to_leave, "{outcomes:?}");
        answered += outcomes.answered;
    }
    // One client had 20 answers before the stop began; every client got at least the
    // answer that told it to leave.
    assert!(answered > 20 + 7, "the load ran: {answered} answers");
}

async fn a_draining_instance_is_not_ready_and_closes_every_connection(backend: Backend) {
    let Some(mut app) = spawn_app_with(backend, |settings| settings.server.drain_seconds = 2).await
    else {
        return;
    };
    let ready_before = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready_before.status(), StatusCode::OK);
    assert_ne!(
        ready_before
            .headers()
            .get("connection")
            .map(reqwest::header::HeaderValue::as_bytes),
        Some(&b"close"[..])
    );

    app.begin_stop();
    // The signal is handled asynchronously: poll until the drain shows.
    let mut ready = app.client.get(app.url("/ready")).send().await.unwrap();
    for _ in 0..100 {
        if ready.status() != StatusCode::OK {
            break;
        }
        tokio::task::yield_now().await;
        ready = app.client.get(app.url("/ready")).send().await.unwrap();
    }
    let health = app.client.get(app.url("/health")).send().await.unwrap();

    assert_eq!(ready.headers().get("connection").unwrap(), "close");
    problem(
        ready,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
    assert_eq!(health.status(), StatusCode::OK, "requests are still served");
    assert_eq!(health.headers().get("connection").unwrap(), "close");
    app.stop().await;
}
