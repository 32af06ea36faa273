//! The credentials vault over HTTP (SPEC §10): customer BYOK, plaintext retrieval with an
//! API key holding `secrets:read`, the admin API and the internal decrypt endpoint — and
//! that no listing, no other tenant and no wrong key ever gets at a secret.

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{
    Backend, Customer, TestApp, claims_for, on_every_backend, problem, sign, spawn_app,
    spawn_app_with,
};
use keyward_http::auth::ActiveContext;

/// The master key every vault test app runs with.
pub const MASTER_KEY: &str = "3f1c9a7e5b2d4f608e1a3c5b7d9f0e2a4c6b8d0f1e3a5c7b9d2f4e6a8c0b1d3f";
/// The internal service key every vault test app accepts.
pub const SERVICE_KEY: &str = "internal-service-key-for-tests-0123456789";
/// A BYOK secret; its masked form is `sk-…abcd`.
const CUSTOMER_SECRET: &str = "sk-proj-customer-owned-secret-abcd";
/// A platform secret; its masked form is `sk-…wxyz`.
const PLATFORM_SECRET: &str = "sk-ant-platform-owned-secret-wxyz";

on_every_backend!(
    customer_secret_round_trips_through_put_and_retrieval,
    second_put_replaces_the_credential_and_keeps_its_id,
    listings_never_contain_the_secret,
    customer_never_reaches_another_customers_credential,
    api_key_without_secrets_read_is_forbidden,
    customer_permissions_are_enforced,
    admin_manages_platform_credentials_and_internal_decrypt_follows,
    internal_decrypt_requires_the_right_service_key,
    contexts_cannot_cross_between_admin_and_customer_routes,
    malformed_provider_or_id_is_a_validation_error,
    vault_routes_answer_503_without_a_master_key,
);

async fn spawn_vault_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |settings| {
        settings.vault.master_key = Some(MASTER_KEY.to_owned());
        settings.internal.service_key = Some(SERVICE_KEY.to_owned());
    })
    .await
}

fn vault_customer() -> Customer {
    Customer::with_permissions(&[
        "api_keys:read",
        "api_keys:write",
        "service_keys:read",
        "service_keys:write",
    ])
}

fn admin() -> Customer {
    let id = Uuid::new_v4();
    Customer {
        id,
        token: sign(&claims_for(ActiveContext::admin(id), &[])),
    }
}

impl TestApp {
    async fn put_service_key(
        &self,
        customer: &Customer,
        provider: &str,
        body: Value,
    ) -> reqwest::Response {
        self.client
            .put(self.url(&format!("/v1/customer/service-keys/{provider}")))
            .bearer_auth(&customer.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn reveal_with_key(&self, api_key: &str, provider: &str) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/v1/validate/keys/{provider}")))
            .header("X-API-Key", api_key)
            .send()
            .await
            .unwrap()
    }

    async fn internal_decrypt(
        &self,
        service_key: Option<&str>,
        provider: &str,
    ) -> reqwest::Response {
        let request = self
            .client
            .get(self.url(&format!("/internal/service-keys/{provider}/decrypt")));
        let request = match service_key {
            Some(key) => request.header("X-Service-Key", key),
            None => request,
        };
        request.send().await.unwrap()
    }

    async fn secrets_key(&self, customer: &Customer) -> String {
        let created = self
            .create_key_with_scopes(customer, &["secrets:read"])
            .await;
        created["key"].as_str().unwrap().to_owned()
    }

    async fn create_platform_key(&self, admin: &Customer, provider: &str, secret: &str) -> Value {
        let response = self
            .post("/v1/admin/service-keys", admin)
            .json(&json!({"provider": provider, "name": "Production", "secret": secret}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }
}

async fn customer_secret_round_trips_through_put_and_retrieval(backend: Backend) {
    let Some(app) = spawn_vault_app(backend).await else {
        return;
    };
    let customer = vault_customer();
    let api_key = app.secrets_key(&customer).await;

    let put = app
        .put_service_key(
            &customer,
            "openai",
            json!({"name": "Our OpenAI", "secret": CUSTOMER_SECRET}),
        )
        .await;
    assert_eq!(put.status(), StatusCode::CREATED);
    let stored: Value = put.json().await.unwrap();
    let revealed = app.reveal_with_key(&api_key, "openai").await;

    assert_eq!(revealed.status(), StatusCode::OK);
    assert_eq!(revealed.headers()["cache-control"], "no-store");
    let body: Value = revealed.json().await.unwrap();
    assert_eq!(
        body,
        json!({"provider": "openai", "secret": CUSTOMER_SECRET})
    );
    assert_eq!(stored["maskedSecret"], "sk-…abcd");
    assert_eq!(stored["lastUsedAt"], Value::Null);
    let after: Value = app
        .get("/v1/customer/service-keys/openai", &customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(after["lastUsedAt"].is_string(), "{after}");
    for field in [
        "id",
        "provider",
        "name",
        "description",
        "maskedSecret",
        "active",
        "createdAt",
        "updatedAt",
    ] {
        assert!(after.get(field).is_some(), "missing {field} in {after}");
    }
}

async fn second_put_replaces_the_credential_and_keeps_its_id(backend: Backend) {
    let Some(app) = spawn_vault_app(backend).await else {
        return;
    };
    let customer = vault_customer();
    let api_key = app.secrets_key(&customer).await;
    let first: Value = app
        .put_service_key(
            &customer,
            "openai",
            json!({"secret": "first-secret-value-0000"}),
        )
        .await
        .json()
        .await
        .unwrap();

    let second = app
        .put_service_key(
            &customer,
            "openai",
            json!({"secret": "second-secret-value-1111"}),
        )
        .await;

    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["name"], "openai");
    let body: Value = app
        .reveal_with_key(&api_key, "openai")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["secret"], "second-secret-value-1111");
}

async fn listings_never_contain_the_secret(backend: Backend) {
    let Some(app) = spawn_vault_app(backend).await else {
        return;
    };
    let customer = vault_customer();
    let admin = admin();
    app.put_service_key(&customer, "openai", json!({"secret": CUSTOMER_SECRET}))
        .await;
    app.create_platform_key(&admin, "anthropic", PLATFORM_SECRET)
        .await;

    let customer_list = app
        .get("/v1/customer/service-keys", &customer)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let admin_list = app
        .get("/v1/admin/service-keys", &admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    for (listing, secret) in [
        (&customer_list, CUSTOMER_SECRET),
        (&admin_list, PLATFORM_SECRET),
    ] {
        assert!(!listing.contains(secret), "{listing}");
        assert!(!listing.contains("owned-secret"), "{listing}");
        assert!(!listing.contains(MASTER_KEY), "{listing}");
    }
    let customer_list: Value = serde_json::from_str(&customer_list).unwrap();
    assert_eq!(customer_list["data"][0]["maskedSecret"], "sk-…abcd");
    assert_eq!(customer_list["pagination"]["total"], 1);
    let admin_list: Value = serde_json::from_str(&admin_list).unwrap();
    assert_eq!(admin_list["data"][0]["maskedSecret"], "sk-…wxyz");
}

async fn customer_never_reaches_another_customers_credential(backend: Backend) {
    let Some(app) = spawn_vault_app(backend).await else {
        return;
    };
    let owner = vault_customer();
    let intruder = vault_customer();
    app.put_service_key(&owner, "openai", json!({"secret": CUSTOMER_SECRET}))
        .await;
    let intruder_key = app.secrets_key(&intruder).await;

    let reveal = app.reveal_with_key(&intruder_key, "openai").await;
    let get = app
        .get("/v1/customer/service-keys/openai", &intruder)
        .send()
        .await
        .unwrap();
    let delete = app
        .delete("/v1/customer/service-keys/openai", &intruder)
        .send()
        .await
        .unwrap();

    for response in [reveal, get, delete] {
        problem(response, StatusCode::NOT_FOUND, "resource_not_found").await;
    }
    let listed: Value = app
        .get("/v1/customer/service-keys", &intruder)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"], json!([]));
    let owner_key = app.secrets_key(&owner).await;
    let body: Value = app
        .reveal_with_key(&owner_key, "openai")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["secret"], CUSTOMER_SECRET);
}

async fn api_key_without_secrets_read_is_forbidden(backend: Backend) {
    let Some(app) = spawn_vault_app(backend).await else {
        return;
    };
    let customer = vault_customer();
    app.put_service_key(&customer, "openai", json!({"secret": CUSTOMER_SECRET}))
        .await;
    let key = app
        .create_key_with_scopes(&customer, &["requests:write", "venues:write"])
        .await;

    let response = app
        .reveal_with_key(key["key"].as_str().unwrap(), "openai")
        .await;
    let missing_key = app
        .client
        .get(app.url("/v1/validate/keys/openai"))
        .send()
        .await
        .unwrap();

    let body = problem(response, StatusCode::FORBIDDEN, "authorization_denied").await;
    assert_eq!(body["detail"], "Insufficient Scope");
    problem(
        missing_key,
        StatusCode::UNAUTHORIZED,
        "authentication_failed",
    )
    .await;
}

async fn customer_permissions_are_enforced(backend: Backend) {
    let Some(app) = spawn_vault_app(backend).await else {
        return;
    };
    let reader = Customer::with_permissions(&["service_keys:read"]);
    let nobody = Customer::with_permissions(&["api_keys:read"]);

    let put = app
        .put_service_key(&reader, "openai", json!({"secret": CUSTOMER_SECRET}))
        .await;
    let list = app
        .get("/v1/customer/service-keys", &nobody)
        .send()
        .await
        .unwrap();

    let body = problem(put, StatusCode::FORBIDDEN, "authorization_denied").await;
    assert_eq!(body["detail"], "Missing permission: service_keys:write");
    problem(list, StatusCode::FORBIDDEN, "authorization_denied").await;
}

async fn admin_manages_platform_credentials_and_internal_decrypt_follows(backend: Backend) {
    let Some(app) = spawn_vault_app(backend).await else {
        return;
    };
    let admin = admin();
    let created = app
        .create_platform_key(&admin, "anthropic", PLATFORM_SECRET)
        .await;
    let path = format!("/v1/admin/service-keys/{}", created["id"].as_str().unwrap());
    assert_eq!(created["maskedSecret"], "sk-…wxyz");

    let decrypted: Value = app
        .internal_decrypt(Some(SERVICE_KEY), "anthropic")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        decrypted,
        json!({"provider": "anthropic", "secret": PLATFORM_SECRET})
    );

    let patched: Value = app
        .patch(&path, &admin)
        .json(&json!({"secret": "sk-ant-replacement-secret-0000", "description": "rotated"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched["maskedSecret"], "sk-…0000");
    assert_eq!(patched["description"], "rotated");
    assert!(patched["lastUsedAt"].is_string(), "{patched}");
    let decrypted: Value = app
        .internal_decrypt(Some(SERVICE_KEY), "anthropic")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(decrypted["secret"], "sk-ant-replacement-secret-0000");

    let disabled = app
        .post(&format!("{path}/disable"), &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), StatusCode::OK);
    let while_disabled = app.internal_decrypt(Some(SERVICE_KEY), "anthropic").await;
    problem(while_disabled, StatusCode::NOT_FOUND, "resource_not_found").await;
    let enabled: Value = app
        .post(&format!("{path}/enable"), &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(enabled["active"], true);

    let deleted = app.delete(&path, &admin).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app.get(&path, &admin).send().await.unwrap();
    problem(gone, StatusCode::NOT_FOUND, "resource_not_found").await;
}

async fn internal_decrypt_requires_the_right_service_key(backend: Backend) {
    let Some(app) = spawn_vault_app(backend).await else {
        return;
    };
    app.create_platform_key(&admin(), "openai", PLATFORM_SECRET)
        .await;

    let wrong = app
        .internal_decrypt(Some("internal-service-key-for-tests-0123456780"), "openai")
        .await;
    let missing = app.internal_decrypt(None, "openai").await;
    let api_key_instead = app
        .client
        .get(app.url("/internal/service-keys/openai/decrypt"))
        .header("X-API-Key", SERVICE_KEY)
        .send()
        .await
        .unwrap();

    let body = problem(wrong, StatusCode::UNAUTHORIZED, "authentication_failed").await;
    assert!(!body.to_string().contains(PLATFORM_SECRET));
    problem(missing, StatusCode::UNAUTHORIZED, "authentication_failed").await;
    problem(
        api_key_instead,
        StatusCode::UNAUTHORIZED,
        "authentication_failed",
    )
    .await;
}

async fn contexts_cannot_cross_between_admin_and_customer_routes(backend: Backend) {
    let Some(app) = spawn_vault_app(backend).await else {
        return;
    };
    let customer = vault_customer();
    let admin = admin();

    let customer_on_admin = app
        .get("/v1/admin/service-keys", &customer)
        .send()
        .await
        .unwrap();
    let admin_on_customer = app
        .get("/v1/customer/service-keys", &admin)
        .send()
        .await
        .unwrap();

    let body = problem(
        customer_on_admin,
        StatusCode::FORBIDDEN,
        "authorization_denied",
    )
    .await;
    assert_eq!(body["detail"], "Admin Context Required");
    let body = problem(
        admin_on_customer,
        StatusCode::FORBIDDEN,
        "authorization_denied",
    )
    .await;
    assert_eq!(body["detail"], "Customer Context Required");
}

async fn malformed_provider_or_id_is_a_validation_error(backend: Backend) {
    let Some(app) = spawn_vault_app(backend).await else {
        return;
    };
    let customer = vault_customer();

    let bad_provider = app
        .put_service_key(&customer, "Open%20AI", json!({"secret": CUSTOMER_SECRET}))
        .await;
    let bad_id = app
        .get("/v1/admin/service-keys/not-a-uuid", &admin())
        .send()
        .await
        .unwrap();
    let blank_secret = app
        .put_service_key(&customer, "openai", json!({"secret": "  "}))
        .await;

    let body = problem(bad_provider, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(
        body["detail"].as_str().unwrap().starts_with("provider: "),
        "{body}"
    );
    let body = problem(bad_id, StatusCode::BAD_REQUEST, "validation_error").await;
    assert_eq!(body["detail"], "id: must be a UUID");
    let body = problem(blank_secret, StatusCode::BAD_REQUEST, "validation_error").await;
    assert_eq!(body["detail"], "secret: must not be empty");
}

async fn vault_routes_answer_503_without_a_master_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = vault_customer();

    let list = app
        .get("/v1/admin/service-keys", &admin())
        .send()
        .await
        .unwrap();
    let put = app
        .put_service_key(&customer, "openai", json!({"secret": CUSTOMER_SECRET}))
        .await;
    let internal = app.internal_decrypt(Some(SERVICE_KEY), "openai").await;

    let body = problem(list, StatusCode::SERVICE_UNAVAILABLE, "service_unavailable").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("vault.master_key"),
        "{body}"
    );
    problem(put, StatusCode::SERVICE_UNAVAILABLE, "service_unavailable").await;
    let body = problem(
        internal,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("internal.service_key"),
        "{body}"
    );
}
