//! Wires the running service: the API key service over the chosen storage, the HTTP
//! server, and the usage flusher; and stops them in order: stop accepting, finish
//! in-flight requests, then write the last usage batch.
//!
//! Storage, readiness and clock come in as [`Wiring`], so tests run exactly this code
//! over any store and with a clock they control.

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::web;
use keyward_cache::{CachedKeys, CachedOpenKj, Caches};
use keyward_domain::ports::{
    AlertRepository, ApiKeyRepository, AuditLog, ChangeFeed, ChangeSubscription,
    ClientAddressRepository, Clock, CredentialRepository, OpenKjStore, OsSecretGenerator,
    SignInLinkRepository, UsageRepository,
};
use keyward_domain::services::{
    ApiKeyService, AuditTrail, KaraokeServices, SignInLinkService, UsageService, VaultService,
};
use keyward_domain::usage::UsageBuffer;
use keyward_http::auth::JwtSettings;
use keyward_http::metrics::{Metrics, MetricsSource};
use keyward_http::state::SWEEP_INTERVAL;
use keyward_http::vault::InternalServiceKey;
use keyward_http::{AppState, ReadinessCheck, ServerOptions};
use tokio::sync::watch;

use crate::error::AppError;
use crate::metrics_sources::CacheMetrics;
use crate::settings::Settings;
use crate::tasks::TokioTasks;
use crate::usage_flush::UsageFlusher;
use crate::vault_keys;

/// What the service runs on, chosen by the caller.
pub struct Wiring {
    pub keys: Arc<dyn ApiKeyRepository>,
    /// Per-key daily verification counts (the same store as `keys`).
    pub usage: Arc<dyn UsageRepository>,
    /// Suspicious-activity alerts about keys (the same store as `keys`).
    pub alerts: Arc<dyn AlertRepository>,
    /// Audit events (the same store as `keys`).
    pub audit: Arc<dyn AuditLog>,
    /// The client addresses each key was used from (the same store as `keys`).
    pub client_addresses: Arc<dyn ClientAddressRepository>,
    /// Venues, song books, requests and the serial (the same store as `keys`).
    pub openkj: Arc<dyn OpenKjStore>,
    pub credentials: Arc<dyn CredentialRepository>,
    /// One-time dashboard sign-in links (the same store as `keys`, so every instance on
    /// the database redeems the same links).
    pub sign_in_links: Arc<dyn SignInLinkRepository>,
    /// The changes committed to the same store, for the caches (the same store again).
    pub changes: Arc<dyn ChangeFeed>,
    pub readiness: Arc<dyn ReadinessCheck>,
    pub clock: Arc<dyn Clock>,
    /// What `/metrics` reads of the storage when scraped (the pool, the build); the
    /// caches are added by [`Application::build`].
    pub metrics: Vec<Arc<dyn MetricsSource>>,
}

impl std::fmt::Debug for Wiring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wiring").finish_non_exhaustive()
    }
}

/// A bound, not yet running service.
pub struct Application {
    host: String,
    port: u16,
    server: Server,
    flusher: UsageFlusher,
    flush_interval: Duration,
    /// Keeps the caches fresh while the server runs; `None` with `cache.enabled = false`.
    changes: Option<ChangeSubscription>,
    /// The state every worker shares, for the budget sweeper and the drain.
    state: web::Data<AppState>,
    drain_period: Duration,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Binds `server.host:server.port` (port 0 picks a free one) and builds the server.
    /// With `cache.enabled`, key verification and OpenKJ serials are answered from memory
    /// in front of `wiring.keys` and `wiring.openkj`, kept fresh by `wiring.changes`
    /// (whose follower task is started here: call this inside a tokio runtime).
    ///
    /// # Errors
    /// Invalid key or vault settings, or the address cannot be bound.
    pub fn build(settings: &Settings, jwt: &JwtSettings, wiring: Wiring) -> Result<Self, AppError> {
        let audit = AuditTrail::new(wiring.audit.clone(), wiring.clock.clone())
            .with_task_runner(Arc::new(TokioTasks));
        let vault = vault_service(settings, &wiring, &audit)?;
        let mut metrics = Metrics::new();
        for source in &wiring.metrics {
            metrics = metrics.with_source(source.clone());
        }
        if let Some(token) = &settings.metrics.bearer_token {
            metrics = metrics.with_bearer_token(token);
        }
        let (keys, openkj, changes) = match settings.cache_options() {
            Some(options) => {
                let caches = Caches::new(options);
                metrics = metrics.with_source(Arc::new(CacheMetrics(caches.clone())));
                let keys: Arc<dyn ApiKeyRepository> =
                    Arc::new(CachedKeys::new(wiring.keys.clone(), &caches));
                let openkj: Arc<dyn OpenKjStore> =
                    Arc::new(CachedOpenKj::new(wiring.openkj.clone(), &caches));
                let changes = wiring.changes.subscribe(Arc::new(caches));
                (keys, openkj, Some(changes))
            }
            None => (wiring.keys.clone(), wiring.openkj.clone(), None),
        };
        let policy = settings.key_policy()?;
        let usage = Arc::new(UsageBuffer::new());
        let usage_queries = UsageService::new(
            keys.clone(),
            wiring.usage.clone(),
            wiring.alerts.clone(),
            wiring.clock.clone(),
        );
        let service = ApiKeyService::new(
            keys,
            wiring.clock.clone(),
            Arc::new(OsSecretGenerator::default()),
            usage.clone(),
            audit.clone(),
            policy,
        );
        let karaoke = KaraokeServices::new(
            openkj,
            wiring.clock.clone(),
            audit.clone(),
            settings.openkj_policy(),
        );
        let sign_in_links = sign_in_link_service(&wiring);
        let mut state = AppState::new(service, usage_queries, audit.clone(), karaoke, jwt)
            .with_sign_in_links(sign_in_links.clone())
            .with_readiness(wiring.readiness)
            .with_body_limit(settings.server.max_body_bytes)
            .with_openkj_limits(settings.openkj_limits())
            .with_public_limits(settings.public_limits())
            .with_public_cors_origins(settings.public_cors_origins()?)
            .with_failed_verifications_per_minute(settings.failed_per_minute())
            .with_trusted_proxies(settings.trusted_proxies()?)
            .with_metrics(metrics);
        if let Some(vault) = vault {
            state = state.with_vault(vault);
        }
        if let Some(key) = &settings.internal.service_key {
            state = state.with_internal_service_key(InternalServiceKey::new(key));
        }

        let address = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&address).map_err(|source| AppError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| AppError::Bind { address, source })?
            .port();
        let options = ServerOptions {
            workers: (settings.server.workers > 0).then_some(settings.server.workers),
            shutdown_timeout: settings.shutdown_timeout(),
        };
        let state = web::Data::new(state);
        let server = keyward_http::serve(listener, state.clone(), options).map_err(AppError::Io)?;
        Ok(Self {
            host: settings.server.host.clone(),
            port,
            server,
            flusher: UsageFlusher::new(
                usage,
                wiring.keys,
                wiring.usage,
                wiring.alerts,
                wiring.client_addresses,
                wiring.clock,
                settings.usage.retention_days,
            )
            .with_audit_retention(audit, settings.audit.retention_days)
            .with_sign_in_link_retention(sign_in_links),
            flush_interval: settings.flush_interval(),
            changes,
            state,
            drain_period: settings.drain_period(),
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Writes buffered usage on demand (tests; the service flushes by itself).
    pub fn flusher(&self) -> UsageFlusher {
        self.flusher.clone()
    }

    /// Stops the server from elsewhere.
    pub fn server_handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until `shutdown` completes, then drains for `server.drain_seconds` (`/ready`
    /// answers 503 and every response carries `Connection: close`, requests are still
    /// served), then stops gracefully: no new connections, in-flight requests finish (up
    /// to `server.shutdown_timeout_seconds`), idle connections are closed, and the
    /// buffered usage is written after the last request. The storage pools are owned by
    /// the caller's wiring and outlive this call, so they close last.
    ///
    /// # Errors
    /// The server failed while running.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), AppError> {
        tracing::info!(
            address = %format!("http://{}:{}", self.host, self.port),
            "keyward is listening"
        );
        let handle = self.server.handle();
        let mut server = tokio::spawn(self.server);
        let (stop_flusher, stop_signal) = watch::channel(false);
        let sweeper = tokio::spawn(sweep_budgets(self.state.clone(), stop_signal.clone()));
        let periodic = tokio::spawn(self.flusher.clone().run(self.flush_interval, stop_signal));

        let outcome = tokio::select! {
            finished = &mut server => finished,
            () = shutdown => {
                self.state.begin_draining();
                if !self.drain_period.is_zero() {
                    tracing::info!(
                        drain_seconds = self.drain_period.as_secs(),
                        "stopping: draining (ready is 503, connections close after their answer)"
                    );
                    tokio::time::sleep(self.drain_period).await;
                }
                tracing::info!("stopping: finishing in-flight requests");
                handle.stop(true).await;
                server.await
            }
        };

        let _ = stop_flusher.send(true);
        let _ = sweeper.await;
        let _ = periodic.await;
        self.flusher.flush_at_shutdown().await;
        drop(self.changes);
        tracing::info!("keyward stopped");
        match outcome {
            Ok(result) => result.map_err(AppError::Io),
            Err(join) => Err(AppError::Io(std::io::Error::other(join))),
        }
    }
}

/// Runs [`AppState::sweep_budgets`] every [`SWEEP_INTERVAL`] until `stop` turns true,
/// so what the rate limits remember about clients stays bounded with no request paying
/// for the clean-up.
async fn sweep_budgets(state: web::Data<AppState>, mut stop: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = ticks.tick() => state.sweep_budgets(),
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
    }
}

/// The dashboard's one-time sign-in links over the wired store (ADR 0062): redeemed by
/// the pages, their expired rows deleted by the flusher's retention.
fn sign_in_link_service(wiring: &Wiring) -> SignInLinkService {
    SignInLinkService::new(
        wiring.sign_in_links.clone(),
        wiring.clock.clone(),
        Arc::new(OsSecretGenerator::default()),
    )
}

/// The vault over the configured master key(s), or `None` (vault routes answer 503)
/// when none is configured.
fn vault_service(
    settings: &Settings,
    wiring: &Wiring,
    audit: &AuditTrail,
) -> Result<Option<VaultService>, AppError> {
    let Some(keys) = vault_keys::resolve(&settings.vault)? else {
        tracing::warn!(
            "the credentials vault is off: set vault.master_key or vault.master_key_file to enable it"
        );
        return Ok(None);
    };
    tracing::info!(
        key_version = %keys.current.version(),
        previous_key_version = keys.previous.as_ref().map(|k| k.version().to_string()),
        "credentials vault enabled"
    );
    Ok(Some(VaultService::new(
        wiring.credentials.clone(),
        Arc::new(keys.cipher()),
        wiring.clock.clone(),
        audit.clone(),
    )))
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM; only Ctrl-C stops keyward");
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
