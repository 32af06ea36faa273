//! What every handler and extractor can reach: the services, the JWT verifier, the
//! readiness probe and the HTTP limits. Built once by the binary (or a test) and shared
//! by all workers as `web::Data<AppState>`.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use keyward_domain::ports::StorageError;
use keyward_domain::services::{ApiKeyService, VaultService};

use crate::auth::jwt::{JwtSettings, JwtVerifier};
use crate::extract::BodyLimit;
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

/// The shared state of the HTTP layer.
pub struct AppState {
    pub api_keys: ApiKeyService,
    pub jwt: JwtVerifier,
    pub readiness: Arc<dyn ReadinessCheck>,
    pub rotation_limiter: RotationLimiter,
    /// Limit for JSON bodies of the customer API (`server.max_body_bytes`).
    pub body_limit: BodyLimit,
    /// The credentials vault; `None` without a master key (vault routes answer 503).
    pub vault: Option<VaultService>,
    /// `internal.service_key`; `None` disables the internal endpoint (503).
    pub internal_service_key: Option<InternalServiceKey>,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("api_keys", &self.api_keys)
            .field("jwt", &self.jwt)
            .field("body_limit", &self.body_limit)
            .field("vault", &self.vault)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State with the defaults of SPEC §6: 64 KiB bodies, 5 rotations per customer per
    /// hour, always ready.
    pub fn new(api_keys: ApiKeyService, jwt: &JwtSettings) -> Self {
        Self {
            api_keys,
            jwt: JwtVerifier::new(jwt),
            readiness: Arc::new(AlwaysReady),
            rotation_limiter: RotationLimiter::default(),
            body_limit: BodyLimit::default(),
            vault: None,
            internal_service_key: None,
        }
    }

    #[must_use]
    pub fn with_readiness(mut self, readiness: Arc<dyn ReadinessCheck>) -> Self {
        self.readiness = readiness;
        self
    }

    /// Enables the credentials vault.
    #[must_use]
    pub fn with_vault(mut self, vault: VaultService) -> Self {
        self.vault = Some(vault);
        self
    }

    /// Enables `GET /internal/service-keys/{provider}/decrypt` for callers presenting `key`.
    #[must_use]
    pub fn with_internal_service_key(mut self, key: InternalServiceKey) -> Self {
        self.internal_service_key = Some(key);
        self
    }

    #[must_use]
    pub fn with_body_limit(mut self, max_body_bytes: usize) -> Self {
        self.body_limit = BodyLimit(max_body_bytes);
        self
    }
}
