//! Log hygiene of the credentials vault: while secrets are stored, replaced, revealed to
//! integrations and internal services, and refused to the wrong callers, nothing the
//! service logs contains a secret, the master key or the internal service key — but every
//! plaintext read leaves an audit event.
//! Everything the service emits, down to TRACE, is captured into a buffer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code, unused_imports, unused_macros)]
#[path = "api/support.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use keyward::settings::LogFormat;
use keyward_http::auth::ActiveContext;
use serde_json::{Value, json};
use tracing_subscriber::EnvFilter;
use uuid::Uuid;

use support::{Backend, Customer, claims_for, sign, spawn_app_with};

const MASTER_KEY: &str = "9d4b2f6e8a0c1e3d5f7a9b1c3e5d7f9a0b2c4e6d8f0a1c3e5b7d9f2a4c6e8b0d";
const SERVICE_KEY: &str = "internal-service-key-never-logged-0123456789";
const CUSTOMER_SECRET: &str = "sk-proj-customer-secret-never-logged-1111";
const REPLACEMENT_SECRET: &str = "sk-proj-replacement-never-logged-2222";
const PLATFORM_SECRET: &str = "sk-ant-platform-secret-never-logged-3333";

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
        "trace,keyward::audit=trace,keyward=trace,keyward_http=trace,keyward_domain=trace",
    );
    let writer = capture.clone();
    let subscriber =
        keyward::telemetry::subscriber(filter, LogFormat::Json, move || writer.clone(), false);
    tracing::subscriber::set_global_default(subscriber).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_logs_never_contain_secrets_but_audit_every_reveal() {
    let capture = Capture::default();
    install(&capture);
    let mut app = spawn_app_with(Backend::Memory, |settings| {
        settings.vault.master_key = Some(MASTER_KEY.to_owned());
        settings.internal.service_key = Some(SERVICE_KEY.to_owned());
    })
    .await
    .unwrap();
    let customer =
        Customer::with_permissions(&["api_keys:write", "service_keys:read", "service_keys:write"]);
    let admin_id = Uuid::new_v4();
    let admin = Customer {
        id: admin_id,
        token: sign(&claims_for(ActiveContext::admin(admin_id), &[])),
    };
    let put = |secret: &'static str| {
        app.client
            .put(app.url("/v1/customer/service-keys/openai"))
            .bearer_auth(&customer.token)
            .json(&json!({"secret": secret}))
            .send()
    };
    put(CUSTOMER_SECRET).await.unwrap();
    put(REPLACEMENT_SECRET).await.unwrap();
    let api_key = app
        .create_key_with_scopes(&customer, &["secrets:read"])
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let revealed: Value = app
        .client
        .get(app.url("/v1/validate/keys/openai"))
        .header("X-API-Key", &api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(revealed["secret"], REPLACEMENT_SECRET);
    app.post("/v1/admin/service-keys", &admin)
        .json(&json!({"provider": "anthropic", "name": "Prod", "secret": PLATFORM_SECRET}))
        .send()
        .await
        .unwrap();
    for presented in [SERVICE_KEY, "internal-service-key-never-logged-0123456780"] {
        app.client
            .get(app.url("/internal/service-keys/anthropic/decrypt"))
            .header("X-Service-Key", presented)
            .send()
            .await
            .unwrap();
    }
    app.stop().await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("request completed"),
        "nothing was captured:\n{logs}"
    );
    for secret in [
        CUSTOMER_SECRET,
        REPLACEMENT_SECRET,
        PLATFORM_SECRET,
        MASTER_KEY,
        SERVICE_KEY,
    ] {
        assert!(!logs.contains(secret), "a secret was logged");
    }
    assert!(
        !logs.contains("never-logged"),
        "part of a secret was logged"
    );
    let reveals: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("audit event") && line.contains("service_key.revealed"))
        .collect();
    assert!(
        reveals
            .iter()
            .any(|line| line.contains(&customer.id.to_string())),
        "the customer reveal was not audited:\n{logs}"
    );
    assert!(
        reveals.iter().any(|line| line.contains("platform")),
        "the internal reveal was not audited:\n{logs}"
    );
    assert!(
        logs.contains("internal_authentication_failed"),
        "the wrong service key was not audited:\n{logs}"
    );
}
