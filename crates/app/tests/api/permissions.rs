//! Who may call what: the permission matrix of SPEC §6 and every way a bearer token can
//! be wrong (SPEC §4).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_http::auth::{ActiveContext, Claims};
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use crate::support::{
    Backend, Customer, KEY_PERMISSIONS, TestApp, claims_for, on_every_backend, problem, sign,
    spawn_app,
};

on_every_backend!(
    each_endpoint_without_its_permission_is_403,
    each_endpoint_without_a_token_is_401_with_a_bearer_challenge,
    garbled_expired_foreign_and_unsigned_tokens_are_401,
    admin_context_on_a_customer_route_is_403,
    token_without_a_context_is_403,
);

/// `(method, path, permission)`; `{id}` is replaced by a real key id.
const ENDPOINTS: [(&str, &str, &str); 8] = [
    ("GET", "/v1/customer/api-keys", "api_keys:read"),
    ("GET", "/v1/customer/api-keys/scopes", "api_keys:read"),
    ("GET", "/v1/customer/api-keys/{id}", "api_keys:read"),
    ("POST", "/v1/customer/api-keys", "api_keys:write"),
    ("PATCH", "/v1/customer/api-keys/{id}", "api_keys:write"),
    (
        "POST",
        "/v1/customer/api-keys/{id}/revoke",
        "api_keys:revoke",
    ),
    (
        "POST",
        "/v1/customer/api-keys/{id}/rotate",
        "api_keys:write",
    ),
    ("DELETE", "/v1/customer/api-keys/{id}", "api_keys:write"),
];

fn request(app: &TestApp, method: &str, path: &str, id: &str) -> reqwest::RequestBuilder {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let builder = app
        .client
        .request(method.clone(), app.url(&path.replace("{id}", id)));
    if method == Method::POST && !path.ends_with("revoke") && !path.ends_with("rotate")
        || method == Method::PATCH
    {
        builder.json(&json!({"name": "n", "scopes": ["venues:read"]}))
    } else {
        builder
    }
}

async fn each_endpoint_without_its_permission_is_403(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let owner = Customer::new();
    let key = app.create_key_with_scopes(&owner, &["venues:read"]).await;
    let id = key["id"].as_str().unwrap();

    for (method, path, permission) in ENDPOINTS {
        let others: Vec<&str> = KEY_PERMISSIONS
            .iter()
            .copied()
            .chain(["venues:read", "venues:write"])
            .filter(|p| *p != permission)
            .collect();
        let token = sign(&claims_for(ActiveContext::customer(owner.id), &others));

        let response = request(&app, method, path, id)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();

        let body = problem(response, StatusCode::FORBIDDEN, "authorization_denied").await;
        assert_eq!(
            body["detail"],
            format!("Missing permission: {permission}"),
            "{method} {path}"
        );
    }
    assert_eq!(
        app.validate(key["key"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );
}

async fn each_endpoint_without_a_token_is_401_with_a_bearer_challenge(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let id = Uuid::new_v4().to_string();

    for (method, path, _) in ENDPOINTS {
        let response = request(&app, method, path, &id).send().await.unwrap();

        assert_eq!(
            response.headers().get("www-authenticate").unwrap(),
            "Bearer",
            "{method} {path}"
        );
        problem(response, StatusCode::UNAUTHORIZED, "authentication_failed").await;
    }
}

fn unsigned_token(claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    format!("{header}.{payload}.")
}

fn with_algorithm(claims: &Claims, algorithm: jsonwebtoken::Algorithm) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(algorithm),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(crate::support::SECRET),
    )
    .unwrap()
}

async fn garbled_expired_foreign_and_unsigned_tokens_are_401(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let claims = claims_for(ActiveContext::customer(Uuid::new_v4()), KEY_PERMISSIONS);
    let now = jsonwebtoken::get_current_timestamp();
    let expired = sign(&Claims {
        exp: now - 3600,
        nbf: None,
        iat: Some(now - 7200),
        ..claims.clone()
    });
    let foreign = keyward_http::auth::JwtSigner::new(&keyward_http::auth::JwtSecret::new(
        b"some other secret, also 32 bytes long".to_vec(),
    ))
    .sign(&claims)
    .unwrap();
    let valid = sign(&claims);
    let tampered = {
        let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
        let mut payload = claims.clone();
        payload.active_context = Some(ActiveContext::customer(Uuid::new_v4()));
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
        parts.join(".")
    };

    let cases = [
        ("garbled", "not-a-jwt".to_owned()),
        ("expired", expired),
        ("signed with another secret", foreign),
        ("alg none", unsigned_token(&claims)),
        (
            "HS512",
            with_algorithm(&claims, jsonwebtoken::Algorithm::HS512),
        ),
        ("payload swapped", tampered),
    ];
    for (case, token) in cases {
        let response = app
            .client
            .get(app.url("/v1/customer/api-keys"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
        problem(response, StatusCode::UNAUTHORIZED, "authentication_failed").await;
    }
    let basic = app
        .client
        .get(app.url("/v1/customer/api-keys"))
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    problem(basic, StatusCode::UNAUTHORIZED, "authentication_failed").await;
}

async fn admin_context_on_a_customer_route_is_403(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = sign(&claims_for(
        ActiveContext::admin(Uuid::new_v4()),
        KEY_PERMISSIONS,
    ));

    let response = app
        .client
        .get(app.url("/v1/customer/api-keys"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();

    let body = problem(response, StatusCode::FORBIDDEN, "authorization_denied").await;
    assert_eq!(body["detail"], "Customer Context Required");
}

async fn token_without_a_context_is_403(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut claims = claims_for(ActiveContext::customer(Uuid::new_v4()), KEY_PERMISSIONS);
    claims.active_context = None;

    let response = app
        .client
        .get(app.url("/v1/customer/api-keys"))
        .bearer_auth(sign(&claims))
        .send()
        .await
        .unwrap();

    let body = problem(response, StatusCode::FORBIDDEN, "authorization_denied").await;
    assert_eq!(body["detail"], "Customer Context Required");
}
