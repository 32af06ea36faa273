//! What every handler and extractor can reach: the services, the JWT verifier, the
//! readiness probe and the HTTP limits. Built once by the binary (or a test) and shared
//! by all workers as `web::Data<AppState>`.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::client_ip::TrustedProxies;
use async_trait::async_trait;
use keyward_domain::ports::StorageError;
use keyward_domain::services::{
    ApiKeyService, AuditTrail, KaraokeServices, SignInLinkService, UsageService, VaultService,
};

use crate::auth::jwt::{JwtSettings, JwtVerifier};
use crate::budget::FailedVerifications;
use crate::extract::BodyLimit;
use crate::metrics::Metrics;
use crate::openkj::{OpenKjLimiter, OpenKjLimits};
use crate::pages::dashboard::DashboardKeys;
use crate::public::{CorsOrigins, PublicLimiter, PublicLimits};
use crate::rate_limit::RotationLimiter;
use crate::vault::InternalServiceKey;

/// Answers `GET /ready`: can the service reach what it depends on? Implemented by the
/// binary over its storage adapter, so this crate never depends on a database driver.
#[async_trait]
pub trait ReadinessCheck: Send + Sync {
    /// # Errors
    /// Any `StorageError` means "not ready"; it is logged, never shown to the caller.
    async fn check(&self) -> Result<(), StorageError>;
}

/// A readiness check that always passes (for stores without a connection, e.g. memory).
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysReady;

#[async_trait]
impl ReadinessCheck for AlwaysReady {
    async fn check(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

/// Default of `auth.failed_per_minute` (SPEC §7).
pub const DEFAULT_FAILED_PER_MINUTE: NonZeroU32 = match NonZeroU32::new(60) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};

/// How often [`AppState::sweep_budgets`] should run.
pub const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// The shared state of the HTTP layer.
pub struct AppState {
    pub api_keys: ApiKeyService,
    /// Reads the per-key usage counts (SPEC §12).
    pub usage: UsageService,
    /// Lists the audit events (SPEC §12); the services write them.
    pub audit: AuditTrail,
    /// Venues, song books, requests and the OpenKJ endpoint's rules.
    pub karaoke: KaraokeServices,
    /// Per-key budgets of the OpenKJ endpoint (commands, song uploads).
    pub openkj_limiter: OpenKjLimiter,
    /// Per-client-IP budgets of the public singer API.
    pub public_limiter: PublicLimiter,
    /// Origins whose pages may call the public API (`public.cors_origins`).
    pub public_cors_origins: CorsOrigins,
    pub jwt: JwtVerifier,
    /// What the dashboard signs and derives from the JWT secret (SPEC §15).
    pub dashboard: DashboardKeys,
    pub readiness: Arc<dyn ReadinessCheck>,
    pub rotation_limiter: RotationLimiter,
    /// Failed key verifications per client IP (SPEC §7, `auth.failed_per_minute`).
    pub failed_verifications: FailedVerifications,
    /// Whose `X-Forwarded-For` names the client (`server.trusted_proxies`).
    pub trusted_proxies: TrustedProxies,
    /// Limit for JSON bodies of the customer API (`server.max_body_bytes`).
    pub body_limit: BodyLimit,
    /// The credentials vault; `None` without a master key (vault routes answer 503).
    pub vault: Option<VaultService>,
    /// One-time dashboard sign-in links (SPEC §15); `None` where storage has none wired.
    pub sign_in_links: Option<SignInLinkService>,
    /// `internal.service_key`; `None` disables the internal endpoint (503).
    pub internal_service_key: Option<InternalServiceKey>,
    /// What `GET /metrics` shows (SPEC §14).
    pub metrics: Metrics,
    /// Set when a stop was asked for: `/ready` answers 503 and every response closes
    /// its connection (see [`AppState::begin_draining`]).
    draining: AtomicBool,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("api_keys", &self.api_keys)
            .field("karaoke", &self.karaoke)
            .field("jwt", &self.jwt)
            .field("body_limit", &self.body_limit)
            .field("vault", &self.vault)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State with the defaults of SPEC §6 and §8-§9: 64 KiB bodies, 5 rotations per
    /// customer per hour, the default OpenKJ and public-API budgets, always ready.
    pub fn new(
        api_keys: ApiKeyService,
        usage: UsageService,
        audit: AuditTrail,
        karaoke: KaraokeServices,
        jwt: &JwtSettings,
    ) -> Self {
        Self {
            api_keys,
            usage,
            audit,
            karaoke,
            openkj_limiter: OpenKjLimiter::new(OpenKjLimits::default()),
            public_limiter: PublicLimiter::new(PublicLimits::default()),
            public_cors_origins: CorsOrigins::None,
            jwt: JwtVerifier::new(jwt),
            dashboard: DashboardKeys::new(jwt),
            readiness: Arc::new(AlwaysReady),
            rotation_limiter: RotationLimiter::default(),
            failed_verifications: FailedVerifications::new(DEFAULT_FAILED_PER_MINUTE),
            trusted_proxies: TrustedProxies::default(),
            body_limit: BodyLimit::default(),
            vault: None,
            sign_in_links: None,
            internal_service_key: None,
            metrics: Metrics::new(),
            draining: AtomicBool::new(false),
        }
    }

    /// Starts the drain before a stop: from now on `/ready` answers 503 and every
    /// response carries `Connection: close`, so load balancers stop routing here and
    /// keep-alive clients leave after their answer, while requests are still served.
    pub fn begin_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Whether [`Self::begin_draining`] was called.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    #[must_use]
    pub fn with_readiness(mut self, readiness: Arc<dyn ReadinessCheck>) -> Self {
        self.readiness = readiness;
        self
    }

    /// Lets the dashboard redeem one-time sign-in links.
    #[must_use]
    pub fn with_sign_in_links(mut self, links: SignInLinkService) -> Self {
        self.sign_in_links = Some(links);
        self
    }

    /// Enables the credentials vault.
    #[must_use]
    pub fn with_vault(mut self, vault: VaultService) -> Self {
        self.vault = Some(vault);
        self
    }

    /// Replaces the metrics (to add scrape-time sources or a bearer token).
    #[must_use]
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Enables `GET /internal/service-keys/{provider}/decrypt` for callers presenting `key`.
    #[must_use]
    pub fn with_internal_service_key(mut self, key: InternalServiceKey) -> Self {
        self.internal_service_key = Some(key);
        self
    }

    #[must_use]
    pub fn with_openkj_limits(mut self, limits: OpenKjLimits) -> Self {
        self.openkj_limiter = OpenKjLimiter::new(limits);
        self
    }

    /// Lets pages of `origins` call the public singer API (SPEC §8).
    #[must_use]
    pub fn with_public_cors_origins(mut self, origins: CorsOrigins) -> Self {
        self.public_cors_origins = origins;
        self
    }

    #[must_use]
    pub fn with_public_limits(mut self, limits: PublicLimits) -> Self {
        self.public_limiter = PublicLimiter::new(limits);
        self
    }

    /// Believes `X-Forwarded-For` from these proxies (see [`crate::client_ip`]).
    #[must_use]
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// Allows `per_minute` failed key verifications per client IP.
    #[must_use]
    pub fn with_failed_verifications_per_minute(mut self, per_minute: NonZeroU32) -> Self {
        self.failed_verifications = FailedVerifications::new(per_minute);
        self
    }

    /// Forgets what the budgets keep for clients whose budgets have refilled, and the
    /// OpenKJ alerts shown long ago. Run on a timer ([`SWEEP_INTERVAL`]) so memory stays
    /// bounded without any request paying for it.
    pub fn sweep_budgets(&self) {
        self.openkj_limiter.sweep();
        self.public_limiter.sweep();
        self.rotation_limiter.sweep();
        self.failed_verifications.sweep();
        self.karaoke.openkj.forget_old_alerts();
    }

    #[must_use]
    pub fn with_body_limit(mut self, max_body_bytes: usize) -> Self {
        self.body_limit = BodyLimit(max_body_bytes);
        self
    }
}

/// Usage queries over an empty in-memory store (unit tests of the HTTP layer).
#[cfg(test)]
pub(crate) fn memory_usage() -> UsageService {
    let store = Arc::new(keyward_store_memory::MemoryStore::new());
    UsageService::new(
        store.clone(),
        store.clone(),
        store,
        Arc::new(keyward_domain::ports::SystemClock),
    )
}

/// An audit trail over an empty in-memory store (unit tests of the HTTP layer).
#[cfg(test)]
pub(crate) fn memory_audit() -> AuditTrail {
    AuditTrail::new(
        Arc::new(keyward_store_memory::MemoryStore::new()),
        Arc::new(keyward_domain::ports::SystemClock),
    )
}

/// Karaoke services over a fresh in-memory store, for unit tests that need an
/// [`AppState`] but never reach venues, song books or requests.
#[cfg(test)]
pub(crate) fn memory_karaoke() -> KaraokeServices {
    KaraokeServices::new(
        Arc::new(keyward_store_memory::MemoryStore::new()),
        Arc::new(keyward_domain::ports::SystemClock),
        memory_audit(),
        keyward_domain::services::OpenKjPolicy::default(),
    )
}
