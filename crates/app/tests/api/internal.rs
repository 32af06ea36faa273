//! The internal service API (SPEC §13): API keys and BYOK credentials of any customer,
//! for services holding `X-Service-Key`, with the customer API's rules.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::service_keys::{MASTER_KEY, SERVICE_KEY};
use crate::support::{Backend, Customer, TestApp, on_every_backend, problem, spawn_app_with};

on_every_backend!(
    a_key_created_internally_is_the_customers_and_verifies_until_deleted,
    key_rules_are_the_customer_apis,
    customer_ids_are_checked_and_named,
    credentials_round_trip_masked_and_plaintext_only_on_decrypt,
    the_service_key_is_required,
);

async fn spawn_internal_app(backend: Backend, max_per_customer: u32) -> Option<TestApp> {
    spawn_app_with(backend, |settings| {
        settings.vault.master_key = Some(MASTER_KEY.to_owned());
        settings.internal.service_key = Some(SERVICE_KEY.to_owned());
        settings.keys.max_per_customer = max_per_customer;
    })
    .await
}

impl TestApp {
    fn internal(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("X-Service-Key", SERVICE_KEY)
    }

    async fn internal_key(&self, customer: Uuid, name: &str) -> reqwest::Response {
        self.internal(Method::POST, "/internal/api-keys")
            .json(&json!({"customerId": customer, "name": name, "scopes": ["songdb:read"]}))
            .send()
            .await
            .unwrap()
    }
}

async fn a_key_created_internally_is_the_customers_and_verifies_until_deleted(backend: Backend) {
    let Some(app) = spawn_internal_app(backend, 10).await else {
        return;
    };
    let customer = Customer::new();

    let created = app.internal_key(customer.id, "From billing").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let secret = created["key"].as_str().unwrap();
    assert_eq!(app.validate(secret).await.status(), StatusCode::OK);
    // The customer sees it through its own API.
    let own = app
        .get(&format!("/v1/customer/api-keys/{id}"), &customer)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let listed: Value = app
        .internal(
            Method::GET,
            &format!("/internal/api-keys?customerId={}", customer.id),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let data = listed["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{listed}");
    assert_eq!(data[0]["id"], id);
    assert!(data[0].get("key").is_none());
    let others: Value = app
        .internal(
            Method::GET,
            &format!("/internal/api-keys?customerId={}", Uuid::new_v4()),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(others, json!({"data": []}));

    let for_another_customer = app
        .internal(
            Method::DELETE,
            &format!("/internal/api-keys/{id}?customerId={}", Uuid::new_v4()),
        )
        .send()
        .await
        .unwrap();
    problem(
        for_another_customer,
        StatusCode::NOT_FOUND,
        "resource_not_found",
    )
    .await;
    assert_eq!(app.validate(secret).await.status(), StatusCode::OK);
    let deleted = app
        .internal(
            Method::DELETE,
            &format!("/internal/api-keys/{id}?customerId={}", customer.id),
        )
        .send()
        .await
        .unwrap();
    let again = app
        .internal(Method::DELETE, &format!("/internal/api-keys/{id}"))
        .send()
        .await
        .unwrap();

    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.validate(secret).await.status(),
        StatusCode::UNAUTHORIZED
    );
    problem(again, StatusCode::NOT_FOUND, "resource_not_found").await;
}

async fn key_rules_are_the_customer_apis(backend: Backend) {
    let Some(app) = spawn_internal_app(backend, 1).await else {
        return;
    };
    let customer = Uuid::new_v4();
    let post = |body: Value| {
        app.internal(Method::POST, "/internal/api-keys")
            .json(&body)
            .send()
    };

    let unknown_scope = post(json!({"customerId": customer, "name": "A", "scopes": ["nope"]}))
        .await
        .unwrap();
    let in_the_past = post(json!({
        "customerId": customer, "name": "A", "scopes": ["venues:read"],
        "expiresAt": "2001-01-01T00:00:00Z"
    }))
    .await
    .unwrap();
    let extra_field = post(json!({
        "customerId": customer, "name": "A", "scopes": ["venues:read"], "owner": "me"
    }))
    .await
    .unwrap();
    let first = app.internal_key(customer, "First").await;
    let over_the_cap = app.internal_key(customer, "Second").await;

    let detail = |problem: Value| problem["detail"].as_str().unwrap().to_owned();
    assert_eq!(
        detail(problem(unknown_scope, StatusCode::BAD_REQUEST, "validation_error").await),
        "Invalid scopes: nope"
    );
    assert_eq!(
        detail(problem(in_the_past, StatusCode::BAD_REQUEST, "validation_error").await),
        "expiresAt: must be in the future"
    );
    assert!(
        detail(problem(extra_field, StatusCode::BAD_REQUEST, "validation_error").await)
            .contains("owner"),
    );
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(
        detail(problem(over_the_cap, StatusCode::CONFLICT, "conflict").await),
        "maximum of 1 active API key reached"
    );
}

async fn customer_ids_are_checked_and_named(backend: Backend) {
    let Some(app) = spawn_internal_app(backend, 10).await else {
        return;
    };
    let get = |path: &str| app.internal(Method::GET, path).send();

    let missing = get("/internal/api-keys").await.unwrap();
    let empty = get("/internal/api-keys?customerId=").await.unwrap();
    let not_uuid = get("/internal/keys?customerId=acme").await.unwrap();
    let decrypt = get("/internal/keys/openai/decrypt?customerId=1")
        .await
        .unwrap();
    let body = app
        .internal(Method::POST, "/internal/api-keys")
        .json(&json!({"customerId": "acme", "name": "A", "scopes": ["venues:read"]}))
        .send()
        .await
        .unwrap();
    let bad_id = app
        .internal(Method::DELETE, "/internal/api-keys/kw_123")
        .send()
        .await
        .unwrap();

    for (response, expected) in [
        (missing, "customerId: is required"),
        (empty, "customerId: is required"),
        (not_uuid, "customerId: must be a UUID"),
        (decrypt, "customerId: must be a UUID"),
    ] {
        let problem = problem(response, StatusCode::BAD_REQUEST, "validation_error").await;
        assert_eq!(problem["detail"], expected);
    }
    let problem_body = problem(body, StatusCode::BAD_REQUEST, "validation_error").await;
    assert_eq!(problem_body["detail"], "customerId: must be a UUID");
    problem(bad_id, StatusCode::BAD_REQUEST, "validation_error").await;
}

async fn credentials_round_trip_masked_and_plaintext_only_on_decrypt(backend: Backend) {
    const SECRET: &str = "sk-proj-internal-service-secret-wxyz";
    let Some(app) = spawn_internal_app(backend, 10).await else {
        return;
    };
    let customer = Uuid::new_v4();
    let put = |secret: &str| {
        app.internal(Method::POST, "/internal/keys")
            .json(&json!({"customerId": customer, "provider": "openai", "secret": secret}))
            .send()
    };

    let created = put("sk-proj-first-version-abcd").await.unwrap();
    let replaced = put(SECRET).await.unwrap();
    let listed = app
        .internal(
            Method::GET,
            &format!("/internal/keys?customerId={customer}"),
        )
        .send()
        .await
        .unwrap();
    let decrypted = app
        .internal(
            Method::GET,
            &format!("/internal/keys/openai/decrypt?customerId={customer}"),
        )
        .send()
        .await
        .unwrap();
    let elsewhere = app
        .internal(
            Method::GET,
            &format!(
                "/internal/keys/openai/decrypt?customerId={}",
                Uuid::new_v4()
            ),
        )
        .send()
        .await
        .unwrap();

    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(replaced.status(), StatusCode::OK);
    let listed = listed.text().await.unwrap();
    assert!(!listed.contains(SECRET), "{listed}");
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["maskedSecret"], "sk-…wxyz");
    assert_eq!(listed["data"][0]["name"], "openai");
    assert_eq!(decrypted.status(), StatusCode::OK);
    assert_eq!(decrypted.headers()["cache-control"], "no-store");
    assert_eq!(
        decrypted.json::<Value>().await.unwrap(),
        json!({"provider": "openai", "secret": SECRET})
    );
    problem(elsewhere, StatusCode::NOT_FOUND, "resource_not_found").await;

    let deleted = app
        .internal(
            Method::DELETE,
            &format!("/internal/keys/openai?customerId={customer}"),
        )
        .send()
        .await
        .unwrap();
    let gone = app
        .internal(
            Method::GET,
            &format!("/internal/keys/openai/decrypt?customerId={customer}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    problem(gone, StatusCode::NOT_FOUND, "resource_not_found").await;
}

async fn the_service_key_is_required(backend: Backend) {
    let Some(app) = spawn_internal_app(backend, 10).await else {
        return;
    };
    let path = format!("/internal/api-keys?customerId={}", Uuid::new_v4());

    let missing = app.client.get(app.url(&path)).send().await.unwrap();
    let wrong = app
        .client
        .get(app.url(&path))
        .header("X-Service-Key", "internal-service-key-for-tests-0123456780")
        .send()
        .await
        .unwrap();
    let create_without = app
        .client
        .post(app.url("/internal/api-keys"))
        .json(&json!({"customerId": Uuid::new_v4(), "name": "A", "scopes": ["venues:read"]}))
        .send()
        .await
        .unwrap();

    for response in [missing, wrong, create_without] {
        problem(response, StatusCode::UNAUTHORIZED, "authentication_failed").await;
    }

    let Some(unconfigured) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let refused = unconfigured
        .client
        .get(unconfigured.url(&path))
        .header("X-Service-Key", SERVICE_KEY)
        .send()
        .await
        .unwrap();
    problem(
        refused,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
}
