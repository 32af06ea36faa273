//! Rotation budget (SPEC §6): at most five rotations per customer per hour.

use reqwest::StatusCode;

use crate::support::{Backend, Customer, on_every_backend, problem, rate_limited, spawn_app};

on_every_backend!(
    sixth_rotation_within_an_hour_is_429_with_retry_after,
    refused_rotations_do_not_spend_the_budget,
);

async fn refused_rotations_do_not_spend_the_budget(backend: Backend) {
    // Arrange
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let key = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let id = key["id"].as_str().unwrap();
    let inactive = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let inactive_id = inactive["id"].as_str().unwrap();
    app.post(
        &format!("/v1/customer/api-keys/{inactive_id}/revoke"),
        &customer,
    )
    .send()
    .await
    .unwrap();

    // Act + Assert: refused rotations answer 404/409 ...
    for _ in 0..6 {
        let unknown = app
            .rotate(&customer, &uuid::Uuid::new_v4().to_string(), None)
            .await;
        problem(unknown, StatusCode::NOT_FOUND, "resource_not_found").await;
        let not_rotatable = app.rotate(&customer, inactive_id, None).await;
        problem(not_rotatable, StatusCode::CONFLICT, "conflict").await;
    }

    // ... and the five real rotations of the hour are still there.
    for attempt in 1..=5 {
        let response = app.rotate(&customer, id, None).await;
        assert_eq!(response.status(), StatusCode::OK, "rotation {attempt}");
    }
}

async fn sixth_rotation_within_an_hour_is_429_with_retry_after(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let key = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let id = key["id"].as_str().unwrap();
    for attempt in 1..=5 {
        let response = app.rotate(&customer, id, None).await;
        assert_eq!(response.status(), StatusCode::OK, "rotation {attempt}");
    }

    let sixth = app.rotate(&customer, id, None).await;
    let other_customer = Customer::new();
    let other_key = app
        .create_key_with_scopes(&other_customer, &["venues:read"])
        .await;
    let unaffected = app
        .rotate(&other_customer, other_key["id"].as_str().unwrap(), None)
        .await;

    let (retry_after, _) = rate_limited(sixth).await;
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    assert_eq!(unaffected.status(), StatusCode::OK);
}
