//! Log hygiene (SPEC §2): while the service handles keys and tokens — valid, invalid,
//! rotated, refused, in headers and in OpenKJ request bodies — nothing it logs contains
//! an API key, a key hash or a JWT, on SQLite and on PostgreSQL (whose driver logs
//! query parameters at DEBUG). Everything the process emits, every target down to
//! TRACE, `log` records included, is captured into a buffer through the service's own
//! subscriber.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code, unused_imports, unused_macros)]
#[path = "api/support.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use keyward::settings::LogFormat;
use keyward_domain::keys::{KeyPrefix, PlainKey};
use serde_json::{Value, json};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::util::SubscriberInitExt;

use support::{Backend, Customer, spawn_app};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install(capture: &Capture) {
    let writer = capture.clone();
    let subscriber = keyward::telemetry::subscriber(
        EnvFilter::new("trace"),
        LogFormat::Json,
        move || writer.clone(),
        false,
    );
    // As `keyward serve` does: also routes `log` records (the PostgreSQL driver's).
    subscriber.try_init().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_contain_keys_hashes_or_tokens() {
    let capture = Capture::default();
    install(&capture);
    let mut hashes = Vec::new();
    let mut secrets = Vec::new();
    let mut signatures = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(mut app) = spawn_app(backend).await else {
            continue;
        };
        let (used, token) = exercise(&app).await;
        app.stop().await;
        let prefix = KeyPrefix::default();
        for key in &used {
            if let Ok(parsed) = PlainKey::parse(key, &prefix) {
                hashes.push(parsed.hash().to_hex());
            }
        }
        secrets.extend(used);
        signatures.push(token.rsplit('.').next().unwrap().to_owned());
    }

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("request completed"),
        "nothing was captured:\n{logs}"
    );
    assert!(
        logs.contains("\"request_id\""),
        "requests carry no id:\n{logs}"
    );
    for hash in &hashes {
        for rendering in renderings(hash) {
            assert!(
                !logs.contains(&rendering),
                "a key hash was logged: {rendering}"
            );
        }
    }
    for secret in &secrets {
        // The part after the display prefix is what must never appear.
        let tail = &secret[secret.len() - 20..];
        assert!(!logs.contains(tail), "a secret was logged");
    }
    for signature in &signatures {
        assert!(!logs.contains(signature.as_str()), "a JWT was logged");
    }
}

/// The ways a hash can show up in a log line: as hex text, and as the byte lists a
/// driver's `Debug` of its encoded parameters prints (the hex text's bytes, the raw
/// digest's bytes). A window of 16 bytes is long enough to be unmistakable.
fn renderings(hex: &str) -> Vec<String> {
    let bytes_of = |bytes: &[u8]| {
        bytes[..16]
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let raw: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    vec![hex.to_owned(), bytes_of(hex.as_bytes()), bytes_of(&raw)]
}

/// Creates, validates, rotates, tampers with and revokes keys, refuses a forged token
/// and speaks OpenKJ; returns every key it used and the customer's token.
async fn exercise(app: &support::TestApp) -> (Vec<String>, String) {
    let customer = Customer::new();
    let mut secrets: Vec<String> = vec![customer.token.clone()];
    let created = app
        .create_key_with_scopes(&customer, &["venues:read"])
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    secrets.push(created["key"].as_str().unwrap().to_owned());
    app.validate(created["key"].as_str().unwrap()).await;
    app.validate_scope(created["key"].as_str().unwrap(), "songdb:write")
        .await;
    let rotated: Value = app
        .rotate(&customer, &id, Some(json!({"gracePeriodSeconds": 60})))
        .await
        .json()
        .await
        .unwrap();
    secrets.push(rotated["key"].as_str().unwrap().to_owned());
    app.validate(rotated["key"].as_str().unwrap()).await;
    let tampered = format!("{}x", rotated["key"].as_str().unwrap());
    app.validate(&tampered).await;
    secrets.push(tampered);
    let foreign_token = format!("{}.garbage", customer.token);
    app.client
        .get(app.url("/v1/customer/api-keys"))
        .bearer_auth(&foreign_token)
        .send()
        .await
        .unwrap();
    // OpenKJ sends its key in the JSON body: valid, wrong and refused-for-scope.
    for (key, command) in [
        (rotated["key"].as_str().unwrap(), "getSerial"),
        (rotated["key"].as_str().unwrap(), "addSongs"),
        (secrets.last().unwrap().as_str(), "getVenues"),
    ] {
        app.client
            .post(app.url("/openkj/api"))
            .json(&json!({"api_key": key, "command": command, "songs": []}))
            .send()
            .await
            .unwrap();
    }
    app.post(&format!("/v1/customer/api-keys/{id}/revoke"), &customer)
        .send()
        .await
        .unwrap();
    app.validate(rotated["key"].as_str().unwrap()).await;
    app.flush_usage().await;
    (secrets, customer.token)
}
