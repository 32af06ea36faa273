//! Key usage (SPEC §12): every verification of a known key counted per key and UTC day
//! as verified or denied, buffered and flushed, and read back through
//! `GET /v1/customer/api-keys/{id}/usage` and `GET /v1/customer/usage`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

use keyward_http::auth::ActiveContext;

use crate::openkj_client::OpenKj;
use crate::support::{
    Backend, Customer, TestApp, claims_for, on_every_backend, problem, sign, spawn_app,
    spawn_app_with,
};

on_every_backend!(
    each_outcome_of_a_known_key_is_counted_and_unknown_keys_are_not,
    every_day_of_the_range_is_listed_and_only_its_days_count,
    the_customer_summary_sums_each_used_key_busiest_first,
    bad_ranges_and_ids_are_400_naming_the_parameter,
    another_customers_key_is_404_and_its_usage_invisible,
    usage_needs_api_keys_read,
    counts_buffered_at_shutdown_are_written,
    counts_past_the_retention_are_deleted,
    a_deleted_keys_usage_goes_with_it,
    openkj_commands_are_counted_with_their_scope_check,
);

const DAY: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

fn day(at: OffsetDateTime) -> String {
    at.date().format(DAY).unwrap()
}

fn date(text: &str) -> Date {
    Date::parse(text, DAY).unwrap()
}

async fn key_usage(app: &TestApp, customer: &Customer, id: &str, query: &str) -> Value {
    let response = app
        .get(
            &format!("/v1/customer/api-keys/{id}/usage{query}"),
            customer,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn customer_usage(app: &TestApp, customer: &Customer, query: &str) -> Value {
    let response = app
        .get(&format!("/v1/customer/usage{query}"), customer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn integration_get(app: &TestApp, key: &str, path: &str) -> StatusCode {
    app.client
        .get(app.url(path))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap()
        .status()
}

/// The day entry for `date` in a key usage answer.
fn on<'a>(usage: &'a Value, date: &str) -> &'a Value {
    usage["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["date"] == date)
        .unwrap_or_else(|| panic!("{date} is not listed in {usage}"))
}

async fn each_outcome_of_a_known_key_is_counted_and_unknown_keys_are_not(backend: Backend) {
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

    // Verified: two validations, one with a scope the key has, one integration route.
    assert_eq!(app.validate(key).await.status(), StatusCode::OK);
    assert_eq!(
        app.validate_scope(key, "venues:read").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        integration_get(&app, key, "/v1/venues").await,
        StatusCode::OK
    );
    // Denied: a scope the key lacks, on /v1/validate and on an integration route.
    assert_eq!(
        app.validate_scope(key, "songdb:read").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        integration_get(&app, key, "/v1/songdb?q=x").await,
        StatusCode::FORBIDDEN
    );
    // Verified: an unknown scope is the caller's mistake (400) with a good key, counted
    // as a verified use of the key.
    assert_eq!(
        app.validate_scope(key, "nope").await.status(),
        StatusCode::BAD_REQUEST
    );
    // Not this key's: unknown and malformed keys.
    let mut unknown = key.to_owned();
    unknown.replace_range(
        key.len() - 4..,
        if key.ends_with("AAAA") {
            "BBBB"
        } else {
            "AAAA"
        },
    );
    assert_eq!(
        app.validate(&unknown).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.validate("kw_live_short").await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Denied: the key presented after it was revoked.
    let revoked = app
        .post(&format!("/v1/customer/api-keys/{id}/revoke"), &customer)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(app.validate(key).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        integration_get(&app, key, "/v1/venues").await,
        StatusCode::UNAUTHORIZED
    );

    // Nothing is visible before the buffer is written.
    let before = key_usage(&app, &customer, id, "").await;
    assert_eq!(before["total"], json!({"verified": 0, "denied": 0}));
    app.flush_usage().await;
    let usage = key_usage(&app, &customer, id, "").await;

    let today = day(app.clock_now());
    assert_eq!(usage["keyId"], id);
    assert_eq!(usage["to"], today);
    assert_eq!(usage["total"], json!({"verified": 4, "denied": 4}));
    assert_eq!(
        on(&usage, &today),
        &json!({"date": today, "verified": 4, "denied": 4})
    );
}

async fn every_day_of_the_range_is_listed_and_only_its_days_count(backend: Backend) {
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
    let first = app.clock_now();
    assert_eq!(app.validate(key).await.status(), StatusCode::OK);
    app.clock.advance(Duration::days(2));
    for _ in 0..3 {
        assert_eq!(app.validate(key).await.status(), StatusCode::OK);
    }
    assert_eq!(
        app.validate_scope(key, "songdb:read").await.status(),
        StatusCode::FORBIDDEN
    );
    app.flush_usage().await;
    let (d0, d1, d2) = (
        day(first),
        day(first + Duration::days(1)),
        day(first + Duration::days(2)),
    );

    let default = key_usage(&app, &customer, id, "").await;
    let three = key_usage(&app, &customer, id, &format!("?from={d0}&to={d2}")).await;
    let last_only = key_usage(&app, &customer, id, &format!("?from={d2}&to={d2}")).await;
    let before = key_usage(&app, &customer, id, &format!("?to={d1}")).await;

    // Default: the 30 days ending today, in order, zeros included.
    let days = default["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!(default["from"], day(first + Duration::days(2 - 29)));
    assert_eq!(default["to"], d2);
    assert!(days.windows(2).all(
        |pair| date(pair[0]["date"].as_str().unwrap()).next_day().unwrap()
            == date(pair[1]["date"].as_str().unwrap())
    ));
    assert_eq!(default["total"], json!({"verified": 4, "denied": 1}));
    assert_eq!(
        three["days"],
        json!([
            {"date": d0, "verified": 1, "denied": 0},
            {"date": d1, "verified": 0, "denied": 0},
            {"date": d2, "verified": 3, "denied": 1},
        ])
    );
    assert_eq!(three["from"], d0);
    assert_eq!(last_only["total"], json!({"verified": 3, "denied": 1}));
    assert_eq!(before["to"], d1);
    assert_eq!(before["total"], json!({"verified": 1, "denied": 0}));
}

async fn the_customer_summary_sums_each_used_key_busiest_first(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let quiet = app
        .create_key(
            &customer,
            json!({"name": "Quiet tablet", "scopes": ["venues:read"]}),
        )
        .await;
    let busy = app
        .create_key(
            &customer,
            json!({"name": "Busy kiosk", "scopes": ["venues:read"]}),
        )
        .await;
    let unused = app
        .create_key(
            &customer,
            json!({"name": "Unused", "scopes": ["venues:read"]}),
        )
        .await;
    let stranger = app
        .create_key_with_scopes(&Customer::new(), &["venues:read"])
        .await;
    for _ in 0..3 {
        assert_eq!(
            app.validate(busy["key"].as_str().unwrap()).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        app.validate_scope(busy["key"].as_str().unwrap(), "songdb:read")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.validate(quiet["key"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.validate(stranger["key"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
    app.flush_usage().await;

    let summary = customer_usage(&app, &customer, "").await;

    assert_eq!(summary["to"], day(app.clock_now()));
    assert_eq!(summary["total"], json!({"verified": 4, "denied": 1}));
    assert_eq!(
        summary["keys"],
        json!([
            {"keyId": busy["id"], "name": "Busy kiosk", "verified": 3, "denied": 1},
            {"keyId": quiet["id"], "name": "Quiet tablet", "verified": 1, "denied": 0},
        ])
    );
    assert!(!summary.to_string().contains(unused["id"].as_str().unwrap()));
}

async fn bad_ranges_and_ids_are_400_naming_the_parameter(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let id = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases = [
        (
            "?from=2026-02-30",
            "from: must be a calendar day written YYYY-MM-DD",
        ),
        (
            "?to=2026-1-01",
            "to: must be a calendar day written YYYY-MM-DD",
        ),
        (
            "?from=yesterday",
            "from: must be a calendar day written YYYY-MM-DD",
        ),
        (
            "?from=2026-01-01T00:00:00Z",
            "from: must be a calendar day written YYYY-MM-DD",
        ),
        (
            "?from=2026-03-02&to=2026-03-01",
            "from: must not be after to (2026-03-02 > 2026-03-01)",
        ),
        (
            "?from=2025-01-01&to=2026-01-02",
            "to: the range covers 367 days; at most 366",
        ),
    ];
    let today = date(&day(app.clock_now()));
    let from_alone = format!(
        "?from={}",
        (today - Duration::days(400)).format(DAY).unwrap()
    );
    for path in [
        format!("/v1/customer/api-keys/{id}/usage"),
        "/v1/customer/usage".to_owned(),
    ] {
        for (query, detail) in cases {
            let response = app
                .get(&format!("{path}{query}"), &customer)
                .send()
                .await
                .unwrap();
            let body = problem(response, StatusCode::BAD_REQUEST, "validation_error").await;
            assert_eq!(body["detail"], detail, "{path}{query}");
        }
        let response = app
            .get(&format!("{path}{from_alone}"), &customer)
            .send()
            .await
            .unwrap();
        let body = problem(response, StatusCode::BAD_REQUEST, "validation_error").await;
        assert_eq!(
            body["detail"], "from: the range covers 401 days; at most 366",
            "{path}"
        );
        // A default start never falls before year 0: every day keeps four digits.
        let early = app
            .get(&format!("{path}?to=0000-01-05"), &customer)
            .send()
            .await
            .unwrap();
        assert_eq!(early.status(), StatusCode::OK);
        let early: Value = early.json().await.unwrap();
        assert_eq!(early["from"], "0000-01-01", "{path}");
        let widest = app
            .get(&format!("{path}?from=2024-01-01&to=2024-12-31"), &customer)
            .send()
            .await
            .unwrap();
        assert_eq!(widest.status(), StatusCode::OK, "366 days are allowed");
    }
    let not_uuid = app
        .get("/v1/customer/api-keys/12/usage", &customer)
        .send()
        .await
        .unwrap();
    let body = problem(not_uuid, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(
        body["detail"].as_str().unwrap().starts_with("id:"),
        "{body}"
    );
}

async fn another_customers_key_is_404_and_its_usage_invisible(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let owner = Customer::new();
    let other = Customer::new();
    let key = app.create_key_with_scopes(&owner, &["venues:read"]).await;
    assert_eq!(
        app.validate(key["key"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );
    app.flush_usage().await;

    let foreign = app
        .get(
            &format!(
                "/v1/customer/api-keys/{}/usage",
                key["id"].as_str().unwrap()
            ),
            &other,
        )
        .send()
        .await
        .unwrap();
    let missing = app
        .get(
            &format!("/v1/customer/api-keys/{}/usage", uuid::Uuid::new_v4()),
            &owner,
        )
        .send()
        .await
        .unwrap();
    let summary = customer_usage(&app, &other, "").await;

    problem(foreign, StatusCode::NOT_FOUND, "resource_not_found").await;
    problem(missing, StatusCode::NOT_FOUND, "resource_not_found").await;
    assert_eq!(summary["keys"], json!([]));
    assert_eq!(summary["total"], json!({"verified": 0, "denied": 0}));
}

async fn usage_needs_api_keys_read(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let owner = Customer::new();
    let id = app.create_key_with_scopes(&owner, &["venues:read"]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The key's owner, without api_keys:read.
    let writer = Customer {
        id: owner.id,
        token: sign(&claims_for(
            ActiveContext::customer(owner.id),
            &["api_keys:write", "api_keys:revoke", "audit:read"],
        )),
    };

    for path in [
        format!("/v1/customer/api-keys/{id}/usage"),
        "/v1/customer/usage".to_owned(),
    ] {
        let denied = app.get(&path, &writer).send().await.unwrap();
        let anonymous = app.client.get(app.url(&path)).send().await.unwrap();
        problem(denied, StatusCode::FORBIDDEN, "authorization_denied").await;
        problem(anonymous, StatusCode::UNAUTHORIZED, "authentication_failed").await;
    }
}

async fn counts_buffered_at_shutdown_are_written(backend: Backend) {
    let Some(mut app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let created = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let key = created["key"].as_str().unwrap();
    for _ in 0..2 {
        assert_eq!(app.validate(key).await.status(), StatusCode::OK);
    }
    assert_eq!(
        app.validate_scope(key, "songdb:read").await.status(),
        StatusCode::FORBIDDEN
    );
    let today = app.clock_now().date();

    app.stop().await;

    let customer_id = keyward_domain::CustomerId::from_uuid(customer.id);
    let key_id = keyward_domain::KeyId::from_uuid(created["id"].as_str().unwrap().parse().unwrap());
    let range = keyward_domain::usage::DayRange::new(Some(today), Some(today), today).unwrap();
    let stored = app
        .usage
        .key_usage(customer_id, key_id, range)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].date, today);
    assert_eq!(
        stored[0].counts,
        keyward_domain::usage::UsageCounts {
            verified: 2,
            denied: 1
        }
    );
}

async fn counts_past_the_retention_are_deleted(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |settings| settings.usage.retention_days = 2).await
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
    let first = app.clock_now();
    for _ in 0..4 {
        assert_eq!(app.validate(key).await.status(), StatusCode::OK);
        app.flush_usage().await;
        app.clock.advance(Duration::days(1));
    }
    // Uses on days 0 to 3; today is day 4. Kept: days 2 and 3 (two days before today
    // and later).
    assert_eq!(app.delete_expired_usage().await, 2);
    let range = format!("?from={}&to={}", day(first), day(first + Duration::days(4)));
    let usage = key_usage(&app, &customer, id, &range).await;
    let counted: Vec<u64> = usage["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["verified"].as_u64().unwrap())
        .collect();
    assert_eq!(counted, vec![0, 0, 1, 1, 0]);
    assert_eq!(app.delete_expired_usage().await, 0);
}

async fn a_deleted_keys_usage_goes_with_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let kept = app
        .create_key(
            &customer,
            json!({"name": "kept", "scopes": ["venues:read"]}),
        )
        .await;
    let gone = app
        .create_key(
            &customer,
            json!({"name": "gone", "scopes": ["venues:read"]}),
        )
        .await;
    for key in [&kept, &gone] {
        assert_eq!(
            app.validate(key["key"].as_str().unwrap()).await.status(),
            StatusCode::OK
        );
    }
    app.flush_usage().await;
    // A use buffered while the key is deleted is dropped by the flush, not an error.
    assert_eq!(
        app.validate(gone["key"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );
    let deleted = app
        .delete(
            &format!("/v1/customer/api-keys/{}", gone["id"].as_str().unwrap()),
            &customer,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    app.flush_usage().await;

    let summary = customer_usage(&app, &customer, "").await;

    assert_eq!(
        summary["keys"],
        json!([{"keyId": kept["id"], "name": "kept", "verified": 1, "denied": 0}])
    );
    assert_eq!(summary["total"], json!({"verified": 1, "denied": 0}));
}

async fn openkj_commands_are_counted_with_their_scope_check(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let created = app
        .create_key_with_scopes(&customer, &["requests:write", "songdb:read"])
        .await;
    let (id, key) = (
        created["id"].as_str().unwrap(),
        created["key"].as_str().unwrap(),
    );
    let openkj = OpenKj::new(&app, key);

    assert_ne!(openkj.serial().await, 0);
    let refused = openkj.refused("getVenues", json!({})).await;
    assert!(refused.contains("venues:read"), "{refused}");
    let revoked = app
        .post(&format!("/v1/customer/api-keys/{id}/revoke"), &customer)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    openkj.refused("getSerial", json!({})).await;
    app.flush_usage().await;

    let usage = key_usage(&app, &customer, id, "").await;
    assert_eq!(usage["total"], json!({"verified": 1, "denied": 2}));
}
