//! The stored service credential and the value types it is made of.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

use crate::ids::{CredentialId, CustomerId};
use crate::text::{BoundedText, TextError};
use crate::vault::sealed::SealedSecret;
use crate::vault::secret::MaskedSecret;

/// Longest provider slug.
pub const MAX_PROVIDER_CHARS: usize = 64;
/// Longest credential name.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest credential description.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// The third-party service a credential is for: a lowercase slug such as `spotify`,
/// `openai` or `google-maps` — 1..=64 of `a-z`, `0-9`, `-`, `_`, starting with a letter
/// or digit. Strict rather than normalising, so one provider has exactly one spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Provider(String);

/// A provider that is not a lowercase slug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "provider must be 1 to {MAX_PROVIDER_CHARS} lowercase letters, digits, '-' or '_', starting with a letter or digit"
)]
pub struct InvalidProvider;

impl Provider {
    pub fn new(slug: impl Into<String>) -> Result<Self, InvalidProvider> {
        let slug = slug.into();
        let allowed =
            |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_';
        let starts_well = slug
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !starts_well || slug.len() > MAX_PROVIDER_CHARS || !slug.bytes().all(allowed) {
            return Err(InvalidProvider);
        }
        Ok(Self(slug))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Provider {
    type Err = InvalidProvider;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A credential's name: 1..=100 characters, not only white space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialName(BoundedText);

impl CredentialName {
    pub fn new(name: impl Into<String>) -> Result<Self, TextError> {
        BoundedText::new(name.into(), 1, MAX_NAME_CHARS).map(Self)
    }

    /// The provider's slug as a name, the default for a customer's credential. A slug
    /// (1..=64 visible ASCII characters) always satisfies the name rules.
    pub fn for_provider(provider: &Provider) -> Self {
        Self(BoundedText::from_validated(provider.as_str().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// A credential's description: at most 500 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialDescription(BoundedText);

impl CredentialDescription {
    pub fn new(text: impl Into<String>) -> Result<Self, TextError> {
        BoundedText::new(text.into(), 0, MAX_DESCRIPTION_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// Whose credential it is: the platform's own (managed by admins, used by internal
/// services) or a customer's (bring-your-own-key, one per provider).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialOwner {
    Platform,
    Customer(CustomerId),
}

impl CredentialOwner {
    /// The customer, for a customer-owned credential.
    pub fn customer(self) -> Option<CustomerId> {
        match self {
            Self::Platform => None,
            Self::Customer(customer) => Some(customer),
        }
    }
}

/// Every stored field of a credential. Adapters build a [`ServiceCredential`] from this
/// when they read a row; the vault service builds it when it seals a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialParts {
    pub id: CredentialId,
    pub owner: CredentialOwner,
    pub provider: Provider,
    pub name: CredentialName,
    pub description: Option<CredentialDescription>,
    pub masked_secret: MaskedSecret,
    pub sealed: SealedSecret,
    pub active: bool,
    pub last_used_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A third-party credential as stored: metadata, masked hint and the sealed secret. The
/// plaintext is only ever obtained through the vault service, which opens `sealed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCredential(CredentialParts);

impl ServiceCredential {
    pub fn from_parts(parts: CredentialParts) -> Self {
        Self(parts)
    }

    pub fn into_parts(self) -> CredentialParts {
        self.0
    }

    pub fn parts(&self) -> &CredentialParts {
        &self.0
    }

    pub fn id(&self) -> CredentialId {
        self.0.id
    }

    pub fn owner(&self) -> CredentialOwner {
        self.0.owner
    }

    pub fn provider(&self) -> &Provider {
        &self.0.provider
    }

    pub fn name(&self) -> &CredentialName {
        &self.0.name
    }

    pub fn description(&self) -> Option<&CredentialDescription> {
        self.0.description.as_ref()
    }

    pub fn masked_secret(&self) -> &MaskedSecret {
        &self.0.masked_secret
    }

    pub fn sealed(&self) -> &SealedSecret {
        &self.0.sealed
    }

    pub fn is_active(&self) -> bool {
        self.0.active
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

    pub(crate) fn parts_mut(&mut self) -> &mut CredentialParts {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_accepts_lowercase_slugs() {
        for slug in ["spotify", "openai", "google-maps", "aws_s3", "1password"] {
            assert_eq!(Provider::new(slug).unwrap().as_str(), slug);
        }
        assert!(Provider::new("a".repeat(MAX_PROVIDER_CHARS)).is_ok());
    }

    #[test]
    fn provider_refuses_anything_else() {
        for slug in [
            "", "Spotify", "-openai", "_x", "open ai", "openai/", "ópen", "a.b",
        ] {
            assert_eq!(Provider::new(slug), Err(InvalidProvider), "{slug:?}");
        }
        assert!(Provider::new("a".repeat(MAX_PROVIDER_CHARS + 1)).is_err());
    }

    #[test]
    fn longest_provider_slug_is_a_valid_name() {
        let provider = Provider::new("a".repeat(MAX_PROVIDER_CHARS)).unwrap();
        let name = CredentialName::for_provider(&provider);
        assert_eq!(CredentialName::new(name.as_str()).unwrap(), name);
    }

    #[test]
    fn credential_name_is_bounded_and_not_blank() {
        assert!(CredentialName::new(" ").is_err());
        assert!(CredentialName::new("x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(CredentialDescription::new("").is_ok());
        assert!(CredentialDescription::new("x".repeat(MAX_DESCRIPTION_CHARS + 1)).is_err());
    }
}
