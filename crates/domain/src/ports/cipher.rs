//! The encryption port of the credentials vault.
//!
//! A cipher seals a secret under its current master key and opens secrets sealed under
//! any key it holds (during a rotation: the new one and the old one). Sealing binds
//! [`AssociatedData`] — which record the secret belongs to — so a ciphertext copied into
//! another row fails to open instead of revealing its plaintext there.

use crate::ids::CredentialId;
use crate::ports::system::RandomUnavailable;
use crate::vault::{CredentialOwner, KeyVersion, Provider, SealedSecret, SecretText};

/// Label that starts every associated-data string, so the bytes can never be confused
/// with those of another purpose or a later format.
const AD_LABEL: &[u8] = b"keyward/service-credential/v1";

/// The record a secret belongs to, as authenticated (not encrypted) bytes: record id,
/// owner and provider, in an unambiguous encoding (fixed-length fields first, the one
/// variable-length field last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociatedData(Vec<u8>);

impl AssociatedData {
    pub fn for_credential(id: CredentialId, owner: CredentialOwner, provider: &Provider) -> Self {
        let mut bytes = Vec::with_capacity(AD_LABEL.len() + 1 + 16 + 1 + 16 + 64);
        bytes.extend_from_slice(AD_LABEL);
        bytes.push(0);
        bytes.extend_from_slice(id.as_uuid().as_bytes());
        match owner {
            CredentialOwner::Platform => bytes.push(b'P'),
            CredentialOwner::Customer(customer) => {
                bytes.push(b'C');
                bytes.extend_from_slice(customer.as_uuid().as_bytes());
            }
        }
        bytes.extend_from_slice(provider.as_str().as_bytes());
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Why a secret could not be sealed or opened. No variant carries key material or
/// plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// The secret was sealed under a master key this cipher does not hold: the vault is
    /// configured with the wrong key, or a rotation finished and the old key is gone.
    #[error(
        "sealed under master key version {0}, which is not configured (wrong vault.master_key?)"
    )]
    UnknownKeyVersion(KeyVersion),
    /// Authentication failed: the ciphertext or nonce was altered, it was moved to
    /// another record, or a different key claims the same version.
    #[error("sealed secret failed authentication (altered, moved to another record, or wrong key)")]
    Undecryptable,
    /// No fresh nonce could be drawn.
    #[error(transparent)]
    Random(#[from] RandomUnavailable),
}

/// Authenticated encryption of credential secrets.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait Cipher: Send + Sync {
    /// The version of the master key that [`Cipher::seal`] uses.
    fn current_version(&self) -> KeyVersion;

    /// Encrypts `plaintext` under the current master key with a fresh random nonce,
    /// authenticating `ad` alongside it.
    ///
    /// # Errors
    /// `Random` when no nonce could be drawn; nothing is sealed then.
    fn seal(
        &self,
        plaintext: &SecretText,
        ad: &AssociatedData,
    ) -> Result<SealedSecret, CipherError>;

    /// Decrypts `sealed` with the key its version names, checking `ad`. Never returns a
    /// plaintext other than the one sealed with exactly this `ad`.
    ///
    /// # Errors
    /// `UnknownKeyVersion` when no held key has the sealed version; `Undecryptable` when
    /// authentication fails (tampered ciphertext or nonce, another record's `ad`, or a
    /// different key under the same version).
    fn open(&self, sealed: &SealedSecret, ad: &AssociatedData) -> Result<SecretText, CipherError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::CustomerId;

    #[test]
    fn associated_data_differs_for_every_field() {
        let id = CredentialId::generate();
        let customer = CustomerId::generate();
        let openai = Provider::new("openai").unwrap();
        let base = AssociatedData::for_credential(id, CredentialOwner::Platform, &openai);
        let variants = [
            AssociatedData::for_credential(
                CredentialId::generate(),
                CredentialOwner::Platform,
                &openai,
            ),
            AssociatedData::for_credential(id, CredentialOwner::Customer(customer), &openai),
            AssociatedData::for_credential(
                id,
                CredentialOwner::Platform,
                &Provider::new("openai2").unwrap(),
            ),
        ];
        for other in variants {
            assert_ne!(base, other);
        }
    }
}
