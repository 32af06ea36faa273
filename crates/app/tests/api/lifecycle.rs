//! A key's life as integrations see it through `/v1/validate`: revoked, deleted, expired
//! and rotated-out keys fail at once; a grace period keeps the old secret working until
//! it ends; usage shows up as `lastUsedAt` after a flush. Time moves by the test clock.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;
use time::format_description::well_known::Rfc3339;

use keyward_domain::{CustomerId, KeyId};

use crate::support::{Backend, Customer, on_every_backend, problem, spawn_app};

on_every_backend!(
    revoked_key_fails_validation_immediately,
    revoked_key_cannot_be_reactivated,
    deleted_key_fails_validation_immediately,
    deactivated_key_fails_and_reactivated_key_works_again,
    expired_key_fails_validation,
    rotated_out_key_fails_at_once_without_a_grace_period,
    rotated_out_key_works_until_its_grace_period_ends,
    revoking_during_a_grace_period_stops_both_secrets,
    last_used_at_appears_after_use_once_usage_is_flushed,
    graceful_stop_writes_buffered_usage,
);

fn secret(key: &Value) -> &str {
    key["key"].as_str().unwrap()
}

fn id(key: &Value) -> &str {
    key["id"].as_str().unwrap()
}

async fn revoked_key_fails_validation_immediately(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let key = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    assert_eq!(app.validate(secret(&key)).await.status(), StatusCode::OK);

    app.post(
        &format!("/v1/customer/api-keys/{}/revoke", id(&key)),
        &customer,
    )
    .send()
    .await
    .unwrap();

    assert_eq!(
        app.validate(secret(&key)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn revoked_key_cannot_be_reactivated(backend: Backend) {
    // Arrange
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let key = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let revoked = app
        .post(
            &format!("/v1/customer/api-keys/{}/revoke", id(&key)),
            &customer,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);

    // Act
    let reactivation = app
        .patch(&format!("/v1/customer/api-keys/{}", id(&key)), &customer)
        .json(&json!({"active": true}))
        .send()
        .await
        .unwrap();

    // Assert
    let body = problem(reactivation, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(body["detail"], "a revoked API key cannot be reactivated");
    assert_eq!(
        app.validate(secret(&key)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let stored: Value = app
        .get(&format!("/v1/customer/api-keys/{}", id(&key)), &customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["active"], false);
}

async fn deleted_key_fails_validation_immediately(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let key = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;

    app.delete(&format!("/v1/customer/api-keys/{}", id(&key)), &customer)
        .send()
        .await
        .unwrap();

    assert_eq!(
        app.validate(secret(&key)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn deactivated_key_fails_and_reactivated_key_works_again(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let key = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let path = format!("/v1/customer/api-keys/{}", id(&key));

    app.patch(&path, &customer)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    let while_inactive = app.validate(secret(&key)).await.status();
    app.patch(&path, &customer)
        .json(&json!({"active": true}))
        .send()
        .await
        .unwrap();
    let after_reactivation = app.validate(secret(&key)).await.status();

    assert_eq!(while_inactive, StatusCode::UNAUTHORIZED);
    assert_eq!(after_reactivation, StatusCode::OK);
}

async fn expired_key_fails_validation(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let expires = (app.clock_now() + Duration::hours(1))
        .format(&Rfc3339)
        .unwrap();
    let key = app
        .create_key(
            &customer,
            json!({"name": "short-lived", "scopes": ["venues:read"], "expiresAt": expires}),
        )
        .await;

    app.clock.advance(Duration::hours(1) - Duration::seconds(1));
    let just_before = app.validate(secret(&key)).await.status();
    app.clock.advance(Duration::seconds(1));
    let at_expiry = app.validate(secret(&key)).await.status();

    assert_eq!(just_before, StatusCode::OK);
    assert_eq!(at_expiry, StatusCode::UNAUTHORIZED);
}

async fn rotated_out_key_fails_at_once_without_a_grace_period(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let old = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;

    let new = app.rotated(&customer, id(&old), None).await;

    assert_eq!(
        app.validate(secret(&old)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.validate(secret(&new)).await.status(), StatusCode::OK);
}

async fn rotated_out_key_works_until_its_grace_period_ends(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let old = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;

    let new = app
        .rotated(
            &customer,
            id(&old),
            Some(json!({"gracePeriodSeconds": 600})),
        )
        .await;

    assert_eq!(app.validate(secret(&old)).await.status(), StatusCode::OK);
    app.clock.advance(Duration::seconds(599));
    assert_eq!(app.validate(secret(&old)).await.status(), StatusCode::OK);
    app.clock.advance(Duration::seconds(1));
    assert_eq!(
        app.validate(secret(&old)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.validate(secret(&new)).await.status(), StatusCode::OK);
}

async fn revoking_during_a_grace_period_stops_both_secrets(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let old = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let new = app
        .rotated(
            &customer,
            id(&old),
            Some(json!({"gracePeriodSeconds": 3600})),
        )
        .await;

    app.post(
        &format!("/v1/customer/api-keys/{}/revoke", id(&old)),
        &customer,
    )
    .send()
    .await
    .unwrap();

    assert_eq!(
        app.validate(secret(&old)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.validate(secret(&new)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn last_used_at_appears_after_use_once_usage_is_flushed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let key = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let path = format!("/v1/customer/api-keys/{}", id(&key));
    app.clock.advance(Duration::minutes(5));
    let used_at = app.clock_now();

    app.validate(secret(&key)).await;
    let before_flush: Value = app
        .get(&path, &customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    app.flush_usage().await;
    let after_flush: Value = app
        .get(&path, &customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(before_flush["lastUsedAt"], Value::Null);
    assert_eq!(after_flush["lastUsedAt"], used_at.format(&Rfc3339).unwrap());
}

async fn graceful_stop_writes_buffered_usage(backend: Backend) {
    let Some(mut app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let key = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    app.clock.advance(Duration::minutes(1));
    let used_at = app.clock_now();
    app.validate(secret(&key)).await;
    let keys = app.keys.clone();
    let key_id = KeyId::from_uuid(id(&key).parse().unwrap());

    app.stop().await;

    let stored = keys
        .get(CustomerId::from_uuid(customer.id), key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.last_used_at(), Some(used_at));
}
