//! The API key record and the value types it is made of.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::ids::{CustomerId, KeyId};
use crate::keys::secret::{DisplayPrefix, KeyHash};
use crate::scope::ScopeSet;
use crate::text::{BoundedText, TextError};

/// Longest key name (SPEC §6).
pub const MAX_NAME_CHARS: usize = 100;
/// Longest key description (SPEC §6).
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// A key's name: 1..=100 characters, not only white space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(BoundedText);

impl KeyName {
    pub fn new(name: impl Into<String>) -> Result<Self, TextError> {
        BoundedText::new(name.into(), 1, MAX_NAME_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// A key's description: at most 500 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(BoundedText);

impl Description {
    pub fn new(text: impl Into<String>) -> Result<Self, TextError> {
        BoundedText::new(text.into(), 0, MAX_DESCRIPTION_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// How many times a key has been written: [`KeyVersion::FIRST`] when it is created, one
/// more on every update (`lastUsedAt` bookkeeping does not count). A write names the
/// version it read and storage refuses it when the key has moved on since (compare-and-swap,
/// [`crate::ports::KeyWriteError::Stale`]), so concurrent changes cannot overwrite one
/// another. Caches use it to keep the newest copy of a key and drop older ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyVersion(i64);

/// A key version below 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a key version must be at least 1")]
pub struct InvalidKeyVersion;

impl KeyVersion {
    /// The version of a key that was never updated.
    pub const FIRST: Self = Self(1);

    /// A stored version.
    ///
    /// # Errors
    /// `InvalidKeyVersion` when `version` is below 1.
    pub fn new(version: i64) -> Result<Self, InvalidKeyVersion> {
        if version < 1 {
            return Err(InvalidKeyVersion);
        }
        Ok(Self(version))
    }

    /// The version as a number (1 or more).
    pub fn get(self) -> i64 {
        self.0
    }

    /// The version a key has after one more write (saturating at `i64::MAX`).
    #[must_use]
    pub fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }
}

impl std::fmt::Display for KeyVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The secret a key had before its last rotation, still accepted until `valid_until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetiredSecret {
    pub hash: KeyHash,
    pub valid_until: OffsetDateTime,
}

/// Every stored field of an API key. Adapters build an [`ApiKey`] from this when they
/// read a row; the services build it when they issue a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyParts {
    pub id: KeyId,
    pub customer_id: CustomerId,
    pub name: KeyName,
    pub description: Option<Description>,
    pub display_prefix: DisplayPrefix,
    pub hash: KeyHash,
    pub scopes: ScopeSet,
    pub active: bool,
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub created_by: Option<String>,
    pub retired: Option<RetiredSecret>,
    /// When the key was revoked. A revoked key stays inactive for good.
    pub revoked_at: Option<OffsetDateTime>,
    /// How many times the key has been written ([`KeyVersion::FIRST`] for a new key).
    pub version: KeyVersion,
}

/// An API key as stored: everything but the secret.
///
/// Cloning is a reference-count increment (the fields are shared, and copied only when a
/// change is made to one of the clones): the verification cache hands out a clone on
/// every verified request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey(Arc<ApiKeyParts>);

/// Which of a key's secrets a presented key string matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretMatch {
    Current,
    Retired,
    None,
}

impl ApiKey {
    pub fn from_parts(parts: ApiKeyParts) -> Self {
        Self(Arc::new(parts))
    }

    pub fn into_parts(self) -> ApiKeyParts {
        Arc::unwrap_or_clone(self.0)
    }

    pub fn parts(&self) -> &ApiKeyParts {
        &self.0
    }

    pub fn id(&self) -> KeyId {
        self.0.id
    }

    pub fn customer_id(&self) -> CustomerId {
        self.0.customer_id
    }

    pub fn name(&self) -> &KeyName {
        &self.0.name
    }

    pub fn description(&self) -> Option<&Description> {
        self.0.description.as_ref()
    }

    pub fn display_prefix(&self) -> &DisplayPrefix {
        &self.0.display_prefix
    }

    pub fn hash(&self) -> KeyHash {
        self.0.hash
    }

    pub fn scopes(&self) -> ScopeSet {
        self.0.scopes
    }

    pub fn is_active(&self) -> bool {
        self.0.active
    }

    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.0.expires_at
    }

    pub fn last_used_at(&self) -> Option<OffsetDateTime> {
        self.0.last_used_at
    }

    pub fn created_at(&self) -> OffsetDateTime {
        self.0.created_at
    }

    pub fn updated_at(&self) -> OffsetDateTime {
        self.0.updated_at
    }

    pub fn created_by(&self) -> Option<&str> {
        self.0.created_by.as_deref()
    }

    pub fn retired(&self) -> Option<RetiredSecret> {
        self.0.retired
    }

    /// When the key was revoked; `None` for a key never revoked.
    pub fn revoked_at(&self) -> Option<OffsetDateTime> {
        self.0.revoked_at
    }

    /// How many times the key has been written: the version a write of this copy must
    /// find in storage (see [`KeyVersion`]).
    pub fn version(&self) -> KeyVersion {
        self.0.version
    }

    /// Whether the key has been revoked (revocation cannot be undone).
    pub fn is_revoked(&self) -> bool {
        self.0.revoked_at.is_some()
    }

    /// Whether the key has expired at `now` (it is valid strictly before `expiresAt`).
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        self.0.expires_at.is_some_and(|expiry| now >= expiry)
    }

    /// Whether the key counts against the customer's cap at `now`.
    pub fn counts_toward_cap(&self, now: OffsetDateTime) -> bool {
        self.0.active && !self.is_expired_at(now)
    }

    /// Which secret `hash` is, taking the retired secret's grace period into account.
    pub fn match_secret(&self, hash: KeyHash, now: OffsetDateTime) -> SecretMatch {
        if self.0.hash == hash {
            return SecretMatch::Current;
        }
        match self.0.retired {
            Some(retired) if retired.hash == hash && now < retired.valid_until => {
                SecretMatch::Retired
            }
            _ => SecretMatch::None,
        }
    }

    pub(crate) fn parts_mut(&mut self) -> &mut ApiKeyParts {
        Arc::make_mut(&mut self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::{InvalidKeyVersion, KeyVersion};

    #[test]
    fn key_versions_start_at_one_and_count_up() {
        assert_eq!(KeyVersion::new(0), Err(InvalidKeyVersion));
        assert_eq!(KeyVersion::new(-5), Err(InvalidKeyVersion));
        assert_eq!(KeyVersion::new(1), Ok(KeyVersion::FIRST));
        assert_eq!(KeyVersion::FIRST.get(), 1);
        assert_eq!(KeyVersion::FIRST.next().get(), 2);
        assert!(KeyVersion::FIRST < KeyVersion::FIRST.next());
        let last = KeyVersion::new(i64::MAX).unwrap();
        assert_eq!(last.next(), last);
    }
}
