//! The success path of every key endpoint, with the exact response shapes of SPEC §6.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::support::{Backend, Customer, on_every_backend, problem, spawn_app, spawn_app_with};

on_every_backend!(
    create_returns_the_key_once_with_every_documented_field,
    list_is_newest_first_with_pagination,
    list_filters_by_the_active_flag,
    get_returns_the_key_without_its_secret,
    patch_changes_only_the_fields_sent_and_null_clears_the_description,
    revoke_answers_with_a_message_and_deactivates,
    rotate_returns_a_new_secret_for_the_same_key,
    delete_answers_204_and_the_key_is_gone,
    scopes_lists_every_known_scope,
    creating_beyond_the_cap_is_a_conflict,
);

const API_KEY_FIELDS: [&str; 9] = [
    "active",
    "createdAt",
    "description",
    "expiresAt",
    "id",
    "lastUsedAt",
    "name",
    "prefix",
    "scopes",
];

fn field_names(object: &Value) -> Vec<String> {
    let mut names: Vec<String> = object.as_object().unwrap().keys().cloned().collect();
    names.sort();
    names
}

fn rfc3339_utc(value: &Value) -> OffsetDateTime {
    let text = value.as_str().unwrap();
    assert!(text.ends_with('Z'), "{text} is not UTC");
    OffsetDateTime::parse(text, &Rfc3339).unwrap()
}

async fn create_returns_the_key_once_with_every_documented_field(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let expires = (app.clock_now() + time::Duration::days(30))
        .format(&Rfc3339)
        .unwrap();

    let response = app
        .post("/v1/customer/api-keys", &customer)
        .json(&json!({
            "name": "Lobby tablet",
            "description": "Song requests from the lobby",
            "expiresAt": expires,
            "scopes": ["songdb:read", "requests:write"]
        }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let mut expected: Vec<&str> = API_KEY_FIELDS.to_vec();
    expected.push("key");
    expected.sort_unstable();
    assert_eq!(field_names(&body), expected);
    let key = body["key"].as_str().unwrap();
    assert!(key.starts_with("kw_") && key.len() == 3 + 43 + 6, "{key}");
    assert_eq!(body["prefix"], key[3..10]);
    assert_eq!(body["name"], "Lobby tablet");
    assert_eq!(body["description"], "Song requests from the lobby");
    assert_eq!(body["scopes"], json!(["requests:write", "songdb:read"]));
    assert_eq!(body["active"], true);
    assert_eq!(body["lastUsedAt"], Value::Null);
    assert_eq!(
        rfc3339_utc(&body["expiresAt"]),
        OffsetDateTime::parse(&expires, &Rfc3339).unwrap()
    );
    assert_eq!(rfc3339_utc(&body["createdAt"]), app.clock_now());
    uuid::Uuid::parse_str(body["id"].as_str().unwrap()).unwrap();
}

async fn list_is_newest_first_with_pagination(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let mut ids = Vec::new();
    for name in ["first", "second", "third"] {
        let key = app
            .create_key(&customer, json!({"name": name, "scopes": ["venues:read"]}))
            .await;
        ids.push(key["id"].clone());
        app.clock.advance(time::Duration::seconds(1));
    }

    let first_page: Value = app
        .get("/v1/customer/api-keys?page=1&limit=2", &customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second_page: Value = app
        .get("/v1/customer/api-keys?page=2&limit=2", &customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(field_names(&first_page), ["data", "pagination"]);
    assert_eq!(
        first_page["pagination"],
        json!({"page": 1, "limit": 2, "total": 3, "totalPages": 2})
    );
    let first: Vec<&Value> = first_page["data"].as_array().unwrap().iter().collect();
    assert_eq!(
        first.iter().map(|k| &k["id"]).collect::<Vec<_>>(),
        [&ids[2], &ids[1]]
    );
    assert_eq!(field_names(first[0]), API_KEY_FIELDS);
    assert_eq!(second_page["data"][0]["id"], ids[0]);
    assert_eq!(second_page["pagination"]["page"], 2);
}

async fn list_filters_by_the_active_flag(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let kept = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let revoked = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let revoke_path = format!(
        "/v1/customer/api-keys/{}/revoke",
        revoked["id"].as_str().unwrap()
    );
    app.post(&revoke_path, &customer).send().await.unwrap();

    let active: Value = app
        .get("/v1/customer/api-keys?active=true", &customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let inactive: Value = app
        .get("/v1/customer/api-keys?active=false", &customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let all: Value = app
        .get("/v1/customer/api-keys?active=", &customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(active["data"].as_array().unwrap().len(), 1);
    assert_eq!(active["data"][0]["id"], kept["id"]);
    assert_eq!(inactive["data"][0]["id"], revoked["id"]);
    assert_eq!(inactive["pagination"]["total"], 1);
    assert_eq!(all["pagination"]["total"], 2);
}

async fn get_returns_the_key_without_its_secret(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let created = app
        .create_key_with_scopes(&customer, &["systems:read"])
        .await;

    let response = app
        .get(
            &format!("/v1/customer/api-keys/{}", created["id"].as_str().unwrap()),
            &customer,
        )
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(field_names(&body), API_KEY_FIELDS);
    let mut without_secret = created.clone();
    without_secret.as_object_mut().unwrap().remove("key");
    assert_eq!(body, without_secret);
}

async fn patch_changes_only_the_fields_sent_and_null_clears_the_description(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let created = app
        .create_key(
            &customer,
            json!({"name": "old", "description": "to be cleared", "scopes": ["venues:read"]}),
        )
        .await;
    let path = format!("/v1/customer/api-keys/{}", created["id"].as_str().unwrap());

    let response = app
        .patch(&path, &customer)
        .json(&json!({"name": "new", "description": null, "scopes": ["venues:write"]}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["name"], "new");
    assert_eq!(body["description"], Value::Null);
    assert_eq!(body["scopes"], json!(["venues:write"]));
    assert_eq!(body["active"], true);
    assert_eq!(body["prefix"], created["prefix"]);
    let reread: Value = app
        .get(&path, &customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reread, body);
}

async fn revoke_answers_with_a_message_and_deactivates(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let created = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let id = created["id"].as_str().unwrap();

    let response = app
        .post(&format!("/v1/customer/api-keys/{id}/revoke"), &customer)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"message": "API key revoked successfully"}));
    let key: Value = app
        .get(&format!("/v1/customer/api-keys/{id}"), &customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(key["active"], false);
}

async fn rotate_returns_a_new_secret_for_the_same_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let created = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;

    let response = app
        .rotate(&customer, created["id"].as_str().unwrap(), None)
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let rotated: Value = response.json().await.unwrap();
    assert_eq!(rotated["id"], created["id"]);
    assert_ne!(rotated["key"], created["key"]);
    assert_eq!(rotated["prefix"], rotated["key"].as_str().unwrap()[3..10]);
    assert_eq!(rotated["name"], created["name"]);
    assert_eq!(rotated["createdAt"], created["createdAt"]);
}

async fn delete_answers_204_and_the_key_is_gone(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let created = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let path = format!("/v1/customer/api-keys/{}", created["id"].as_str().unwrap());

    let response = app.delete(&path, &customer).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());
    let again = app.get(&path, &customer).send().await.unwrap();
    problem(again, StatusCode::NOT_FOUND, "resource_not_found").await;
}

async fn scopes_lists_every_known_scope(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };

    let body: Value = app
        .get("/v1/customer/api-keys/scopes", &Customer::new())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(
        body,
        json!({"scopes": [
            "requests:read", "requests:write", "songdb:read", "songdb:write",
            "venues:read", "venues:write", "systems:read", "secrets:read"
        ]})
    );
}

async fn creating_beyond_the_cap_is_a_conflict(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.keys.max_per_customer = 2).await else {
        return;
    };
    let customer = Customer::new();
    app.create_key_with_scopes(&customer, &["venues:read"])
        .await;
    app.create_key_with_scopes(&customer, &["venues:read"])
        .await;

    let response = app
        .post("/v1/customer/api-keys", &customer)
        .json(&json!({"name": "third", "scopes": ["venues:read"]}))
        .send()
        .await
        .unwrap();

    let body = problem(response, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(body["detail"], "maximum of 2 active API keys reached");
}
