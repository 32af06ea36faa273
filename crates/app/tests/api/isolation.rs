//! Tenant isolation: another customer's key is invisible — 404 on every endpoint, absent
//! from listings — and stays untouched.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, Customer, on_every_backend, problem, spawn_app};

on_every_backend!(
    another_customer_gets_404_on_every_endpoint_for_a_foreign_key,
    listing_never_shows_another_customers_keys,
);

async fn another_customer_gets_404_on_every_endpoint_for_a_foreign_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let owner = Customer::new();
    let intruder = Customer::new();
    let key = app.create_key_with_scopes(&owner, &["venues:read"]).await;
    let id = key["id"].as_str().unwrap();
    let path = format!("/v1/customer/api-keys/{id}");

    let attempts = [
        app.get(&path, &intruder),
        app.patch(&path, &intruder)
            .json(&json!({"name": "taken over"})),
        app.post(&format!("{path}/revoke"), &intruder),
        app.post(&format!("{path}/rotate"), &intruder),
        app.delete(&path, &intruder),
    ];

    for attempt in attempts {
        let response = attempt.send().await.unwrap();
        problem(response, StatusCode::NOT_FOUND, "resource_not_found").await;
    }
    let untouched: Value = app
        .get(&path, &owner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(untouched["name"], key["name"]);
    assert_eq!(untouched["active"], true);
    assert_eq!(
        app.validate(key["key"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );
}

async fn listing_never_shows_another_customers_keys(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let a = Customer::new();
    let b = Customer::new();
    let a_key = app.create_key_with_scopes(&a, &["venues:read"]).await;
    app.create_key_with_scopes(&b, &["venues:read"]).await;
    app.create_key_with_scopes(&b, &["venues:read"]).await;

    let listing: Value = app
        .get("/v1/customer/api-keys", &a)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(listing["pagination"]["total"], 1);
    assert_eq!(listing["data"].as_array().unwrap().len(), 1);
    assert_eq!(listing["data"][0]["id"], a_key["id"]);
}
