//! `GET /metrics` (SPEC §14): Prometheus text format, `keyward_` names, what each counter
//! counts, label values that never carry ids or keys, and the optional bearer token.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::json;

use crate::openkj_client::Host;
use crate::support::{Backend, Customer, TestApp, on_every_backend, spawn_app, spawn_app_with};

on_every_backend!(
    requests_verifications_and_commands_are_counted_by_pattern_and_result,
    storage_and_caches_are_read_at_scrape_time,
    a_configured_token_is_required,
    a_spent_failure_budget_counts_one_burst,
);

/// One sample line: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the text exposition format (the subset Prometheus' own encoder writes: no
/// escaped quotes in label values, no timestamps).
fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                None => (series, BTreeMap::new()),
                Some((name, rest)) => {
                    let labels = rest
                        .strip_suffix('}')
                        .unwrap()
                        .split(',')
                        .filter(|pair| !pair.is_empty())
                        .map(|pair| {
                            let (key, value) = pair.split_once('=').unwrap();
                            (key.to_owned(), value.trim_matches('"').to_owned())
                        })
                        .collect();
                    (name, labels)
                }
            };
            Sample {
                name: name.to_owned(),
                labels,
                value: value.parse().unwrap(),
            }
        })
        .collect()
}

/// The value of the series `name{labels}`, if the scrape has it.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|sample| {
            sample.name == name
                && sample.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(value))
        })
        .map(|sample| sample.value)
}

async fn scrape(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    response.text().await.unwrap()
}

/// What [`traffic`] made: the customer, its key, an OpenKJ host.
struct Traffic {
    customer: Customer,
    id: String,
    secret: String,
    host: Host,
}

/// Two valid validations, one malformed and one unknown key, a key fetched through the
/// customer API, a 404, a U+0000 in a query, an OpenKJ poll and an unknown OpenKJ
/// command.
async fn traffic(app: &TestApp) -> Traffic {
    let customer = Customer::new();
    let key = app
        .create_key_with_scopes(&customer, &["songdb:read"])
        .await;
    let secret = key["key"].as_str().unwrap().to_owned();
    let id = key["id"].as_str().unwrap().to_owned();
    let host = Host::new(app).await;

    assert_eq!(app.validate(&secret).await.status(), StatusCode::OK);
    assert_eq!(app.validate(&secret).await.status(), StatusCode::OK);
    // The last checksum character changed (to one it is not).
    let last = if secret.ends_with('x') { 'y' } else { 'x' };
    let wrong_checksum = format!("{}{last}", &secret[..secret.len() - 1]);
    assert_eq!(
        app.validate(&wrong_checksum).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let unknown = keyward_domain::keys::PlainKey::from_random(
        &keyward_domain::keys::KeyPrefix::default(),
        &[9; 32],
    );
    assert_eq!(
        app.validate(unknown.expose()).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let fetched = app
        .get(&format!("/v1/customer/api-keys/{id}"), &customer)
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    let missing = app
        .client
        .get(app.url(&format!("/no/such/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // Refused by the input boundary before routing: counted all the same.
    let nul = app
        .client
        .get(app.url("/v1/validate?scope=%00"))
        .send()
        .await
        .unwrap();
    assert_eq!(nul.status(), StatusCode::BAD_REQUEST);
    let openkj = host.openkj(app);
    openkj.serial().await;
    openkj.refused("noSuchCommand", json!({})).await;
    Traffic {
        customer,
        id,
        secret,
        host,
    }
}

async fn requests_verifications_and_commands_are_counted_by_pattern_and_result(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let Traffic {
        customer,
        id,
        secret,
        host,
    } = traffic(&app).await;

    let text = scrape(&app).await;
    let samples = parse(&text);

    let requests = |route: &str, method: &str, status: &str| {
        value(
            &samples,
            "keyward_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert_eq!(requests("/v1/validate", "GET", "200"), Some(2.0), "{text}");
    assert_eq!(requests("/v1/validate", "GET", "401"), Some(2.0), "{text}");
    assert_eq!(
        requests("/v1/customer/api-keys/{id}", "GET", "200"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(requests("unmatched", "GET", "404"), Some(1.0), "{text}");
    assert_eq!(requests("/v1/validate", "GET", "400"), Some(1.0), "{text}");
    assert_eq!(requests("/openkj/api", "POST", "200"), Some(2.0), "{text}");
    assert_eq!(
        value(
            &samples,
            "keyward_http_request_duration_seconds_count",
            &[("route", "/v1/validate"), ("method", "GET")]
        ),
        Some(5.0),
        "{text}"
    );
    let verifications = |result: &str| {
        value(
            &samples,
            "keyward_verifications_total",
            &[("result", result)],
        )
    };
    // Two validations and the OpenKJ poll; the unknown command is refused before its key
    // is looked at.
    assert_eq!(verifications("valid"), Some(3.0), "{text}");
    assert_eq!(verifications("malformed"), Some(1.0), "{text}");
    assert_eq!(verifications("invalid"), Some(1.0), "{text}");
    assert_eq!(verifications("rate_limited"), Some(0.0), "{text}");
    let commands = |command: &str, result: &str| {
        value(
            &samples,
            "keyward_openkj_commands_total",
            &[("command", command), ("result", result)],
        )
    };
    assert_eq!(commands("getSerial", "ok"), Some(1.0), "{text}");
    assert_eq!(commands("unknown", "error"), Some(1.0), "{text}");
    assert!(!text.contains("noSuchCommand"), "{text}");
    // No id, key or customer in any label (SPEC §2: no key material in metrics).
    for private in [
        id.as_str(),
        secret.as_str(),
        &secret[..12],
        &customer.id.to_string(),
        &host.key,
        &host.customer.id.to_string(),
    ] {
        assert!(!text.contains(private), "{private} in\n{text}");
    }
}

async fn storage_and_caches_are_read_at_scrape_time(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let key = app
        .create_key_with_scopes(&customer, &["songdb:read"])
        .await;
    for _ in 0..3 {
        app.validate(key["key"].as_str().unwrap()).await;
    }
    let host = Host::new(&app).await;
    for _ in 0..3 {
        host.openkj(&app).serial().await;
    }

    let samples = parse(&scrape(&app).await);

    let keys = [("cache", "keys")];
    let hits = value(&samples, "keyward_cache_hits_total", &keys).unwrap();
    let misses = value(&samples, "keyward_cache_misses_total", &keys).unwrap();
    // The first verification reads the database; the cache answers the others (when the
    // change feed vouches for it, which it does from start on every backend).
    assert!(misses >= 1.0, "{misses}");
    assert!(hits >= 2.0, "{hits}");
    assert_eq!(value(&samples, "keyward_cache_answering", &keys), Some(1.0));
    let serials = [("cache", "serials")];
    assert!(value(&samples, "keyward_cache_hits_total", &serials).unwrap() >= 2.0);
    assert!(value(&samples, "keyward_cache_misses_total", &serials).unwrap() >= 1.0);
    if backend == Backend::Memory {
        assert_eq!(
            value(&samples, "keyward_db_pool_max_connections", &[]),
            None
        );
        return;
    }
    assert_eq!(
        value(&samples, "keyward_db_pool_max_connections", &[]),
        Some(10.0)
    );
    let checkouts = value(&samples, "keyward_db_pool_checkouts_total", &[]).unwrap();
    assert!(checkouts >= 2.0, "{checkouts}");
    assert_eq!(
        value(&samples, "keyward_db_pool_timeouts_total", &[]),
        Some(0.0)
    );
    assert_eq!(
        value(&samples, "keyward_db_pool_checkout_failures_total", &[]),
        Some(0.0)
    );
    assert!(value(&samples, "keyward_db_pool_wait_seconds_total", &[]).unwrap() > 0.0);
    let backend_label = if backend == Backend::Sqlite {
        "sqlite"
    } else {
        "postgresql"
    };
    assert_eq!(
        value(
            &samples,
            "keyward_build_info",
            &[
                ("version", env!("CARGO_PKG_VERSION")),
                ("backend", backend_label)
            ]
        ),
        Some(1.0)
    );
}

async fn a_configured_token_is_required(backend: Backend) {
    const TOKEN: &str = "scrape-token-0123456789";
    let Some(app) = spawn_app_with(backend, |settings| {
        settings.metrics.bearer_token = Some(TOKEN.to_owned());
    })
    .await
    else {
        return;
    };
    let url = app.url("/metrics");

    let without = app.client.get(&url).send().await.unwrap();
    let wrong = app
        .client
        .get(&url)
        .bearer_auth("scrape-token-0123456780")
        .send()
        .await
        .unwrap();
    let right = app
        .client
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let lower_case_scheme = app
        .client
        .get(&url)
        .header("Authorization", format!("bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    let head = app
        .client
        .head(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();

    for (response, detail) in [
        (
            without,
            "Bearer token required: metrics.bearer_token is set",
        ),
        (wrong, "Invalid metrics token"),
    ] {
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let problem =
            crate::support::problem(response, StatusCode::UNAUTHORIZED, "authentication_failed")
                .await;
        assert_eq!(problem["detail"], detail);
    }
    assert_eq!(right.status(), StatusCode::OK);
    assert_eq!(lower_case_scheme.status(), StatusCode::OK);
    assert!(
        right
            .text()
            .await
            .unwrap()
            .contains("keyward_http_requests_total")
    );
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.bytes().await.unwrap().is_empty());
    let scraped = app
        .client
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let samples = parse(&scraped.text().await.unwrap());
    let count = |method: &str, status: &str| {
        value(
            &samples,
            "keyward_http_requests_total",
            &[
                ("route", "/metrics"),
                ("method", method),
                ("status", status),
            ],
        )
    };
    assert_eq!(count("HEAD", "200"), Some(1.0));
    assert_eq!(count("GET", "200"), Some(2.0));
    assert_eq!(count("GET", "401"), Some(2.0));
}

async fn a_spent_failure_budget_counts_one_burst(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |settings| settings.auth.failed_per_minute = 2).await
    else {
        return;
    };
    let unknown = keyward_domain::keys::PlainKey::from_random(
        &keyward_domain::keys::KeyPrefix::default(),
        &[5; 32],
    );

    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(app.validate(unknown.expose()).await.status());
    }
    let samples = parse(&scrape(&app).await);

    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // One run of refusals is one burst; each refused request is a rate-limited verification.
    assert_eq!(
        value(&samples, "keyward_failed_auth_bursts_total", &[]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "keyward_verifications_total",
            &[("result", "rate_limited")]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &samples,
            "keyward_verifications_total",
            &[("result", "invalid")]
        ),
        Some(2.0)
    );
}
