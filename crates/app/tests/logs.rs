//! Log hygiene (SPEC §2): while the service handles keys and tokens — valid, invalid,
//! rotated, refused — nothing it logs contains an API key, a key hash or a JWT.
//! Everything the service emits, down to TRACE, is captured into a buffer.

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
    let filter = EnvFilter::new(
        "keyward=trace,keyward_http=trace,keyward_domain=trace,keyward_store_memory=trace,keyward_store_diesel=trace,diesel=trace,\
         actix_web=trace,actix_http=trace,actix_server=trace",
    );
    let writer = capture.clone();
    let subscriber =
        keyward::telemetry::subscriber(filter, LogFormat::Json, move || writer.clone(), false);
    tracing::subscriber::set_global_default(subscriber).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_contain_keys_hashes_or_tokens() {
    let capture = Capture::default();
    install(&capture);
    let mut app = spawn_app(Backend::Sqlite).await.unwrap();
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
    app.post(&format!("/v1/customer/api-keys/{id}/revoke"), &customer)
        .send()
        .await
        .unwrap();
    app.validate(rotated["key"].as_str().unwrap()).await;
    app.flush_usage().await;
    app.stop().await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("request completed"),
        "nothing was captured:\n{logs}"
    );
    assert!(
        logs.contains("\"request_id\""),
        "requests carry no id:\n{logs}"
    );
    let prefix = KeyPrefix::default();
    for key in [
        created["key"].as_str().unwrap(),
        rotated["key"].as_str().unwrap(),
    ] {
        let hash = PlainKey::parse(key, &prefix).unwrap().hash().to_hex();
        assert!(!logs.contains(&hash), "a key hash was logged");
    }
    for secret in &secrets {
        // The part after the display prefix is what must never appear.
        let tail = &secret[secret.len() - 20..];
        assert!(!logs.contains(tail), "a secret was logged");
    }
    let signature = customer.token.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature), "a JWT was logged");
}
