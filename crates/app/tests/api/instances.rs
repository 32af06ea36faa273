//! Two instances of keyward on one database (SPEC §7): whatever one changes, the other
//! answers from memory no longer than 1 s later — revocation, rotation without grace,
//! deletion, deactivation, and the OpenKJ serial. On PostgreSQL through LISTEN/NOTIFY, on
//! SQLite through the `data_version` poll of a second pool on the same file.
//!
//! Each test polls the other instance until it answers the new way and fails if that takes
//! longer than the bound; it never sleeps for a fixed time.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::openkj_client::Host;
use crate::support::{Backend, Customer, TestApp, on_every_backend, spawn_pair};

on_every_backend!(
    revocation_on_one_instance_fails_verification_on_the_other_within_a_second,
    rotation_without_grace_on_one_instance_retires_the_old_secret_on_the_other,
    deletion_on_one_instance_fails_verification_on_the_other_within_a_second,
    deactivation_on_one_instance_fails_verification_on_the_other_within_a_second,
    serial_moved_on_one_instance_is_polled_from_the_other_within_a_second,
);

/// SPEC §7: a change is visible on every instance within 1 s.
const BOUND: Duration = Duration::from_secs(1);

/// Polls `key` on `app` until it answers `expected`; fails past [`BOUND`].
pub(crate) async fn until_validate_answers(app: &TestApp, key: &str, expected: StatusCode) {
    let start = Instant::now();
    loop {
        let status = app.validate(key).await.status();
        if status == expected {
            return;
        }
        assert!(
            start.elapsed() < BOUND,
            "still {status} after {:?}, expected {expected}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A key created on `one` and verified (so cached) on `other`.
async fn key_cached_on_other(one: &TestApp, other: &TestApp, customer: &Customer) -> Value {
    let key = one.create_key_with_scopes(customer, &["songdb:read"]).await;
    let secret = key["key"].as_str().unwrap();
    for _ in 0..2 {
        assert_eq!(other.validate(secret).await.status(), StatusCode::OK);
    }
    key
}

async fn revocation_on_one_instance_fails_verification_on_the_other_within_a_second(
    backend: Backend,
) {
    let Some((one, other)) = spawn_pair(backend).await else {
        return;
    };
    let customer = Customer::new();
    let key = key_cached_on_other(&one, &other, &customer).await;

    let revoked = one
        .post(
            &format!(
                "/v1/customer/api-keys/{}/revoke",
                key["id"].as_str().unwrap()
            ),
            &customer,
        )
        .send()
        .await
        .unwrap();

    assert_eq!(revoked.status(), StatusCode::OK);
    until_validate_answers(
        &other,
        key["key"].as_str().unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

async fn rotation_without_grace_on_one_instance_retires_the_old_secret_on_the_other(
    backend: Backend,
) {
    let Some((one, other)) = spawn_pair(backend).await else {
        return;
    };
    let customer = Customer::new();
    let key = key_cached_on_other(&one, &other, &customer).await;

    let rotated = one
        .rotated(&customer, key["id"].as_str().unwrap(), None)
        .await;

    until_validate_answers(
        &other,
        key["key"].as_str().unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(
        other
            .validate(rotated["key"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
}

async fn deletion_on_one_instance_fails_verification_on_the_other_within_a_second(
    backend: Backend,
) {
    let Some((one, other)) = spawn_pair(backend).await else {
        return;
    };
    let customer = Customer::new();
    let key = key_cached_on_other(&one, &other, &customer).await;

    let deleted = one
        .delete(
            &format!("/v1/customer/api-keys/{}", key["id"].as_str().unwrap()),
            &customer,
        )
        .send()
        .await
        .unwrap();

    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    until_validate_answers(
        &other,
        key["key"].as_str().unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

async fn deactivation_on_one_instance_fails_verification_on_the_other_within_a_second(
    backend: Backend,
) {
    let Some((one, other)) = spawn_pair(backend).await else {
        return;
    };
    let customer = Customer::new();
    let key = key_cached_on_other(&one, &other, &customer).await;

    let patched = one
        .patch(
            &format!("/v1/customer/api-keys/{}", key["id"].as_str().unwrap()),
            &customer,
        )
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();

    assert_eq!(patched.status(), StatusCode::OK);
    until_validate_answers(
        &other,
        key["key"].as_str().unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

async fn serial_moved_on_one_instance_is_polled_from_the_other_within_a_second(backend: Backend) {
    // Arrange: the other instance has answered getSerial (so remembers it).
    let Some((one, other)) = spawn_pair(backend).await else {
        return;
    };
    let host = Host::new(&one).await;
    let before = host.openkj(&other).serial().await;
    assert_eq!(host.openkj(&other).serial().await, before);

    // Act: the host opens the venue for requests through the first instance.
    host.openkj(&one)
        .ok(
            "setAccepting",
            json!({"venue_id": host.venue, "accepting": true}),
        )
        .await;
    let after = host.openkj(&one).serial().await;

    // Assert
    let start = Instant::now();
    loop {
        let polled = host.openkj(&other).serial().await;
        if polled == after {
            break;
        }
        assert!(
            start.elapsed() < BOUND,
            "the other instance still answers serial {polled} (was {before}, now {after})"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_ne!(after, before);
}
