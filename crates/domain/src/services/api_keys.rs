//! `ApiKeyService`: every rule of the API key lifecycle (SPEC §2, §6, §7) in one place —
//! caps, scope validation, expiry, rotation with grace periods, verification.

use std::net::IpAddr;
use std::sync::Arc;

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::audit::{AuditAction, AuditDetails, RequestContext};
use crate::ids::{CustomerId, KeyId};
use crate::keys::{
    ApiKey, ApiKeyParts, Description, KeyName, KeyPrefix, KeyVersion, MalformedKey, PlainKey,
    RetiredSecret, SecretMatch,
};
use crate::ports::{
    ActiveKeyCap, ApiKeyRepository, Clock, KeyFilter, KeyWriteError, Page, PageRequest,
    RandomUnavailable, SecretGenerator, StorageError, UsageRecorder,
};
use crate::scope::{Scope, ScopeSet};
use crate::services::audit::AuditTrail;
use crate::usage::{ClientAddress, RefusalReason, UseOutcome};

/// Longest grace period a rotation may grant (SPEC §6: 604 800 s, one week).
pub const MAX_GRACE: Duration = Duration::seconds(604_800);

/// How often a change to a key (update, revoke, rotate) is read, applied and written
/// before it gives up with [`ApiKeyError::Conflict`]. Every `Stale` answer means another
/// change was stored in between, so this many concurrent changes to one key all succeed.
pub const MAX_WRITE_ATTEMPTS: usize = 8;

/// Rules that come from configuration.
#[derive(Debug, Clone)]
pub struct KeyPolicy {
    pub prefix: KeyPrefix,
    /// `keys.max_per_customer`: keys that are active and unexpired, per customer.
    pub max_per_customer: u32,
    /// `keys.default_ttl_days` (SPEC §6): the lifetime of a key created without an
    /// `expiresAt`, counted from its creation; `None` (the default, `0` in the
    /// configuration) leaves such keys without an expiry.
    pub default_ttl: Option<Duration>,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        Self {
            prefix: KeyPrefix::default(),
            max_per_customer: 10,
            default_ttl: None,
        }
    }
}

/// What a customer asks for when creating a key.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: KeyName,
    pub description: Option<Description>,
    pub scopes: ScopeSet,
    pub expires_at: Option<OffsetDateTime>,
    /// The subject (user id) that created the key, for the audit trail.
    pub created_by: Option<String>,
}

/// A partial update; `None` leaves a field as it is. `description: Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct KeyChanges {
    pub name: Option<KeyName>,
    pub description: Option<Option<Description>>,
    pub active: Option<bool>,
    pub scopes: Option<ScopeSet>,
}

/// A grace period for the old secret after a rotation: 0..=604 800 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GracePeriod(Duration);

/// A grace period outside 0..=604 800 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("gracePeriodSeconds must be between 0 and 604800")]
pub struct InvalidGracePeriod;

impl GracePeriod {
    pub fn from_seconds(seconds: i64) -> Result<Self, InvalidGracePeriod> {
        let duration = Duration::seconds(seconds);
        if seconds < 0 || duration > MAX_GRACE {
            return Err(InvalidGracePeriod);
        }
        Ok(Self(duration))
    }

    pub fn duration(self) -> Duration {
        self.0
    }
}

/// A key together with its secret, returned exactly once: on create and on rotate.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: PlainKey,
}

/// Why a key operation of the customer API failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("api key not found")]
    NotFound,
    #[error("maximum of {max} active API {} reached", if *.max == 1 { "key" } else { "keys" })]
    LimitReached { max: u32 },
    #[error("expiresAt must be in the future")]
    ExpiryNotInFuture,
    #[error("an inactive or expired API key cannot be rotated")]
    NotRotatable,
    #[error("a revoked API key cannot be reactivated")]
    Revoked,
    /// The key kept changing under this change: every one of [`MAX_WRITE_ATTEMPTS`]
    /// writes found that someone else had written the key since it was read.
    #[error("the API key was changed concurrently; try again")]
    Conflict,
    #[error(transparent)]
    Random(#[from] RandomUnavailable),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why a presented key was not accepted. `Malformed` and `Invalid` must look the same to
/// the caller; they differ only for metrics and tests.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed api key")]
    Malformed(MalformedKey),
    #[error("invalid api key")]
    Invalid,
    /// The key is valid but does not allow the scope named.
    #[error("insufficient scope: {0} required")]
    InsufficientScope(Scope),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What a successful verification tells the caller about the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedKey {
    pub key_id: KeyId,
    pub customer_id: CustomerId,
    pub scopes: ScopeSet,
    pub expires_at: Option<OffsetDateTime>,
}

impl VerifiedKey {
    /// # Errors
    /// `InsufficientScope` when the key does not allow `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), VerifyError> {
        if self.scopes.allows(scope) {
            Ok(())
        } else {
            Err(VerifyError::InsufficientScope(scope))
        }
    }
}

/// The API key lifecycle.
#[derive(Clone)]
pub struct ApiKeyService {
    repo: Arc<dyn ApiKeyRepository>,
    clock: Arc<dyn Clock>,
    secrets: Arc<dyn SecretGenerator>,
    usage: Arc<dyn UsageRecorder>,
    audit: AuditTrail,
    policy: KeyPolicy,
}

impl std::fmt::Debug for ApiKeyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyService")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn write_error(err: KeyWriteError, max: u32) -> ApiKeyError {
    match err {
        KeyWriteError::NotFound => ApiKeyError::NotFound,
        KeyWriteError::LimitReached => ApiKeyError::LimitReached { max },
        // The services retry a stale write; only a caller that does not would see this.
        KeyWriteError::Stale => ApiKeyError::Conflict,
        KeyWriteError::Storage(e) => ApiKeyError::Storage(e),
    }
}

impl ApiKeyService {
    pub fn new(
        repo: Arc<dyn ApiKeyRepository>,
        clock: Arc<dyn Clock>,
        secrets: Arc<dyn SecretGenerator>,
        usage: Arc<dyn UsageRecorder>,
        audit: AuditTrail,
        policy: KeyPolicy,
    ) -> Self {
        Self {
            repo,
            clock,
            secrets,
            usage,
            audit,
            policy,
        }
    }

    pub fn policy(&self) -> &KeyPolicy {
        &self.policy
    }

    fn cap(&self, now: OffsetDateTime) -> ActiveKeyCap {
        ActiveKeyCap {
            max: self.policy.max_per_customer,
            now,
        }
    }

    fn new_secret(&self) -> Result<PlainKey, RandomUnavailable> {
        Ok(PlainKey::from_random(
            &self.policy.prefix,
            &self.secrets.secret_bytes()?,
        ))
    }

    /// Issues a new active key. A request without `expires_at` gets one
    /// [`KeyPolicy::default_ttl`] after now when the policy sets a default lifetime.
    /// Audited as `api_key.created` (name, scopes, expiresAt).
    ///
    /// # Errors
    /// `ExpiryNotInFuture`, `LimitReached`, `Random`, `Storage`.
    pub async fn create(
        &self,
        context: &RequestContext,
        customer: CustomerId,
        request: NewKey,
    ) -> Result<IssuedKey, ApiKeyError> {
        let now = self.clock.now();
        if request.expires_at.is_some_and(|expiry| expiry <= now) {
            return Err(ApiKeyError::ExpiryNotInFuture);
        }
        let expires_at = request
            .expires_at
            .or_else(|| self.policy.default_ttl.map(|ttl| now + ttl));
        let secret = self.new_secret()?;
        let key = ApiKey::from_parts(ApiKeyParts {
            id: KeyId::generate(),
            customer_id: customer,
            name: request.name,
            description: request.description,
            display_prefix: secret.display_prefix(),
            hash: secret.hash(),
            scopes: request.scopes,
            active: true,
            expires_at,
            last_used_at: None,
            created_at: now,
            updated_at: now,
            created_by: request.created_by,
            retired: None,
            revoked_at: None,
            version: KeyVersion::FIRST,
        });
        self.repo
            .insert(&key, self.cap(now))
            .await
            .map_err(|e| write_error(e, self.policy.max_per_customer))?;
        let mut details = AuditDetails::new();
        details.insert("name".into(), key.name().as_str().into());
        details.insert("scopes".into(), scopes_json(key.scopes()));
        details.insert("expiresAt".into(), instant_json(key.expires_at()));
        self.audit
            .record(
                context,
                Some(customer),
                AuditAction::ApiKeyCreated,
                key.id().as_uuid(),
                details,
            )
            .await;
        Ok(IssuedKey { key, secret })
    }

    /// # Errors
    /// `NotFound` (also for another customer's key), `Storage`.
    pub async fn get(&self, customer: CustomerId, id: KeyId) -> Result<ApiKey, ApiKeyError> {
        self.repo
            .get(customer, id)
            .await?
            .ok_or(ApiKeyError::NotFound)
    }

    /// # Errors
    /// `Storage`.
    pub async fn list(
        &self,
        customer: CustomerId,
        filter: KeyFilter,
        page: PageRequest,
    ) -> Result<Page<ApiKey>, ApiKeyError> {
        Ok(self.repo.list(customer, filter, page).await?)
    }

    /// The key `id` whatever its customer: the operator's view for the key CLI
    /// (`keyward keys revoke <id>`, SPEC §14). Never reachable from a request.
    ///
    /// # Errors
    /// `NotFound`, `Storage`.
    pub async fn find_any(&self, id: KeyId) -> Result<ApiKey, ApiKeyError> {
        self.repo.find_by_id(id).await?.ok_or(ApiKeyError::NotFound)
    }

    /// Applies `changes`. Re-activating a key counts against the cap; a revoked key can
    /// never be re-activated (otherwise `api_keys:revoke` would mean nothing). When the key
    /// is changed concurrently, the changes are applied again to the fresh copy. Audited as
    /// `api_key.updated`, the details holding the fields given (none given: not audited).
    ///
    /// # Errors
    /// `NotFound` (also when the key is deleted meanwhile), `Revoked` (`active: true` on a
    /// revoked key), `LimitReached`, `Conflict` (the key kept changing concurrently),
    /// `Storage`.
    pub async fn update(
        &self,
        context: &RequestContext,
        customer: CustomerId,
        id: KeyId,
        changes: KeyChanges,
    ) -> Result<ApiKey, ApiKeyError> {
        let (key, _) = self.apply(customer, id, &changes, false).await?;
        let mut details = AuditDetails::new();
        if let Some(name) = &changes.name {
            details.insert("name".into(), name.as_str().into());
        }
        if let Some(description) = &changes.description {
            details.insert(
                "description".into(),
                description
                    .as_ref()
                    .map_or(serde_json::Value::Null, |text| text.as_str().into()),
            );
        }
        if let Some(scopes) = changes.scopes {
            details.insert("scopes".into(), scopes_json(scopes));
        }
        if let Some(active) = changes.active {
            details.insert("active".into(), active.into());
        }
        if details.is_empty() {
            // `PATCH {}`: nothing was asked for, nothing to record.
            return Ok(key);
        }
        self.audit
            .record(
                context,
                Some(customer),
                AuditAction::ApiKeyUpdated,
                id.as_uuid(),
                details,
            )
            .await;
        Ok(key)
    }

    /// Applies `changes` to the stored key and writes it back; `revoke` also marks it
    /// revoked (keeping the first revocation time). The rules are checked on every copy
    /// read, so a change retried after a concurrent revoke cannot re-activate the key.
    /// Returns the key and whether this call revoked it (it was not revoked before).
    async fn apply(
        &self,
        customer: CustomerId,
        id: KeyId,
        changes: &KeyChanges,
        revoke: bool,
    ) -> Result<(ApiKey, bool), ApiKeyError> {
        self.write_fresh(customer, id, |key, now| {
            if key.is_revoked() && changes.active == Some(true) {
                return Err(ApiKeyError::Revoked);
            }
            let was_counted = key.counts_toward_cap(now);
            let parts = key.parts_mut();
            if let Some(name) = &changes.name {
                parts.name.clone_from(name);
            }
            if let Some(description) = &changes.description {
                parts.description.clone_from(description);
            }
            if let Some(scopes) = changes.scopes {
                parts.scopes = scopes;
            }
            if let Some(active) = changes.active {
                parts.active = active;
                if !active {
                    parts.retired = None;
                }
            }
            let newly_revoked = revoke && parts.revoked_at.is_none();
            if newly_revoked {
                parts.revoked_at = Some(now);
            }
            parts.updated_at = now;
            let cap = (!was_counted && key.counts_toward_cap(now)).then(|| self.cap(now));
            Ok((cap, newly_revoked))
        })
        .await
    }

    /// Reads the key, lets `change` modify it (returning the cap to check and a value to
    /// hand back) and writes it with compare-and-swap. When the write is `Stale` the key
    /// is read again and `change` runs again on the fresh copy, at most
    /// [`MAX_WRITE_ATTEMPTS`] times. The returned key carries its stored version.
    async fn write_fresh<T>(
        &self,
        customer: CustomerId,
        id: KeyId,
        mut change: impl FnMut(
            &mut ApiKey,
            OffsetDateTime,
        ) -> Result<(Option<ActiveKeyCap>, T), ApiKeyError>
        + Send,
    ) -> Result<(ApiKey, T), ApiKeyError> {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let mut key = self.get(customer, id).await?;
            let (cap, value) = change(&mut key, self.clock.now())?;
            match self.repo.update(&key, cap).await {
                Ok(()) => {
                    let parts = key.parts_mut();
                    parts.version = parts.version.next();
                    return Ok((key, value));
                }
                Err(KeyWriteError::Stale) => {}
                Err(err) => return Err(write_error(err, self.policy.max_per_customer)),
            }
        }
        Err(ApiKeyError::Conflict)
    }

    /// Deactivates the key for good: its current and any retired secret stop working at
    /// once and it can never be re-activated. Revoking again keeps the first `revoked_at`.
    /// A revoke is never undone by a change that read the key before it.
    ///
    /// Audited as `api_key.revoked` when this call revoked it (a repeated revoke records
    /// nothing).
    ///
    /// # Errors
    /// `NotFound`, `Conflict` (the key kept changing concurrently), `Storage`.
    pub async fn revoke(
        &self,
        context: &RequestContext,
        customer: CustomerId,
        id: KeyId,
    ) -> Result<ApiKey, ApiKeyError> {
        let changes = KeyChanges {
            active: Some(false),
            ..KeyChanges::default()
        };
        let (key, newly_revoked) = self.apply(customer, id, &changes, true).await?;
        if !newly_revoked {
            return Ok(key);
        }
        let mut details = AuditDetails::new();
        details.insert("name".into(), key.name().as_str().into());
        self.audit
            .record(
                context,
                Some(customer),
                AuditAction::ApiKeyRevoked,
                id.as_uuid(),
                details,
            )
            .await;
        Ok(key)
    }

    /// Checks that the key exists and could be rotated now, without changing it. The HTTP
    /// layer asks this before spending the customer's rotation budget, so a 404 or 409
    /// does not use it up; [`Self::rotate`] checks again.
    ///
    /// # Errors
    /// `NotFound`, `NotRotatable` (inactive or expired key), `Storage`.
    pub async fn ensure_rotatable(
        &self,
        customer: CustomerId,
        id: KeyId,
    ) -> Result<(), ApiKeyError> {
        let key = self.get(customer, id).await?;
        if key.counts_toward_cap(self.clock.now()) {
            Ok(())
        } else {
            Err(ApiKeyError::NotRotatable)
        }
    }

    /// Replaces the key's secret. The old secret keeps working for `grace` (never past the
    /// key's own expiry); with no grace it fails at once. A secret retired by an earlier
    /// rotation stops working now. Concurrent rotations are applied one after another: the
    /// one stored last retires the secret stored just before it. The returned secret is
    /// the one stored. Audited as `api_key.rotated` (gracePeriodSeconds, and until when
    /// the old secret works).
    ///
    /// # Errors
    /// `NotFound`, `NotRotatable` (inactive or expired key, also when it was revoked
    /// meanwhile), `Random`, `Conflict` (the key kept changing concurrently), `Storage`.
    pub async fn rotate(
        &self,
        context: &RequestContext,
        customer: CustomerId,
        id: KeyId,
        grace: GracePeriod,
    ) -> Result<IssuedKey, ApiKeyError> {
        // One secret for every attempt: an attempt that was not stored left no trace.
        let mut generated: Option<PlainKey> = None;
        let (key, secret) = self
            .write_fresh(customer, id, |key, now| {
                if !key.counts_toward_cap(now) {
                    return Err(ApiKeyError::NotRotatable);
                }
                let secret = match &generated {
                    Some(secret) => secret.clone(),
                    None => generated.insert(self.new_secret()?).clone(),
                };
                let parts = key.parts_mut();
                let grace_end = now + grace.duration();
                let valid_until = parts
                    .expires_at
                    .map_or(grace_end, |expiry| grace_end.min(expiry));
                parts.retired = (valid_until > now).then_some(RetiredSecret {
                    hash: parts.hash,
                    valid_until,
                });
                parts.hash = secret.hash();
                parts.display_prefix = secret.display_prefix();
                parts.updated_at = now;
                Ok((None, secret))
            })
            .await?;
        let mut details = AuditDetails::new();
        details.insert(
            "gracePeriodSeconds".into(),
            grace.duration().whole_seconds().into(),
        );
        details.insert(
            "previousSecretValidUntil".into(),
            instant_json(key.retired().map(|retired| retired.valid_until)),
        );
        self.audit
            .record(
                context,
                Some(customer),
                AuditAction::ApiKeyRotated,
                id.as_uuid(),
                details,
            )
            .await;
        Ok(IssuedKey { key, secret })
    }

    /// Audited as `api_key.deleted`.
    ///
    /// # Errors
    /// `NotFound`, `Storage`.
    pub async fn delete(
        &self,
        context: &RequestContext,
        customer: CustomerId,
        id: KeyId,
    ) -> Result<(), ApiKeyError> {
        if self.repo.delete(customer, id).await? {
            self.audit
                .record(
                    context,
                    Some(customer),
                    AuditAction::ApiKeyDeleted,
                    id.as_uuid(),
                    AuditDetails::new(),
                )
                .await;
            Ok(())
        } else {
            Err(ApiKeyError::NotFound)
        }
    }

    /// Checks a presented key string. A malformed string is refused before any lookup.
    /// The outcome for a key keyward knows (valid, or refused as revoked, deactivated,
    /// expired or rotated out) is handed to the `UsageRecorder` (no storage write here).
    ///
    /// # Errors
    /// `Malformed`, `Invalid` (unknown, inactive, expired, or retired past its grace),
    /// `Storage`.
    pub async fn verify(&self, presented: &str) -> Result<VerifiedKey, VerifyError> {
        self.verify_with_scopes(presented, []).await
    }

    /// Verifies the key and checks that it allows `scope`. A key lacking it is counted
    /// as denied in its usage (SPEC §12), though its `lastUsedAt` moves.
    ///
    /// # Errors
    /// As [`Self::verify`], plus `InsufficientScope`.
    pub async fn verify_with_scope(
        &self,
        presented: &str,
        scope: Scope,
    ) -> Result<VerifiedKey, VerifyError> {
        self.verify_with_scopes(presented, [scope]).await
    }

    /// Verifies the key and checks that it allows every scope of `required`, in order.
    /// The use is recorded once, with its final outcome: a key lacking one of them is
    /// counted as denied (SPEC §12), though its `lastUsedAt` moves.
    ///
    /// # Errors
    /// As [`Self::verify`], plus `InsufficientScope` naming the first scope missing.
    pub async fn verify_with_scopes(
        &self,
        presented: &str,
        required: impl IntoIterator<Item = Scope> + Send,
    ) -> Result<VerifiedKey, VerifyError> {
        self.verify_from(presented, required, None).await
    }

    /// As [`Self::verify_with_scopes`], for a request from `client` (its address as the
    /// HTTP layer determined it): the use is recorded with the address, for the
    /// `new_client_ip` alert (SPEC §12).
    ///
    /// # Errors
    /// As [`Self::verify_with_scopes`].
    pub async fn verify_from(
        &self,
        presented: &str,
        required: impl IntoIterator<Item = Scope> + Send,
        client: Option<IpAddr>,
    ) -> Result<VerifiedKey, VerifyError> {
        let client = client.map(ClientAddress::of);
        let hash = PlainKey::hash_presented(presented, &self.policy.prefix)
            .map_err(VerifyError::Malformed)?;
        let Some(key) = self.repo.find_by_hash(hash).await? else {
            return Err(VerifyError::Invalid);
        };
        let now = self.clock.now();
        let matched = key.match_secret(hash, now);
        if matched == SecretMatch::None || !key.is_active() || key.is_expired_at(now) {
            // A hash that matches neither secret only comes from a lookup racing a
            // rotation; it is not this key's use.
            if key.hash() == hash || key.retired().is_some_and(|retired| retired.hash == hash) {
                let reason = if key.revoked_at().is_some() {
                    RefusalReason::Revoked
                } else if !key.is_active() {
                    RefusalReason::Deactivated
                } else if key.is_expired_at(now) {
                    RefusalReason::Expired
                } else {
                    RefusalReason::RotatedOut
                };
                self.usage
                    .record(key.id(), now, UseOutcome::Refused(reason), client);
            }
            return Err(VerifyError::Invalid);
        }
        let verified = VerifiedKey {
            key_id: key.id(),
            customer_id: key.customer_id(),
            scopes: key.scopes(),
            expires_at: key.expires_at(),
        };
        for scope in required {
            if let Err(denied) = verified.require(scope) {
                self.usage
                    .record(key.id(), now, UseOutcome::ScopeDenied, client);
                return Err(denied);
            }
        }
        self.usage
            .record(key.id(), now, UseOutcome::Verified, client);
        Ok(verified)
    }

    /// Deletes keys that expired more than `retention` ago; returns how many. Each is
    /// audited as `api_key.deleted` by `context` (the system's cleanup job, or the CLI)
    /// with `{"reason": "expired"}`.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn cleanup_expired(
        &self,
        context: &RequestContext,
        retention: Duration,
    ) -> Result<u64, StorageError> {
        let deleted = self
            .repo
            .delete_expired_before(self.clock.now() - retention)
            .await?;
        let targets: Vec<(CustomerId, uuid::Uuid)> = deleted
            .iter()
            .map(|&(customer, id)| (customer, id.as_uuid()))
            .collect();
        let mut details = AuditDetails::new();
        details.insert("reason".into(), "expired".into());
        self.audit
            .record_deletions(context, AuditAction::ApiKeyDeleted, &targets, &details)
            .await;
        Ok(deleted.len() as u64)
    }
}

/// Scopes as a JSON array of their names, in the set's order.
fn scopes_json(scopes: ScopeSet) -> serde_json::Value {
    scopes.iter().map(Scope::as_str).collect()
}

/// An instant as RFC 3339 text, or `null`.
fn instant_json(at: Option<OffsetDateTime>) -> serde_json::Value {
    at.and_then(|at| at.format(&Rfc3339).ok())
        .map_or(serde_json::Value::Null, serde_json::Value::String)
}
