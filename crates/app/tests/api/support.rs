//! `spawn_app`: the real application (same wiring as `keyward serve`) on port 0 over a
//! chosen storage backend, with a clock the test controls, plus helpers that speak HTTP
//! to it the way a client would.

use std::sync::{Arc, Mutex};

use keyward::{Application, Settings, Wiring};
use keyward_domain::ports::{
    AlertRepository, ApiKeyRepository, AuditLog, ChangeFeed, ClientAddressRepository, Clock,
    CredentialRepository, OpenKjStore, SignInLinkRepository, UsageRepository, truncate_to_micros,
};
use keyward_http::auth::{ActiveContext, Claims, JwtSecret, JwtSettings, JwtSigner};
use keyward_http::metrics::MetricsSource;
use keyward_http::{AlwaysReady, ReadinessCheck};
use keyward_store_diesel::testing::TestDatabase;
use keyward_store_memory::MemoryStore;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// The secret every test app verifies tokens with.
pub const SECRET: &[u8] = b"test secret of at least thirty-two bytes";

/// Every customer-API permission about keys.
pub const KEY_PERMISSIONS: &[&str] = &["api_keys:read", "api_keys:write", "api_keys:revoke"];

/// Which storage the app runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Sqlite,
    Postgres,
}

/// A clock that stands still until the test moves it.
#[derive(Debug)]
pub struct TestClock(Mutex<OffsetDateTime>);

impl TestClock {
    fn starting_now() -> Self {
        Self(Mutex::new(truncate_to_micros(OffsetDateTime::now_utc())))
    }

    pub fn advance(&self, by: time::Duration) {
        let mut now = self.0.lock().unwrap();
        *now += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// A running app and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: Arc<TestClock>,
    /// The store behind the app, to check what was persisted after it stopped.
    pub keys: Arc<dyn ApiKeyRepository>,
    /// The usage counts behind the app, to check what was persisted after it stopped.
    pub usage: Arc<dyn UsageRepository>,
    flusher: keyward::usage_flush::UsageFlusher,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), keyward::AppError>>>,
    /// The URL of the app's database (`None` on the memory backend), for a second
    /// process — the `keyward` CLI — to work on.
    pub database_url: Option<String>,
    /// Keeps a test database alive until the app is dropped.
    _database: Option<TestDatabase>,
}

/// Settings every test app starts from: built-in defaults, port 0, one worker.
pub fn test_settings() -> Settings {
    let mut settings = Settings::built_in().unwrap();
    settings.server.port = 0;
    settings.server.workers = 1;
    settings.server.shutdown_timeout_seconds = 5;
    // Tests that stop an app under load set their own drain.
    settings.server.drain_seconds = 0;
    // Usage is written only when a test asks (`flush_usage`), never behind its back.
    settings.usage.flush_interval_seconds = 3600;
    settings
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    spawn(backend, adjust, None).await
}

pub async fn spawn_app_with_readiness(
    backend: Backend,
    readiness: Arc<dyn ReadinessCheck>,
) -> Option<TestApp> {
    spawn(backend, |_| {}, Some(readiness)).await
}

/// The ports the app runs on, all backed by one store.
struct Stores {
    keys: Arc<dyn ApiKeyRepository>,
    usage: Arc<dyn UsageRepository>,
    alerts: Arc<dyn AlertRepository>,
    client_addresses: Arc<dyn ClientAddressRepository>,
    audit: Arc<dyn AuditLog>,
    credentials: Arc<dyn CredentialRepository>,
    openkj: Arc<dyn OpenKjStore>,
    sign_in_links: Arc<dyn SignInLinkRepository>,
    changes: Arc<dyn ChangeFeed>,
    readiness: Arc<dyn ReadinessCheck>,
    metrics: Vec<Arc<dyn MetricsSource>>,
}

impl Stores {
    fn memory() -> Self {
        let memory = Arc::new(MemoryStore::new());
        Self {
            keys: memory.clone(),
            usage: memory.clone(),
            alerts: memory.clone(),
            client_addresses: memory.clone(),
            audit: memory.clone(),
            credentials: memory.clone(),
            openkj: memory.clone(),
            sign_in_links: memory.clone(),
            changes: memory,
            readiness: Arc::new(AlwaysReady),
            metrics: Vec::new(),
        }
    }

    /// The ports as `keyward serve` wires them (`storage::wiring`).
    fn diesel(store: keyward_store_diesel::DieselStore) -> Self {
        let wiring = keyward::storage::wiring(store);
        Self {
            keys: wiring.keys,
            usage: wiring.usage,
            alerts: wiring.alerts,
            client_addresses: wiring.client_addresses,
            audit: wiring.audit,
            credentials: wiring.credentials,
            openkj: wiring.openkj,
            sign_in_links: wiring.sign_in_links,
            changes: wiring.changes,
            readiness: wiring.readiness,
            metrics: wiring.metrics,
        }
    }
}

async fn spawn(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
    readiness: Option<Arc<dyn ReadinessCheck>>,
) -> Option<TestApp> {
    let database = match backend {
        Backend::Memory => None,
        Backend::Sqlite => Some(TestDatabase::sqlite()),
        // `None` (and a loud SKIPPED line) when no PostgreSQL is reachable outside CI.
        Backend::Postgres => Some(TestDatabase::postgres().await?),
    };
    let stores = match &database {
        None => Stores::memory(),
        Some(database) => Stores::diesel(database.migrated_store().await),
    };
    Some(start(stores, adjust, readiness, database))
}

/// Two instances of the app on one database (each with its own pool and caches), as two
/// servers behind a load balancer run; `None` on the memory backend, or when PostgreSQL is
/// not reachable outside CI.
pub async fn spawn_pair(backend: Backend) -> Option<(TestApp, TestApp)> {
    let database = match backend {
        Backend::Memory => return None,
        Backend::Sqlite => TestDatabase::sqlite(),
        Backend::Postgres => TestDatabase::postgres().await?,
    };
    let first = Stores::diesel(database.migrated_store().await);
    let second = Stores::diesel(database.migrated_store().await);
    let second = start(second, |_| {}, None, None);
    let first = start(first, |_| {}, None, Some(database));
    Some((first, second))
}

fn start(
    stores: Stores,
    adjust: impl FnOnce(&mut Settings),
    readiness: Option<Arc<dyn ReadinessCheck>>,
    database: Option<TestDatabase>,
) -> TestApp {
    let mut settings = test_settings();
    adjust(&mut settings);
    let Stores {
        keys,
        usage,
        alerts,
        client_addresses,
        audit,
        credentials,
        openkj,
        sign_in_links,
        changes,
        readiness: backend_readiness,
        metrics,
    } = stores;
    let readiness = readiness.unwrap_or(backend_readiness);
    let clock = Arc::new(TestClock::starting_now());
    let jwt = JwtSettings {
        secret: JwtSecret::new(SECRET.to_vec()),
        issuer: None,
        audience: None,
        leeway_seconds: keyward_http::auth::jwt::LEEWAY_SECONDS,
    };
    let wiring = Wiring {
        keys: keys.clone(),
        usage: usage.clone(),
        alerts,
        client_addresses,
        audit,
        credentials: credentials.clone(),
        openkj,
        sign_in_links,
        changes,
        readiness,
        clock: clock.clone(),
        metrics,
    };
    let application = Application::build(&settings, &jwt, wiring).unwrap();
    let address = format!("http://127.0.0.1:{}", application.port());
    let flusher = application.flusher();
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(application.run_until(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        client: reqwest::Client::new(),
        clock,
        keys,
        usage,
        flusher,
        shutdown: Some(shutdown),
        task: Some(task),
        database_url: database.as_ref().map(|database| database.url().to_owned()),
        _database: database,
    }
}

/// A customer and a token carrying the given permissions.
#[derive(Debug, Clone)]
pub struct Customer {
    pub id: Uuid,
    pub token: String,
}

pub fn sign(claims: &Claims) -> String {
    JwtSigner::new(&JwtSecret::new(SECRET.to_vec()))
        .sign(claims)
        .unwrap()
}

pub fn claims_for(context: ActiveContext, permissions: &[&str]) -> Claims {
    let now = jsonwebtoken::get_current_timestamp();
    Claims {
        sub: "user-1".into(),
        exp: now + 600,
        nbf: None,
        iat: Some(now),
        active_context: Some(context),
        permissions: permissions.iter().map(|&p| p.to_owned()).collect(),
        iss: None,
        aud: None,
    }
}

impl Customer {
    pub fn new() -> Self {
        Self::with_permissions(KEY_PERMISSIONS)
    }

    pub fn with_permissions(permissions: &[&str]) -> Self {
        let id = Uuid::new_v4();
        Self {
            id,
            token: sign(&claims_for(ActiveContext::customer(id), permissions)),
        }
    }
}

impl TestApp {
    /// What the service's clock reads now.
    pub fn clock_now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn get(&self, path: &str, customer: &Customer) -> RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(&customer.token)
    }

    pub fn post(&self, path: &str, customer: &Customer) -> RequestBuilder {
        self.client
            .post(self.url(path))
            .bearer_auth(&customer.token)
    }

    pub fn patch(&self, path: &str, customer: &Customer) -> RequestBuilder {
        self.client
            .patch(self.url(path))
            .bearer_auth(&customer.token)
    }

    pub fn delete(&self, path: &str, customer: &Customer) -> RequestBuilder {
        self.client
            .delete(self.url(path))
            .bearer_auth(&customer.token)
    }

    /// Creates a key and returns the 201 body (with `key`).
    pub async fn create_key(&self, customer: &Customer, body: Value) -> Value {
        let response = self
            .post("/v1/customer/api-keys", customer)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "create failed");
        response.json().await.unwrap()
    }

    /// Creates a key with a name and the given scopes.
    pub async fn create_key_with_scopes(&self, customer: &Customer, scopes: &[&str]) -> Value {
        self.create_key(customer, json!({"name": "Integration", "scopes": scopes}))
            .await
    }

    pub async fn validate(&self, key: &str) -> Response {
        self.client
            .get(self.url("/v1/validate"))
            .header("X-API-Key", key)
            .send()
            .await
            .unwrap()
    }

    pub async fn validate_scope(&self, key: &str, scope: &str) -> Response {
        self.client
            .get(self.url("/v1/validate"))
            .query(&[("scope", scope)])
            .header("X-API-Key", key)
            .send()
            .await
            .unwrap()
    }

    pub async fn rotate(&self, customer: &Customer, id: &str, body: Option<Value>) -> Response {
        let request = self.post(&format!("/v1/customer/api-keys/{id}/rotate"), customer);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        request.send().await.unwrap()
    }

    /// Rotates a key that must rotate (200) and returns the answer with the new `key`.
    pub async fn rotated(&self, customer: &Customer, id: &str, body: Option<Value>) -> Value {
        let response = self.rotate(customer, id, body).await;
        assert_eq!(
            response.status(),
            reqwest::StatusCode::OK,
            "rotation refused"
        );
        response.json().await.unwrap()
    }

    pub async fn flush_usage(&self) {
        self.flusher.flush().await.unwrap();
    }

    /// Runs the usage retention now (the service runs it hourly); returns the rows
    /// deleted.
    pub async fn delete_expired_usage(&self) -> u64 {
        self.flusher.delete_expired_counts().await.unwrap()
    }

    /// Runs the audit retention now (the service runs it hourly); returns the events
    /// deleted.
    pub async fn delete_expired_audit_events(&self) -> u64 {
        self.flusher.delete_expired_audit_events().await.unwrap()
    }

    /// Sends the stop signal (as SIGTERM does) without waiting for the stop.
    pub fn begin_stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    /// Stops the app the way SIGTERM does and waits for it to finish. The test database
    /// stays until `self` is dropped, so what was persisted can still be read.
    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Reads a problem+json error and checks its envelope.
pub async fn problem(response: Response, status: StatusCode, problem_type: &str) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], problem_type, "{body}");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert!(body["title"].is_string(), "{body}");
    assert!(body["detail"].is_string(), "{body}");
    body
}

/// A 429 `rate_limited` problem: its `Retry-After` in seconds (after checking that the
/// detail tells the same wait, `try again in 1 second` / `N seconds`) and its body.
pub async fn rate_limited(response: Response) -> (u64, Value) {
    let seconds: u64 = response
        .headers()
        .get("retry-after")
        .expect("a 429 carries Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let told = if seconds == 1 {
        "try again in 1 second".to_owned()
    } else {
        format!("try again in {seconds} seconds")
    };
    assert!(
        body["detail"].as_str().unwrap().ends_with(&told),
        "Retry-After: {seconds}, {body}"
    );
    (seconds, body)
}

/// Runs each listed scenario `async fn(Backend)` once per backend, as
/// `<module>::<backend>::<scenario>`.
macro_rules! on_every_backend {
    ($($scenario:ident),* $(,)?) => {
        $crate::support::on_every_backend!(@backend memory, Memory; $($scenario),*);
        $crate::support::on_every_backend!(@backend sqlite, Sqlite; $($scenario),*);
        $crate::support::on_every_backend!(@backend postgres, Postgres; $($scenario),*);
    };
    (@backend $module:ident, $backend:ident; $($scenario:ident),*) => {
        mod $module {
            $(
                // Multi-threaded: the Diesel store runs SQLite work on blocking threads.
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario($crate::support::Backend::$backend).await;
                }
            )*
        }
    };
}
pub(crate) use on_every_backend;
