//! The OpenKJ endpoint under everything that is not a well-behaved client: malformed
//! bodies, wrong JSON types, huge bodies, narrow keys, spent budgets, a second tenant
//! with the same venue ids, and singers racing the host's deletes and clears. Whatever
//! happens, the reply is HTTP 200 with a JSON `error` flag.

use std::collections::HashSet;

use futures::stream::{self, StreamExt};
use serde_json::{Value, json};

use crate::openkj_client::{Host, OpenKj, int32, qt_json, sing};
use crate::support::{Backend, on_every_backend, spawn_app, spawn_app_with};

on_every_backend!(
    malformed_bodies_are_errors_in_the_envelope,
    wrong_field_types_are_refused_naming_the_field,
    body_over_sixteen_mebibytes_is_an_error_not_a_413,
    each_command_needs_its_scope_and_the_key_needs_the_endpoint_scopes,
    alert_warns_once_about_missing_scopes_and_near_expiry,
    spent_command_budget_is_an_error_and_uploads_keep_their_own,
    two_customers_with_venue_zero_never_see_each_other,
    singer_submissions_racing_deletes_and_clears_lose_nothing,
);

/// Posts `body` and checks the failure envelope; returns the reply.
async fn failed(openkj: &OpenKj<'_>, body: impl Into<Vec<u8>>) -> Value {
    let reply = openkj.post_raw("/openkj/api", body.into()).await;
    assert_eq!(reply["error"], true, "{reply}");
    assert!(
        !reply["errorString"].as_str().unwrap_or_default().is_empty(),
        "{reply}"
    );
    reply
}

async fn malformed_bodies_are_errors_in_the_envelope(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    let deeply_nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"null".to_vec(),
        b"42".to_vec(),
        b"\"getSerial\"".to_vec(),
        b"[]".to_vec(),
        br#"[{"command": "getSerial"}]"#.to_vec(),
        b"{".to_vec(),
        br#"{"command": "#.to_vec(),
        br#"{"command": "getSerial"} trailing"#.to_vec(),
        b"{}".to_vec(),
        br#"{"command": null}"#.to_vec(),
        b"\xff\xfe{}".to_vec(),
        b"\xef\xbb\xbf{\"command\": \"getSerial\"}".to_vec(),
        deeply_nested.into_bytes(),
    ];

    for body in bodies {
        let reply = failed(&openkj, body.clone()).await;
        assert!(
            reply.get("command").is_none(),
            "nothing to echo for {:?}: {reply}",
            String::from_utf8_lossy(&body)
        );
    }
    let numeric = failed(&openkj, br#"{"command": 5}"#.to_vec()).await;
    assert_eq!(numeric["command"], 5);
    let long_name = "x".repeat(100_000);
    let unknown = failed(&openkj, qt_json(&json!({"command": long_name}))).await;
    assert_eq!(unknown["command"], long_name.as_str());
}

async fn wrong_field_types_are_refused_naming_the_field(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    let cases = [
        ("getSerial", json!({"api_key": 12345}), "api_key"),
        ("getRequests", json!({"venue_id": "0"}), "venue_id"),
        ("getRequests", json!({"venue_id": 1.5}), "venue_id"),
        (
            "getRequests",
            json!({"venue_id": 2_147_483_648_i64}),
            "venue_id",
        ),
        ("getRequests", json!({"venue_id": 1e300}), "venue_id"),
        ("getRequests", json!({}), "venue_id"),
        (
            "setAccepting",
            json!({"accepting": 1, "venue_id": 0}),
            "accepting",
        ),
        (
            "setAccepting",
            json!({"accepting": "true", "venue_id": 0}),
            "accepting",
        ),
        (
            "setAccepting",
            json!({"accepting": true, "system_id": 0, "venue_id": 0}),
            "system_id",
        ),
        (
            "deleteRequest",
            json!({"request_id": "7", "venue_id": 0}),
            "request_id",
        ),
        ("deleteRequest", json!({"venue_id": 0}), "request_id"),
        (
            "addSongs",
            json!({"songs": "Queen", "system_id": 1}),
            "songs",
        ),
        ("addSongs", json!({"system_id": 1}), "songs"),
        (
            "addSongs",
            json!({"songs": [], "system_id": -4}),
            "system_id",
        ),
        (
            "addRequest",
            json!({"artist": "A", "singer": "S", "title": "T", "venue_id": 0, "key_change": 13}),
            "key_change",
        ),
    ];

    for (command, fields, field) in cases {
        let mut body = fields;
        if body.get("api_key").is_none() {
            body["api_key"] = json!(host.key);
        }
        body["command"] = json!(command);
        let reply = failed(&openkj, qt_json(&body)).await;
        assert_eq!(reply["command"], command);
        let message = reply["errorString"].as_str().unwrap();
        assert!(message.contains(field), "{command}: {message}");
    }
    let empty_batch = openkj
        .ok("addSongs", json!({"songs": [], "system_id": 1}))
        .await;
    assert_eq!(empty_batch["added"], 0);
}

async fn body_over_sixteen_mebibytes_is_an_error_not_a_413(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    let filler = "x".repeat(17 * 1024 * 1024);
    let huge = qt_json(&json!({"api_key": host.key, "command": "addSongs", "filler": filler}));

    let reply = failed(&openkj, huge).await;

    assert!(
        reply["errorString"].as_str().unwrap().contains("exceeds"),
        "{reply}"
    );
    let big_but_allowed: Vec<Value> = (0..20_000)
        .map(|i| json!({"artist": format!("Artist {i}"), "title": "x".repeat(200)}))
        .collect();
    let reply = openkj
        .ok(
            "addSongs",
            json!({"songs": big_but_allowed, "system_id": 1}),
        )
        .await;
    assert_eq!(reply["added"], 20_000);
}

async fn each_command_needs_its_scope_and_the_key_needs_the_endpoint_scopes(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let minimal = Host::with_scopes(&app, &["requests:write", "songdb:read"]).await;
    let no_requests = Host::with_scopes(&app, &["songdb:write", "venues:write"]).await;
    let openkj = minimal.openkj(&app);
    let narrow = no_requests.openkj(&app);

    let venues = openkj.refused("getVenues", json!({})).await;
    let accepting = openkj
        .refused("setAccepting", json!({"accepting": true, "venue_id": 0}))
        .await;
    let upload = openkj
        .refused("addSongs", json!({"songs": [], "system_id": 1}))
        .await;
    let serial = narrow.refused("getSerial", json!({})).await;

    assert!(venues.contains("venues:read"), "{venues}");
    assert!(accepting.contains("venues:write"), "{accepting}");
    assert!(upload.contains("songdb:write"), "{upload}");
    assert!(serial.contains("requests:write"), "{serial}");
    assert_ne!(openkj.serial().await, 0);
    openkj.requests(0).await;
}

async fn alert_warns_once_about_missing_scopes_and_near_expiry(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let narrow = Host::with_scopes(&app, &["requests:write", "songdb:read"]).await;
    let expires_at = (app.clock_now() + time::Duration::days(3))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let expiring = app
        .create_key(
            &narrow.customer,
            json!({"name": "OpenKJ", "scopes": ["requests:write", "venues:write", "songdb:write"], "expiresAt": expires_at}),
        )
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();

    let first = narrow.openkj(&app).ok("getAlert", json!({})).await;
    let second = narrow.openkj(&app).ok("getAlert", json!({})).await;
    let expiry = OpenKj::new(&app, &expiring).ok("getAlert", json!({})).await;

    assert_eq!(first["alert"], true);
    assert!(
        first["message"].as_str().unwrap().contains("venues:write"),
        "{first}"
    );
    assert_eq!(second["alert"], false, "shown once");
    assert_eq!(expiry["alert"], true);
    assert!(
        expiry["title"].as_str().unwrap().contains("expires"),
        "{expiry}"
    );
}

async fn spent_command_budget_is_an_error_and_uploads_keep_their_own(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |settings| {
        settings.openkj.commands_per_minute = 3;
        settings.openkj.upload_burst = 2;
    })
    .await
    else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    for _ in 0..3 {
        openkj.serial().await;
    }

    let polling = openkj.refused("getSerial", json!({})).await;
    openkj
        .ok("addSongs", json!({"songs": [], "system_id": 1}))
        .await;
    openkj.ok("clearDatabase", json!({"system_id": 1})).await;
    let upload = openkj
        .refused("addSongs", json!({"songs": [], "system_id": 1}))
        .await;

    assert!(polling.contains("Rate limit"), "{polling}");
    assert!(upload.contains("upload"), "{upload}");
}

async fn two_customers_with_venue_zero_never_see_each_other(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let alice_host = Host::new(&app).await;
    let bob_host = Host::new(&app).await;
    let (alice, bob) = (alice_host.openkj(&app), bob_host.openkj(&app));
    assert_eq!((alice_host.venue, bob_host.venue), (0, 0));
    let open = json!({"accepting": true, "system_id": 1, "venue_id": 0});
    alice.ok("setAccepting", open).await;
    let bob_serial = bob.serial().await;
    let request = crate::openkj_client::sing_ok(&app, &alice_host.url_name, "Ann", "A", "B").await;
    alice
        .upload(1, &[("Queen".to_owned(), "Bohemian Rhapsody".to_owned())])
        .await;

    bob.ok(
        "deleteRequest",
        json!({"request_id": request, "venue_id": 0}),
    )
    .await;
    bob.ok("clearRequests", json!({"venue_id": 0})).await;

    assert!(bob.requests(0).await.is_empty());
    assert_eq!(bob.venues().await[0]["accepting"], false);
    assert_eq!(
        bob.ok("getSongs", json!({"system_id": 1})).await["total"],
        0
    );
    assert_eq!(bob.serial().await, bob_serial);
    assert_eq!(alice.requests(0).await.len(), 1);
    let bob_peeks = app
        .get(
            &format!(
                "/v1/customer/venues/{}",
                venue_uuid(&app, &alice_host).await
            ),
            &bob_host.customer,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(bob_peeks.status(), reqwest::StatusCode::NOT_FOUND);
}

async fn venue_uuid(app: &crate::support::TestApp, host: &Host) -> String {
    let venues: Value = app
        .get("/v1/customer/venues", &host.customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    venues["data"][0]["id"].as_str().unwrap().to_owned()
}

/// 500 singers submit through the public API while the host deletes and clears through
/// OpenKJ: every accepted request is afterwards queued or in the history (never both,
/// never neither) and the serial moved. At most 50 submissions are in flight at once —
/// far more than the database pool serves, so writes interleave, while the outcome
/// never depends on how long the pool makes callers wait.
async fn singer_submissions_racing_deletes_and_clears_lose_nothing(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |settings| {
        settings.public.submissions_per_minute = 100_000;
        settings.openkj.commands_per_minute = 100_000;
    })
    .await
    else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    openkj
        .ok(
            "setAccepting",
            json!({"accepting": true, "system_id": 1, "venue_id": 0}),
        )
        .await;
    let start = openkj.serial().await;

    let submissions = stream::iter(0..500)
        .map(|i| {
            let body =
                json!({"singer": format!("Singer {i}"), "artist": "ABBA", "title": "Waterloo"});
            sing(&app, &host.url_name, body)
        })
        .buffer_unordered(50)
        .collect::<Vec<_>>();
    let host_actions = async {
        for round in 0..20 {
            openkj.ok("clearRequests", json!({"venue_id": 0})).await;
            for id in 1..=3 {
                let request = json!({"request_id": round * 25 + id, "venue_id": 0});
                openkj.ok("deleteRequest", request).await;
            }
        }
    };
    let (responses, ()) = futures::join!(submissions, host_actions);

    let mut accepted = HashSet::new();
    for response in responses {
        assert_eq!(response.status(), reqwest::StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        accepted.insert(body["requestId"].as_i64().unwrap());
    }
    let queued: HashSet<i64> = openkj
        .requests(0)
        .await
        .iter()
        .map(|r| int32(&r["request_id"]))
        .collect();
    let id = venue_uuid(&app, &host).await;
    let mut processed = HashSet::new();
    for page in 1..=5 {
        let history: Value = app
            .get(
                &format!(
                    "/v1/customer/venues/{id}/requests?status=processed&page={page}&limit=100"
                ),
                &host.customer,
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for request in history["data"].as_array().unwrap() {
            processed.insert(request["requestId"].as_i64().unwrap());
        }
    }
    assert_eq!(accepted.len(), 500, "request ids are unique");
    assert!(queued.is_disjoint(&processed));
    assert_eq!(&queued | &processed, accepted);
    assert_ne!(openkj.serial().await, start);
}
