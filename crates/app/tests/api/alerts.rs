//! Suspicious-activity alerts (SPEC §12): a key presented after it was retired raises
//! `revoked_key_used`, a use after 30 days without one `dormant_key_used`, a minute of at
//! least 100 verifications over ten times the hour before's average `usage_spike`, a use
//! from an address the key was not used from before `new_client_ip`; each stored once per
//! key, kind and hour, and listed by `GET /v1/customer/alerts`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

use crate::support::{
    Backend, Customer, TestApp, on_every_backend, problem, spawn_app, spawn_app_with,
};

on_every_backend!(
    a_revoked_key_presented_is_alerted_once_per_hour,
    each_kind_of_retired_key_is_named_and_the_filter_and_tenancy_hold,
    bad_queries_are_400_naming_the_parameter,
    a_deleted_keys_alerts_go_with_it,
    a_key_used_after_thirty_days_unused_is_alerted_as_dormant,
    a_minute_far_busier_than_the_hour_before_is_a_usage_spike,
    a_key_used_from_a_new_address_is_alerted_once_it_is_a_day_old,
);

async fn alerts(app: &TestApp, customer: &Customer, query: &str) -> Value {
    let response = app
        .get(&format!("/v1/customer/alerts{query}"), customer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn revoke(app: &TestApp, customer: &Customer, id: &str) {
    let response = app
        .post(&format!("/v1/customer/api-keys/{id}/revoke"), customer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn a_revoked_key_presented_is_alerted_once_per_hour(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let created = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let (id, key) = (
        created["id"].as_str().unwrap(),
        created["key"].as_str().unwrap(),
    );
    assert_eq!(app.validate(key).await.status(), StatusCode::OK);
    app.flush_usage().await;
    assert_eq!(
        alerts(&app, &customer, "").await["data"],
        json!([]),
        "a good use is no alert"
    );
    revoke(&app, &customer, id).await;

    for _ in 0..3 {
        assert_eq!(app.validate(key).await.status(), StatusCode::UNAUTHORIZED);
    }
    app.flush_usage().await;
    let first = alerts(&app, &customer, "").await;
    assert_eq!(app.validate(key).await.status(), StatusCode::UNAUTHORIZED);
    app.flush_usage().await;
    let same_hour = alerts(&app, &customer, "").await;
    app.clock.advance(Duration::hours(1));
    assert_eq!(app.validate(key).await.status(), StatusCode::UNAUTHORIZED);
    app.flush_usage().await;
    let next_hour = alerts(&app, &customer, "").await;

    let data = first["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{first}");
    assert_eq!(data[0]["keyId"], id);
    assert_eq!(data[0]["kind"], "revoked_key_used");
    assert_eq!(
        data[0]["detail"],
        "The key was presented 3 times after it was revoked; an integration still sends it."
    );
    assert!(
        data[0]["id"]
            .as_str()
            .unwrap()
            .parse::<uuid::Uuid>()
            .is_ok()
    );
    assert!(data[0]["at"].as_str().unwrap().ends_with('Z'), "{first}");
    assert_eq!(
        first["pagination"],
        json!({"page": 1, "limit": 20, "total": 1, "totalPages": 1})
    );
    assert_eq!(
        same_hour["data"], first["data"],
        "one alert per key, kind and hour"
    );
    let later = next_hour["data"].as_array().unwrap();
    assert_eq!(later.len(), 2, "{next_hour}");
    assert!(
        later[0]["at"].as_str() > later[1]["at"].as_str(),
        "newest first: {next_hour}"
    );
    assert_eq!(later[1], data[0]);
}

async fn each_kind_of_retired_key_is_named_and_the_filter_and_tenancy_hold(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let stranger = Customer::new();
    // Deactivated, never revoked.
    let paused = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let patched = app
        .patch(
            &format!("/v1/customer/api-keys/{}", paused["id"].as_str().unwrap()),
            &customer,
        )
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    // Rotated out: its grace period is over. (Without one, the old secret is forgotten
    // at once and reads as an unknown key.)
    let rotated = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    app.rotated(
        &customer,
        rotated["id"].as_str().unwrap(),
        Some(json!({"gracePeriodSeconds": 1})),
    )
    .await;
    app.clock.advance(Duration::seconds(2));
    for old in [&paused, &rotated] {
        assert_eq!(
            app.validate(old["key"].as_str().unwrap()).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // A good key of another customer, and an unknown key: no alert for anyone.
    let other = app
        .create_key_with_scopes(&stranger, &["venues:read"])
        .await;
    assert_eq!(
        app.validate(other["key"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );
    app.flush_usage().await;

    let all = alerts(&app, &customer, "").await;
    let filtered = alerts(&app, &customer, "?kind=revoked_key_used").await;
    let none = alerts(&app, &customer, "?kind=usage_spike").await;
    let theirs = alerts(&app, &stranger, "").await;

    let details: Vec<(&str, &str)> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|alert| {
            (
                alert["keyId"].as_str().unwrap(),
                alert["detail"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(details.len(), 2, "{all}");
    assert!(details.contains(&(
        paused["id"].as_str().unwrap(),
        "The key was presented once after it was deactivated; an integration still sends it."
    )));
    assert!(details.contains(&(
        rotated["id"].as_str().unwrap(),
        "The key was presented once after it was rotated out; an integration still sends it."
    )));
    assert_eq!(filtered["data"], all["data"]);
    assert_eq!(none["data"], json!([]));
    assert_eq!(none["pagination"]["total"], 0);
    assert_eq!(theirs["data"], json!([]));
}

async fn bad_queries_are_400_naming_the_parameter(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    for (query, detail) in [
        (
            "?kind=revoked",
            "kind: must be one of revoked_key_used, new_client_ip, usage_spike, dormant_key_used",
        ),
        ("?limit=101", "limit: must be between 1 and 100"),
        ("?page=zero", "page: must be a whole number"),
    ] {
        let response = app
            .get(&format!("/v1/customer/alerts{query}"), &customer)
            .send()
            .await
            .unwrap();
        let body = problem(response, StatusCode::BAD_REQUEST, "validation_error").await;
        assert!(
            body["detail"].as_str().unwrap().contains(detail),
            "{query}: {body}"
        );
    }
    let no_permission = Customer::with_permissions(&["api_keys:write"]);
    let denied = app
        .get("/v1/customer/alerts", &no_permission)
        .send()
        .await
        .unwrap();
    problem(denied, StatusCode::FORBIDDEN, "authorization_denied").await;
}

async fn a_deleted_keys_alerts_go_with_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let created = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let (id, key) = (
        created["id"].as_str().unwrap(),
        created["key"].as_str().unwrap(),
    );
    revoke(&app, &customer, id).await;
    assert_eq!(app.validate(key).await.status(), StatusCode::UNAUTHORIZED);
    app.flush_usage().await;
    assert_eq!(alerts(&app, &customer, "").await["pagination"]["total"], 1);

    let deleted = app
        .delete(&format!("/v1/customer/api-keys/{id}"), &customer)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    assert_eq!(alerts(&app, &customer, "").await["data"], json!([]));
}

/// The `(keyId, kind, detail)` of every alert of `customer`'s, newest first.
async fn listed(app: &TestApp, customer: &Customer, query: &str) -> Vec<(String, String, String)> {
    let page = alerts(app, customer, query).await;
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|alert| {
            let text = |field: &str| alert[field].as_str().unwrap().to_owned();
            (text("keyId"), text("kind"), text("detail"))
        })
        .collect()
}

async fn a_key_used_after_thirty_days_unused_is_alerted_as_dormant(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let used = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let never_used = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let created_on = app.clock_now().date();
    assert_eq!(
        app.validate(used["key"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );
    app.flush_usage().await;

    // 29 days and 23 hours later: not yet dormant.
    app.clock.advance(Duration::days(30) - Duration::hours(1));
    assert_eq!(
        app.validate(used["key"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );
    app.flush_usage().await;
    let last_used_on = app.clock_now().date();
    assert_eq!(listed(&app, &customer, "").await, vec![]);

    // 30 days after that use, and 60 after the other key was created.
    app.clock.advance(Duration::days(30));
    for key in [&used, &never_used] {
        assert_eq!(
            app.validate(key["key"].as_str().unwrap()).await.status(),
            StatusCode::OK
        );
    }
    app.flush_usage().await;
    // A second use right after is no longer after a dormant spell.
    assert_eq!(
        app.validate(used["key"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );
    app.flush_usage().await;

    let mut dormant = listed(&app, &customer, "?kind=dormant_key_used").await;
    dormant.sort();
    let mut expected = vec![
        (
            used["id"].as_str().unwrap().to_owned(),
            "dormant_key_used".to_owned(),
            format!("The key was used after 30 days unused (last used {last_used_on})."),
        ),
        (
            never_used["id"].as_str().unwrap().to_owned(),
            "dormant_key_used".to_owned(),
            format!(
                "The key was used after 59 days unused (never used since it was created on \
                 {created_on})."
            ),
        ),
    ];
    expected.sort();
    assert_eq!(dormant, expected);
    assert_eq!(listed(&app, &customer, "").await.len(), 2);
}

async fn a_minute_far_busier_than_the_hour_before_is_a_usage_spike(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let created = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let (id, key) = (
        created["id"].as_str().unwrap(),
        created["key"].as_str().unwrap(),
    );
    // The service has watched the whole hour before (during which the key was idle), and
    // the test's clock stands still inside one minute.
    app.clock.advance(Duration::hours(1));
    let minute = app.clock_now();
    for _ in 0..99 {
        assert_eq!(app.validate(key).await.status(), StatusCode::OK);
    }
    app.flush_usage().await;
    assert_eq!(listed(&app, &customer, "").await, vec![], "99 is below 100");
    // Denied verifications count too.
    assert_eq!(
        app.validate_scope(key, "songdb:read").await.status(),
        StatusCode::FORBIDDEN
    );
    app.flush_usage().await;

    let spikes = alerts(&app, &customer, "?kind=usage_spike").await;
    let data = spikes["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{spikes}");
    assert_eq!(data[0]["keyId"], id);
    assert_eq!(
        data[0]["detail"],
        format!(
            "The key had 100 verifications in the minute from {:02}:{:02} UTC; the hour \
             before averaged 0.0 a minute.",
            minute.hour(),
            minute.minute()
        )
    );
    let at: String = data[0]["at"].as_str().unwrap().to_owned();
    assert!(
        at.starts_with(&format!(
            "{}T{:02}:{:02}:00",
            minute.date(),
            minute.hour(),
            minute.minute()
        )),
        "dated at the start of the minute: {at}"
    );
    // More in the same hour: still one.
    for _ in 0..200 {
        assert_eq!(app.validate(key).await.status(), StatusCode::OK);
    }
    app.flush_usage().await;
    assert_eq!(listed(&app, &customer, "").await.len(), 1);
}

/// Verifies `key` as a request forwarded for `client` by the trusted proxy (the test
/// client's own address).
async fn validate_from(app: &TestApp, key: &str, client: &str) {
    let response = app
        .client
        .get(app.url("/v1/validate"))
        .header("X-API-Key", key)
        .header("X-Forwarded-For", client)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "from {client}");
}

async fn a_key_used_from_a_new_address_is_alerted_once_it_is_a_day_old(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |settings| {
        "127.0.0.1, ::1".clone_into(&mut settings.server.trusted_proxies);
    })
    .await
    else {
        return;
    };
    let customer = Customer::new();
    let created = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let (id, key) = (
        created["id"].as_str().unwrap(),
        created["key"].as_str().unwrap(),
    );
    // A key's first day: its integration is being set up, two addresses raise nothing.
    validate_from(&app, key, "192.0.2.1").await;
    app.flush_usage().await;
    validate_from(&app, key, "192.0.2.2").await;
    app.flush_usage().await;
    assert_eq!(
        listed(&app, &customer, "").await,
        vec![],
        "a key younger than a day"
    );

    // Two days on: known addresses raise nothing, a new one does.
    app.clock.advance(Duration::days(2));
    validate_from(&app, key, "192.0.2.1").await;
    validate_from(&app, key, "192.0.2.2").await;
    app.flush_usage().await;
    assert_eq!(listed(&app, &customer, "").await, vec![], "known addresses");
    validate_from(&app, key, "198.51.100.9").await;
    app.flush_usage().await;
    // An hour later, two addresses of one IPv6 /64 are one new address.
    app.clock.advance(Duration::hours(1));
    validate_from(&app, key, "2001:db8:1:2::5").await;
    validate_from(&app, key, "2001:db8:1:2:aaaa::6").await;
    app.flush_usage().await;
    // And a known one again, later still.
    app.clock.advance(Duration::hours(1));
    validate_from(&app, key, "198.51.100.9").await;
    app.flush_usage().await;

    let new_ip = listed(&app, &customer, "?kind=new_client_ip").await;
    let text = |detail: &str| (id.to_owned(), "new_client_ip".to_owned(), detail.to_owned());
    assert_eq!(
        new_ip,
        vec![
            text(
                "The key was used from 2001:db8:1:2::/64, an address it was not used from \
                 before (it was used from 3 other addresses)."
            ),
            text(
                "The key was used from 198.51.100.9, an address it was not used from before \
                 (it was used from 2 other addresses)."
            ),
        ]
    );
    assert_eq!(listed(&app, &Customer::new(), "").await, vec![]);
}
