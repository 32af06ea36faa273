//! Client mistakes are 400 (413 for an oversized body) problems that name what is
//! wrong — never a 500.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::support::{Backend, Customer, TestApp, on_every_backend, problem, spawn_app};

on_every_backend!(
    create_body_mistakes_are_400_naming_the_field,
    malformed_json_and_wrong_types_are_400,
    expiry_in_the_past_or_not_rfc3339_is_400,
    non_uuid_path_id_is_400,
    oversized_body_is_413,
    bad_paging_and_filter_parameters_are_400,
    patch_and_rotate_body_mistakes_are_400,
    unknown_scope_in_validate_is_400,
    unknown_route_is_404_and_wrong_method_is_405_as_problems,
);

async fn create(app: &TestApp, customer: &Customer, body: &Value) -> Value {
    let response = app
        .post("/v1/customer/api-keys", customer)
        .json(body)
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::BAD_REQUEST, "validation_error").await
}

async fn create_body_mistakes_are_400_naming_the_field(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let many_scopes: Vec<&str> = std::iter::repeat_n("venues:read", 21).collect();
    let cases = [
        (
            json!({"name": "", "scopes": ["venues:read"]}),
            "name: must be 1 to 100 characters",
        ),
        (
            json!({"name": "   ", "scopes": ["venues:read"]}),
            "name: must not be empty",
        ),
        (
            json!({"name": "x".repeat(101), "scopes": ["venues:read"]}),
            "name: must be 1 to 100 characters",
        ),
        (
            json!({"name": "n", "description": "d".repeat(501), "scopes": ["venues:read"]}),
            "description: must be at most 500 characters",
        ),
        (
            json!({"name": "n", "scopes": []}),
            "scopes: must list 1 to 20 scopes",
        ),
        (
            json!({"name": "n", "scopes": many_scopes}),
            "scopes: must list 1 to 20 scopes",
        ),
        (
            json!({"name": "n", "scopes": ["venues:read", "a", "b"]}),
            "Invalid scopes: a, b",
        ),
    ];

    for (body, detail) in cases {
        let problem = create(&app, &customer, &body).await;

        assert_eq!(problem["detail"], detail, "{body}");
    }
    let exactly_100 = json!({"name": "x".repeat(100), "scopes": ["venues:read"]});
    app.create_key(&customer, exactly_100).await;
}

async fn malformed_json_and_wrong_types_are_400(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();

    let malformed = app
        .post("/v1/customer/api-keys", &customer)
        .header("content-type", "application/json")
        .body(r#"{"name": "n", "scopes": ["#)
        .send()
        .await
        .unwrap();
    let malformed = problem(malformed, StatusCode::BAD_REQUEST, "validation_error").await;
    let wrong_type = create(
        &app,
        &customer,
        &json!({"name": 5, "scopes": ["venues:read"]}),
    )
    .await;
    let wrong_item = create(&app, &customer, &json!({"name": "n", "scopes": [1]})).await;
    let missing = create(&app, &customer, &json!({"scopes": ["venues:read"]})).await;
    let unknown = create(
        &app,
        &customer,
        &json!({"name": "n", "scopes": ["venues:read"], "expires_at": "2030-01-01T00:00:00Z"}),
    )
    .await;
    let not_an_object = create(&app, &customer, &json!(["name"])).await;

    assert!(
        malformed["detail"]
            .as_str()
            .unwrap()
            .contains("EOF while parsing"),
        "{malformed}"
    );
    assert!(
        wrong_type["detail"]
            .as_str()
            .unwrap()
            .starts_with("name: invalid type"),
        "{wrong_type}"
    );
    assert!(
        wrong_item["detail"]
            .as_str()
            .unwrap()
            .starts_with("scopes[0]: invalid type"),
        "{wrong_item}"
    );
    assert!(
        missing["detail"]
            .as_str()
            .unwrap()
            .contains("missing field `name`"),
        "{missing}"
    );
    assert!(
        unknown["detail"]
            .as_str()
            .unwrap()
            .starts_with("expires_at: unknown field"),
        "{unknown}"
    );
    assert_eq!(not_an_object["detail"], "body: must be a JSON object");
}

async fn expiry_in_the_past_or_not_rfc3339_is_400(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let past = (app.clock_now() - time::Duration::minutes(1))
        .format(&Rfc3339)
        .unwrap();
    let now = app.clock_now().format(&Rfc3339).unwrap();

    for (expires, detail) in [
        (past.as_str(), "expiresAt: must be in the future"),
        (now.as_str(), "expiresAt: must be in the future"),
        (
            "2030-01-01",
            "expiresAt: must be an RFC 3339 timestamp such as 2027-01-01T00:00:00Z",
        ),
        (
            "tomorrow",
            "expiresAt: must be an RFC 3339 timestamp such as 2027-01-01T00:00:00Z",
        ),
    ] {
        let body = json!({"name": "n", "scopes": ["venues:read"], "expiresAt": expires});

        let problem = create(&app, &customer, &body).await;

        assert_eq!(problem["detail"], detail, "{expires}");
    }
}

async fn non_uuid_path_id_is_400(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();

    for request in [
        app.get("/v1/customer/api-keys/not-a-uuid", &customer),
        app.patch("/v1/customer/api-keys/123", &customer)
            .json(&json!({})),
        app.post("/v1/customer/api-keys/xyz/revoke", &customer),
        app.post("/v1/customer/api-keys/xyz/rotate", &customer),
        app.delete("/v1/customer/api-keys/xyz", &customer),
    ] {
        let response = request.send().await.unwrap();

        let body = problem(response, StatusCode::BAD_REQUEST, "validation_error").await;
        assert_eq!(body["detail"], "id: must be a UUID");
    }
}

async fn oversized_body_is_413(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let huge =
        json!({"name": "n", "description": "x".repeat(70 * 1024), "scopes": ["venues:read"]});

    let response = app
        .post("/v1/customer/api-keys", &customer)
        .json(&huge)
        .send()
        .await
        .unwrap();

    let body = problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_eq!(
        body["detail"],
        "request body exceeds the limit of 65536 bytes"
    );
}

async fn bad_paging_and_filter_parameters_are_400(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();

    for (query, detail) in [
        ("page=0", "page: must be between 1 and 2147483647"),
        // The document says int32: one past it is refused, not served as a page.
        ("page=2147483648", "page: must be between 1 and 2147483647"),
        ("page=4294967295", "page: must be between 1 and 2147483647"),
        ("limit=0", "limit: must be between 1 and 100"),
        ("limit=101", "limit: must be between 1 and 100"),
        ("page=-1", "page: must be a whole number"),
        ("limit=ten", "limit: must be a whole number"),
        ("active=maybe", "active: must be true or false"),
    ] {
        let response = app
            .get(&format!("/v1/customer/api-keys?{query}"), &customer)
            .send()
            .await
            .unwrap();

        let body = problem(response, StatusCode::BAD_REQUEST, "validation_error").await;
        assert_eq!(body["detail"], detail, "{query}");
    }
}

async fn patch_and_rotate_body_mistakes_are_400(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let key = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let id = key["id"].as_str().unwrap();
    let path = format!("/v1/customer/api-keys/{id}");

    for (body, detail) in [
        (json!({"name": null}), "name: must not be null"),
        (json!({"active": null}), "active: must not be null"),
        (json!({"scopes": []}), "scopes: must list 1 to 20 scopes"),
        (json!({"scopes": ["nope"]}), "Invalid scopes: nope"),
        (json!({"name": ""}), "name: must be 1 to 100 characters"),
    ] {
        let response = app
            .patch(&path, &customer)
            .json(&body)
            .send()
            .await
            .unwrap();

        let problem = problem(response, StatusCode::BAD_REQUEST, "validation_error").await;
        assert_eq!(problem["detail"], detail, "{body}");
    }
    let wrong_active = app
        .patch(&path, &customer)
        .json(&json!({"active": "yes"}))
        .send()
        .await
        .unwrap();
    let wrong_active = problem(wrong_active, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(
        wrong_active["detail"]
            .as_str()
            .unwrap()
            .starts_with("active: invalid type")
    );
    for grace in [json!(-1), json!(604_801)] {
        let response = app
            .rotate(&customer, id, Some(json!({"gracePeriodSeconds": grace})))
            .await;

        let problem = problem(response, StatusCode::BAD_REQUEST, "validation_error").await;
        assert_eq!(
            problem["detail"],
            "gracePeriodSeconds: must be between 0 and 604800"
        );
    }
    let unchanged: Value = app
        .get(&path, &customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged["prefix"], key["prefix"]);
}

async fn unknown_scope_in_validate_is_400(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = app
        .create_key_with_scopes(&Customer::new(), &["venues:read"])
        .await;

    let response = app
        .validate_scope(key["key"].as_str().unwrap(), "venues:admin")
        .await;

    let body = problem(response, StatusCode::BAD_REQUEST, "validation_error").await;
    assert_eq!(body["detail"], "scope: unknown scope 'venues:admin'");
}

async fn unknown_route_is_404_and_wrong_method_is_405_as_problems(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();

    let unknown = app
        .get("/v1/customer/nothing-here", &customer)
        .send()
        .await
        .unwrap();
    let wrong_method = app
        .client
        .put(app.url("/v1/customer/api-keys"))
        .bearer_auth(&customer.token)
        .send()
        .await
        .unwrap();

    problem(unknown, StatusCode::NOT_FOUND, "resource_not_found").await;
    let allow = wrong_method
        .headers()
        .get("allow")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    problem(
        wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}
