//! Audit events (SPEC §12): every change to a key, venue or service credential and every
//! plaintext read of a credential is stored with who did it, from where and when, and
//! listed by `GET /v1/customer/audit-events` (audit:read) newest first.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;

use crate::openkj_client::{Host, VENUE_PERMISSIONS};
use crate::service_keys::{MASTER_KEY, SERVICE_KEY};
use crate::support::{
    Backend, Customer, TestApp, claims_for, on_every_backend, problem, sign, spawn_app_with,
};
use keyward_http::auth::jwt::ActiveContext;

on_every_backend!(
    a_keys_whole_life_is_audited_with_actor_ip_and_no_secret,
    reading_needs_audit_read_and_shows_only_the_customers_own_events,
    filters_and_paging_select_events_and_bad_queries_are_400_naming_the_parameter,
    venue_changes_by_a_user_and_by_openkj_are_audited_with_their_actor,
    credential_changes_and_plaintext_reads_are_audited_without_the_secret,
    internal_service_changes_are_audited_as_the_service,
    events_outlive_their_key_and_expire_after_the_retention,
    the_client_address_is_the_peer_unless_a_trusted_proxy_forwards_it,
    requests_that_change_nothing_record_nothing,
);

const AUDITOR: &[&str] = &[
    "api_keys:read",
    "api_keys:write",
    "api_keys:revoke",
    "audit:read",
];
const CREDENTIAL_SECRET: &str = "sk-proj-audited-but-never-shown-4321";

async fn spawn(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |settings| {
        settings.vault.master_key = Some(MASTER_KEY.to_owned());
        settings.internal.service_key = Some(SERVICE_KEY.to_owned());
    })
    .await
}

/// The events the customer sees with `query`, as the whole answer.
async fn audit_events(app: &TestApp, customer: &Customer, query: &str) -> Value {
    let response = app
        .get(&format!("/v1/customer/audit-events{query}"), customer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The actions of the events listed, newest first.
fn actions(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn expect_status(response: reqwest::Response, status: StatusCode) -> Value {
    let actual = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "{body}");
    body
}

async fn a_keys_whole_life_is_audited_with_actor_ip_and_no_secret(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let customer = Customer::with_permissions(AUDITOR);
    let created = app
        .create_key(
            &customer,
            json!({"name": "Jukebox", "scopes": ["songdb:read", "requests:write"]}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/customer/api-keys/{id}");
    expect_status(
        app.patch(&path, &customer)
            .json(&json!({"name": "Jukebox 2", "active": false}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    expect_status(
        app.patch(&path, &customer)
            .json(&json!({"active": true}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let rotated = app
        .rotated(&customer, &id, Some(json!({"gracePeriodSeconds": 600})))
        .await;
    expect_status(
        app.post(&format!("{path}/revoke"), &customer)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    expect_status(
        app.delete(&path, &customer).send().await.unwrap(),
        StatusCode::NO_CONTENT,
    )
    .await;

    let page = audit_events(&app, &customer, "").await;

    assert_eq!(
        actions(&page),
        [
            "api_key.deleted",
            "api_key.revoked",
            "api_key.rotated",
            "api_key.updated",
            "api_key.updated",
            "api_key.created",
        ],
        "{page}"
    );
    let events = page["data"].as_array().unwrap();
    for event in events {
        assert_eq!(event["actor"], json!({"type": "user", "id": "user-1"}));
        assert_eq!(event["ip"], "127.0.0.1");
        assert_eq!(event["targetType"], "api_key");
        assert_eq!(event["targetId"], id.as_str());
        assert!(event["at"].as_str().unwrap().ends_with('Z'), "{event}");
        assert!(event["id"].as_str().unwrap().len() == 36, "{event}");
    }
    let created_event = &events[5];
    assert_eq!(
        created_event["details"],
        json!({"name": "Jukebox", "scopes": ["requests:write", "songdb:read"], "expiresAt": null})
    );
    assert_eq!(
        events[4]["details"],
        json!({"name": "Jukebox 2", "active": false})
    );
    assert_eq!(events[3]["details"], json!({"active": true}));
    assert_eq!(events[2]["details"]["gracePeriodSeconds"], 600);
    assert!(
        events[2]["details"]["previousSecretValidUntil"].is_string(),
        "{}",
        events[2]
    );
    assert_eq!(page["pagination"]["total"], 6);
    let text = page.to_string();
    for secret in [
        created["key"].as_str().unwrap(),
        rotated["key"].as_str().unwrap(),
    ] {
        assert!(!text.contains(secret), "a key reached the audit events");
        let body = secret.split_once('_').unwrap().1;
        assert!(!text.contains(&body[..12]), "part of a key reached them");
    }
}

async fn reading_needs_audit_read_and_shows_only_the_customers_own_events(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let owner = Customer::with_permissions(AUDITOR);
    app.create_key_with_scopes(&owner, &["songdb:read"]).await;
    let stranger = Customer::with_permissions(AUDITOR);
    let without_permission = Customer {
        id: owner.id,
        token: sign(&claims_for(
            ActiveContext::customer(owner.id),
            &["api_keys:read", "api_keys:write"],
        )),
    };

    let refused = app
        .get("/v1/customer/audit-events", &without_permission)
        .send()
        .await
        .unwrap();
    let body = problem(refused, StatusCode::FORBIDDEN, "authorization_denied").await;
    assert!(
        body["detail"].as_str().unwrap().contains("audit:read"),
        "{body}"
    );
    let anonymous = app
        .client
        .get(app.url("/v1/customer/audit-events"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        actions(&audit_events(&app, &owner, "").await),
        ["api_key.created"]
    );
    let strangers = audit_events(&app, &stranger, "").await;
    assert_eq!(strangers["data"], json!([]));
    assert_eq!(strangers["pagination"]["total"], 0);
}

async fn filters_and_paging_select_events_and_bad_queries_are_400_naming_the_parameter(
    backend: Backend,
) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let customer = Customer::with_permissions(AUDITOR);
    let first = app
        .create_key_with_scopes(&customer, &["songdb:read"])
        .await;
    let first_id = first["id"].as_str().unwrap();
    let second = app
        .create_key_with_scopes(&customer, &["songdb:read"])
        .await;
    let second_id = second["id"].as_str().unwrap();
    app.rotated(&customer, first_id, None).await;
    app.rotated(&customer, second_id, None).await;

    let rotations = audit_events(&app, &customer, "?action=api_key.rotated").await;
    let about_first = audit_events(&app, &customer, &format!("?targetId={first_id}")).await;
    let both = audit_events(
        &app,
        &customer,
        &format!("?action=api_key.created&targetId={second_id}"),
    )
    .await;
    let second_page = audit_events(&app, &customer, "?page=2&limit=3").await;

    assert_eq!(actions(&rotations), ["api_key.rotated", "api_key.rotated"]);
    assert_eq!(rotations["data"][0]["targetId"], second_id);
    assert_eq!(
        actions(&about_first),
        ["api_key.rotated", "api_key.created"]
    );
    assert!(
        about_first["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|event| event["targetId"] == first_id)
    );
    assert_eq!(actions(&both), ["api_key.created"]);
    assert_eq!(both["data"][0]["targetId"], second_id);
    assert_eq!(actions(&second_page), ["api_key.created"]);
    assert_eq!(
        second_page["pagination"],
        json!({"page": 2, "limit": 3, "total": 4, "totalPages": 2})
    );
    for (query, parameter) in [
        ("?action=api_key.exploded", "action"),
        ("?action=API_KEY.CREATED", "action"),
        ("?targetId=not-a-uuid", "targetId"),
        ("?page=0", "page"),
        ("?limit=101", "limit"),
        ("?limit=ten", "limit"),
    ] {
        let response = app
            .get(&format!("/v1/customer/audit-events{query}"), &customer)
            .send()
            .await
            .unwrap();
        let body = problem(response, StatusCode::BAD_REQUEST, "validation_error").await;
        assert!(
            body["detail"].as_str().unwrap().starts_with(parameter),
            "{query}: {body}"
        );
    }
}

async fn venue_changes_by_a_user_and_by_openkj_are_audited_with_their_actor(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let mut permissions = VENUE_PERMISSIONS.to_vec();
    permissions.push("audit:read");
    let customer = Customer {
        id: host.customer.id,
        token: sign(&claims_for(
            ActiveContext::customer(host.customer.id),
            &permissions,
        )),
    };
    let venues = audit_events(&app, &customer, "?action=venue.created").await;
    let venue_id = venues["data"][0]["targetId"].as_str().unwrap().to_owned();
    let openkj = host.openkj(&app);
    openkj
        .ok(
            "setAccepting",
            json!({"accepting": true, "system_id": 1, "venue_id": host.venue}),
        )
        .await;
    // The same state again changes nothing, and records nothing.
    openkj
        .ok(
            "setAccepting",
            json!({"accepting": true, "system_id": 1, "venue_id": host.venue}),
        )
        .await;
    expect_status(
        app.patch(&format!("/v1/customer/venues/{venue_id}"), &customer)
            .json(&json!({"name": "The Shiny Mic"}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    expect_status(
        app.delete(&format!("/v1/customer/venues/{venue_id}"), &customer)
            .send()
            .await
            .unwrap(),
        StatusCode::NO_CONTENT,
    )
    .await;

    let page = audit_events(&app, &customer, "").await;
    let venue_events: Vec<&Value> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["targetType"] == "venue")
        .collect();

    let kinds: Vec<&str> = venue_events
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "venue.deleted",
            "venue.updated",
            "venue.updated",
            "venue.created"
        ]
    );
    let by_openkj = venue_events[2];
    let key_id = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["action"] == "api_key.created")
        .unwrap()["targetId"]
        .clone();
    assert_eq!(by_openkj["actor"], json!({"type": "service", "id": key_id}));
    assert_eq!(by_openkj["details"], json!({"acceptingRequests": true}));
    assert_eq!(venue_events[1]["actor"]["type"], "user");
    assert_eq!(venue_events[1]["details"], json!({"name": "The Shiny Mic"}));
    assert_eq!(venue_events[3]["details"]["name"], "The Rusty Mic");
    assert!(
        venue_events
            .iter()
            .all(|event| event["targetId"] == venue_id.as_str())
    );
}

async fn credential_changes_and_plaintext_reads_are_audited_without_the_secret(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let customer = Customer::with_permissions(&[
        "api_keys:read",
        "api_keys:write",
        "service_keys:read",
        "service_keys:write",
        "audit:read",
    ]);
    for expected in [StatusCode::CREATED, StatusCode::OK] {
        expect_status(
            app.client
                .put(app.url("/v1/customer/service-keys/openai"))
                .bearer_auth(&customer.token)
                .json(&json!({"secret": CREDENTIAL_SECRET}))
                .send()
                .await
                .unwrap(),
            expected,
        )
        .await;
    }
    let key = app
        .create_key_with_scopes(&customer, &["secrets:read"])
        .await;
    let key_id = key["id"].as_str().unwrap();
    let revealed = app
        .client
        .get(app.url("/v1/validate/keys/openai"))
        .header("X-API-Key", key["key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(revealed.status(), StatusCode::OK);
    expect_status(
        app.client
            .delete(app.url("/v1/customer/service-keys/openai"))
            .bearer_auth(&customer.token)
            .send()
            .await
            .unwrap(),
        StatusCode::NO_CONTENT,
    )
    .await;

    let page = audit_events(&app, &customer, "").await;

    assert_eq!(
        actions(&page),
        [
            "service_key.deleted",
            "service_key.revealed",
            "api_key.created",
            "service_key.updated",
            "service_key.created",
        ]
    );
    let events = page["data"].as_array().unwrap();
    assert_eq!(events[1]["actor"], json!({"type": "service", "id": key_id}));
    assert_eq!(events[1]["details"], json!({"provider": "openai"}));
    assert_eq!(events[3]["details"]["secretReplaced"], true);
    assert_eq!(events[4]["details"]["provider"], "openai");
    assert_eq!(events[4]["targetType"], "service_key");
    assert_eq!(events[0]["targetId"], events[4]["targetId"]);
    let text = page.to_string();
    assert!(!text.contains(CREDENTIAL_SECRET), "the secret was audited");
    assert!(
        !text.contains("never-shown"),
        "part of the secret was audited"
    );
}

async fn internal_service_changes_are_audited_as_the_service(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let customer = Customer::with_permissions(AUDITOR);
    let internal = |method: Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .header("X-Service-Key", SERVICE_KEY)
    };
    let created = expect_status(
        internal(Method::POST, "/internal/api-keys")
            .json(&json!({"customerId": customer.id, "name": "Billing", "scopes": ["songdb:read"]}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_str().unwrap();
    expect_status(
        internal(Method::DELETE, &format!("/internal/api-keys/{id}"))
            .send()
            .await
            .unwrap(),
        StatusCode::NO_CONTENT,
    )
    .await;
    expect_status(
        internal(Method::POST, "/internal/keys")
            .json(&json!({"customerId": customer.id, "provider": "spotify", "secret": CREDENTIAL_SECRET}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    expect_status(
        internal(
            Method::GET,
            &format!("/internal/keys/spotify/decrypt?customerId={}", customer.id),
        )
        .send()
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;

    let page = audit_events(&app, &customer, "").await;

    assert_eq!(
        actions(&page),
        [
            "service_key.revealed",
            "service_key.created",
            "api_key.deleted",
            "api_key.created",
        ]
    );
    for event in page["data"].as_array().unwrap() {
        assert_eq!(event["actor"], json!({"type": "service", "id": "internal"}));
        assert_eq!(event["ip"], "127.0.0.1");
    }
    assert!(!page.to_string().contains(CREDENTIAL_SECRET));
}

async fn events_outlive_their_key_and_expire_after_the_retention(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |settings| {
        settings.audit.retention_days = 30;
    })
    .await
    else {
        return;
    };
    let customer = Customer::with_permissions(AUDITOR);
    let old = app
        .create_key_with_scopes(&customer, &["songdb:read"])
        .await;
    let old_id = old["id"].as_str().unwrap();
    expect_status(
        app.delete(&format!("/v1/customer/api-keys/{old_id}"), &customer)
            .send()
            .await
            .unwrap(),
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_eq!(app.delete_expired_audit_events().await, 0);
    app.clock.advance(Duration::days(20));
    let recent = app
        .create_key_with_scopes(&customer, &["songdb:read"])
        .await;

    let kept = audit_events(&app, &customer, "").await;
    app.clock.advance(Duration::days(11));
    let deleted = app.delete_expired_audit_events().await;
    let after = audit_events(&app, &customer, "").await;

    assert_eq!(
        actions(&kept),
        ["api_key.created", "api_key.deleted", "api_key.created"],
        "the deleted key's events stay"
    );
    assert_eq!(deleted, 2, "the two events older than 30 days go");
    assert_eq!(actions(&after), ["api_key.created"]);
    assert_eq!(after["data"][0]["targetId"], recent["id"]);
}

/// `server.trusted_proxies`: a forwarded address is believed only from a trusted peer, and
/// then the rightmost one the client could not have written.
async fn the_client_address_is_the_peer_unless_a_trusted_proxy_forwards_it(backend: Backend) {
    for (trusted, expected) in [("", "127.0.0.1"), ("127.0.0.0/8", "198.51.100.7")] {
        let Some(app) = spawn_app_with(backend, |settings| {
            trusted.clone_into(&mut settings.server.trusted_proxies);
        })
        .await
        else {
            return;
        };
        let customer = Customer::with_permissions(AUDITOR);
        let created = app
            .post("/v1/customer/api-keys", &customer)
            .header("X-Forwarded-For", "6.6.6.6, 198.51.100.7")
            .json(&json!({"name": "Behind a proxy", "scopes": ["songdb:read"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);

        let page = audit_events(&app, &customer, "").await;

        assert_eq!(page["data"][0]["ip"], expected, "trusted: {trusted:?}");
    }
}

/// A revoke of a revoked key and `PATCH {}` change nothing: they are answered as usual and
/// leave no event (so repeating them cannot fill the audit log).
async fn requests_that_change_nothing_record_nothing(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let customer = Customer::with_permissions(AUDITOR);
    let created = app
        .create_key_with_scopes(&customer, &["songdb:read"])
        .await;
    let path = format!("/v1/customer/api-keys/{}", created["id"].as_str().unwrap());

    for _ in 0..3 {
        expect_status(
            app.post(&format!("{path}/revoke"), &customer)
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
        expect_status(
            app.patch(&path, &customer)
                .json(&json!({}))
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
    }

    assert_eq!(
        actions(&audit_events(&app, &customer, "").await),
        ["api_key.revoked", "api_key.created"]
    );
}
