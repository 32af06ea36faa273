//! `GET /v1/validate` (SPEC §7): the answer for a good key, the scope check, and one
//! indistinguishable 401 for every kind of bad key.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;
use time::format_description::well_known::Rfc3339;

use crate::support::{Backend, Customer, on_every_backend, problem, spawn_app};

on_every_backend!(
    valid_key_is_described,
    scope_check_counts_write_as_read_and_refuses_the_rest,
    missing_header_is_401_api_key_required,
    unknown_malformed_revoked_and_expired_keys_get_the_same_401,
    valid_key_with_a_bad_query_is_a_400_every_time,
);

async fn valid_key_is_described(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let expires = (app.clock_now() + Duration::days(1))
        .format(&Rfc3339)
        .unwrap();
    let key = app
        .create_key(
            &customer,
            json!({"name": "n", "scopes": ["songdb:read", "requests:write"], "expiresAt": expires}),
        )
        .await;

    let response = app.validate(key["key"].as_str().unwrap()).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "valid": true,
            "keyId": key["id"],
            "customerId": customer.id.to_string(),
            "scopes": ["requests:write", "songdb:read"],
            "expiresAt": key["expiresAt"],
        })
    );
}

async fn scope_check_counts_write_as_read_and_refuses_the_rest(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = app
        .create_key_with_scopes(&Customer::new(), &["requests:write"])
        .await;
    let key = key["key"].as_str().unwrap();

    let write = app.validate_scope(key, "requests:write").await.status();
    let read = app.validate_scope(key, "requests:read").await.status();
    let other = app.validate_scope(key, "songdb:read").await;

    assert_eq!(write, StatusCode::OK);
    assert_eq!(read, StatusCode::OK);
    let body = problem(other, StatusCode::FORBIDDEN, "authorization_denied").await;
    assert_eq!(body["detail"], "Insufficient Scope");
}

async fn missing_header_is_401_api_key_required(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };

    let missing = app
        .client
        .get(app.url("/v1/validate"))
        .send()
        .await
        .unwrap();
    let empty = app.validate("").await;

    for response in [missing, empty] {
        let body = problem(response, StatusCode::UNAUTHORIZED, "authentication_failed").await;
        assert_eq!(body["detail"], "API Key Required");
    }
}

async fn unknown_malformed_revoked_and_expired_keys_get_the_same_401(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let revoked = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    app.post(
        &format!(
            "/v1/customer/api-keys/{}/revoke",
            revoked["id"].as_str().unwrap()
        ),
        &customer,
    )
    .send()
    .await
    .unwrap();
    let in_a_minute = (app.clock_now() + Duration::minutes(1))
        .format(&Rfc3339)
        .unwrap();
    let expired = app
        .create_key(
            &customer,
            json!({"name": "n", "scopes": ["venues:read"], "expiresAt": in_a_minute}),
        )
        .await;
    app.clock.advance(Duration::minutes(2));
    let deleted = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    app.delete(
        &format!("/v1/customer/api-keys/{}", deleted["id"].as_str().unwrap()),
        &customer,
    )
    .send()
    .await
    .unwrap();
    let good = revoked["key"].as_str().unwrap();
    let bad_checksum = format!(
        "{}{}",
        &good[..good.len() - 1],
        if good.ends_with('0') { '1' } else { '0' }
    );

    let mut bodies = Vec::new();
    for presented in [
        revoked["key"].as_str().unwrap(),
        expired["key"].as_str().unwrap(),
        deleted["key"].as_str().unwrap(),
        bad_checksum.as_str(),
        "kw_short",
        "not even close",
    ] {
        let response = app.validate(presented).await;
        bodies.push(problem(response, StatusCode::UNAUTHORIZED, "authentication_failed").await);
    }

    assert_eq!(bodies[0]["detail"], "Invalid API Key");
    assert!(bodies.iter().all(|body| *body == bodies[0]), "{bodies:?}");
}

/// A failing query extractor makes actix drop the key lookup that runs beside it; on
/// SQLite that once panicked the worker and the client got no response at all.
async fn valid_key_with_a_bad_query_is_a_400_every_time(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = app
        .create_key_with_scopes(&Customer::new(), &["requests:read"])
        .await;
    let key = key["key"].as_str().unwrap();

    for _ in 0..20 {
        let response = app
            .client
            .get(app.url("/v1/validate?scope=a&scope=b"))
            .header("X-API-Key", key)
            .send()
            .await
            .expect("the server answers instead of dropping the connection");

        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    assert_eq!(app.validate(key).await.status(), StatusCode::OK);
}
