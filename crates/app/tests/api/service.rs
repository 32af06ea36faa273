//! Operational endpoints: probes, the OpenAPI document, the bundled explorer, request ids.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use keyward::storage::StoreReadiness;
use keyward_domain::ports::StorageError;
use keyward_http::ReadinessCheck;
use keyward_store_diesel::testing::TestDatabase;
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::proxy::Proxy;
use crate::support::{
    Backend, on_every_backend, problem, spawn_app, spawn_app_with_readiness, test_settings,
};

on_every_backend!(
    health_and_ready_answer_200,
    ready_is_503_when_the_database_is_unreachable,
    head_probes_answer_like_get_without_a_body,
    head_ready_is_503_when_the_database_is_unreachable,
    openapi_document_describes_every_route_and_both_security_schemes,
    docs_are_served_from_bundled_assets_only,
    request_id_is_echoed_or_generated,
);

async fn health_and_ready_answer_200(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };

    let health = app.client.get(app.url("/health")).send().await.unwrap();
    let ready = app.client.get(app.url("/ready")).send().await.unwrap();

    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(
        ready.json::<Value>().await.unwrap(),
        json!({"status": "ready"})
    );
}

struct DatabaseDown;

#[async_trait]
impl ReadinessCheck for DatabaseDown {
    async fn check(&self) -> Result<(), StorageError> {
        Err(StorageError::unavailable(
            "connection refused by db.internal:5432",
        ))
    }
}

async fn ready_is_503_when_the_database_is_unreachable(backend: Backend) {
    let Some(app) = spawn_app_with_readiness(backend, Arc::new(DatabaseDown)).await else {
        return;
    };

    let ready = app.client.get(app.url("/ready")).send().await.unwrap();
    let health = app.client.get(app.url("/health")).send().await.unwrap();

    let body = problem(
        ready,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
    assert!(!body["detail"].as_str().unwrap().contains("db.internal"));
    assert_eq!(health.status(), StatusCode::OK);
}

/// ADR 0016: a database that stops answering (connections open, no bytes back) makes
/// `/ready` a 503 within `database.connect_timeout_seconds`, not twice that or never.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_503_within_the_connect_timeout_when_postgres_stops_answering() {
    // Arrange: readiness checks PostgreSQL through a proxy we can stall, with the store
    // opened from settings as `keyward serve` opens it.
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let proxy = Proxy::start(db.url()).await;
    let mut settings = test_settings();
    settings.database.url = proxy.url();
    settings.database.connect_timeout_seconds = 1;
    let timeout = Duration::from_secs(1);
    let store = keyward::storage::open_migrated(&settings).await.unwrap();
    let Some(app) =
        spawn_app_with_readiness(Backend::Memory, Arc::new(StoreReadiness(store))).await
    else {
        return;
    };
    let ready = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);

    // Act
    proxy.stall();
    let started = Instant::now();
    let stalled = app.client.get(app.url("/ready")).send().await.unwrap();
    let took = started.elapsed();

    // Assert: one connect timeout, not two (the bound is on the timeout logic, not on
    // speed); and the same process is ready again once the database answers.
    problem(
        stalled,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
    assert!(took < timeout.mul_f64(1.8), "took {took:?}");
    assert!(took >= timeout.mul_f64(0.9), "took only {took:?}");
    proxy.resume();
    let ready = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}

async fn head_probes_answer_like_get_without_a_body(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };

    let health = app.client.head(app.url("/health")).send().await.unwrap();
    let ready = app.client.head(app.url("/ready")).send().await.unwrap();

    assert_eq!(health.status(), StatusCode::OK);
    assert!(health.bytes().await.unwrap().is_empty());
    assert_eq!(ready.status(), StatusCode::OK);
    assert!(ready.bytes().await.unwrap().is_empty());
}

async fn head_ready_is_503_when_the_database_is_unreachable(backend: Backend) {
    let Some(app) = spawn_app_with_readiness(backend, Arc::new(DatabaseDown)).await else {
        return;
    };

    let ready = app.client.head(app.url("/ready")).send().await.unwrap();

    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.bytes().await.unwrap().is_empty());
}

async fn openapi_document_describes_every_route_and_both_security_schemes(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };

    let document: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = &document["paths"];
    for (path, method) in [
        ("/v1/customer/api-keys", "get"),
        ("/v1/customer/api-keys", "post"),
        ("/v1/customer/api-keys/scopes", "get"),
        ("/v1/customer/api-keys/{id}", "get"),
        ("/v1/customer/api-keys/{id}", "patch"),
        ("/v1/customer/api-keys/{id}", "delete"),
        ("/v1/customer/api-keys/{id}/revoke", "post"),
        ("/v1/customer/api-keys/{id}/rotate", "post"),
        ("/v1/validate", "get"),
        ("/health", "get"),
        ("/ready", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path} missing");
    }
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["type"], "apiKey");
    assert_eq!(schemes["api_key"]["in"], "header");
    assert_eq!(schemes["api_key"]["name"], "X-API-Key");
    let api_key = &document["components"]["schemas"]["ApiKeyResponse"]["properties"];
    for field in [
        "id",
        "name",
        "description",
        "prefix",
        "scopes",
        "active",
        "lastUsedAt",
        "expiresAt",
        "createdAt",
    ] {
        assert!(api_key[field].is_object(), "ApiKeyResponse.{field} missing");
    }
}

/// Every `src="…"`/`href="…"` value in an HTML page.
fn asset_references(html: &str) -> Vec<String> {
    let mut references = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attribute) {
            rest = &rest[start + attribute.len()..];
            let end = rest.find('"').unwrap();
            references.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    references
}

async fn docs_are_served_from_bundled_assets_only(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let no_redirects = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();

    let redirect = no_redirects.get(app.url("/docs")).send().await.unwrap();
    let page = app.client.get(app.url("/docs/")).send().await.unwrap();

    assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(redirect.headers().get("location").unwrap(), "/docs/");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let references = asset_references(&html);
    assert!(references.len() >= 3, "{references:?}");
    for reference in &references {
        assert!(
            !reference.contains("//") && !reference.starts_with("http"),
            "external asset {reference}"
        );
        let asset = app
            .client
            .get(app.url(&format!("/docs/{}", reference.trim_start_matches("./"))))
            .send()
            .await
            .unwrap();
        assert_eq!(asset.status(), StatusCode::OK, "{reference}");
    }
    let initializer = app
        .client
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(initializer.contains("/openapi.json"));
}

async fn request_id_is_echoed_or_generated(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };

    let echoed = app
        .client
        .get(app.url("/health"))
        .header("X-Request-Id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    let generated = app.client.get(app.url("/health")).send().await.unwrap();
    let refused = app
        .client
        .get(app.url("/health"))
        .header("X-Request-Id", "has spaces and ✓")
        .send()
        .await
        .unwrap();

    assert_eq!(
        echoed.headers().get("x-request-id").unwrap(),
        "trace-abc-123"
    );
    let generated = generated
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap();
    uuid::Uuid::parse_str(generated).unwrap();
    let replaced = refused
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap();
    uuid::Uuid::parse_str(replaced).unwrap();
}
