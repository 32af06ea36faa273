//! AES-256-GCM implementation of the [`Cipher`] port, with `ring`.
//!
//! It lives in the domain crate because it performs no I/O (only the OS random source,
//! like `OsSecretGenerator`) and `ring` is already a domain dependency; see ADR 0040.
//!
//! The master key is never used directly: HKDF-SHA256 derives from it the AES key and,
//! separately, the key's [`KeyVersion`] — a 32-bit fingerprint stored with each record so
//! the cipher knows which key opens it, and operators never have to number their keys.
//! Every seal draws a fresh random 96-bit nonce; with the few thousand writes a vault
//! sees, random nonces stay far inside AES-GCM's safety margin for one key.

use std::fmt;

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::ports::cipher::{AssociatedData, Cipher, CipherError};
use crate::ports::system::{RandomUnavailable, SecretGenerator};
use crate::vault::sealed::{KeyVersion, NONCE_LEN, SealedSecret};
use crate::vault::secret::SecretText;

/// Length of a master key in bytes (and twice that in hex).
pub const MASTER_KEY_LEN: usize = 32;

const HKDF_SALT: &[u8] = b"keyward vault master key";
const AEAD_KEY_INFO: &[u8] = b"aes-256-gcm v1";
const VERSION_INFO: &[u8] = b"key version v1";

/// Why a master key was refused. Never carries any part of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidMasterKey {
    #[error("must be exactly 64 hexadecimal characters (32 bytes)")]
    Malformed,
    #[error("must not be all zeros")]
    AllZero,
}

/// A vault master key, reduced at once to what the cipher needs: the derived AES key
/// and the key's version. The raw bytes are wiped as soon as they are derived from.
#[derive(Clone)]
pub struct MasterKey {
    version: KeyVersion,
    aead_key: LessSafeKey,
}

struct VersionLen;

impl hkdf::KeyType for VersionLen {
    fn len(&self) -> usize {
        4
    }
}

impl MasterKey {
    /// # Errors
    /// `AllZero` for an all-zero key (an unset buffer, never a real key).
    pub fn from_bytes(bytes: &[u8; MASTER_KEY_LEN]) -> Result<Self, InvalidMasterKey> {
        if bytes.iter().all(|b| *b == 0) {
            return Err(InvalidMasterKey::AllZero);
        }
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT).extract(bytes);
        // `expand` fails only for outputs longer than 255 hash blocks; ours are 32 and 4
        // bytes, so these errors cannot happen and are mapped rather than unwrapped.
        let aead_key = prk
            .expand(&[AEAD_KEY_INFO], &aead::AES_256_GCM)
            .map(UnboundKey::from)
            .map(LessSafeKey::new)
            .map_err(|_| InvalidMasterKey::Malformed)?;
        let mut version = [0u8; 4];
        prk.expand(&[VERSION_INFO], VersionLen)
            .and_then(|okm| okm.fill(&mut version))
            .map_err(|_| InvalidMasterKey::Malformed)?;
        Ok(Self {
            version: KeyVersion::new(u32::from_be_bytes(version)),
            aead_key,
        })
    }

    /// Parses 64 hex characters; surrounding white space (a key file's trailing newline)
    /// is ignored.
    ///
    /// # Errors
    /// `Malformed` for anything but 64 hex characters; `AllZero`.
    pub fn from_hex(text: &str) -> Result<Self, InvalidMasterKey> {
        let mut bytes = Zeroizing::new([0u8; MASTER_KEY_LEN]);
        hex::decode_to_slice(text.trim(), &mut *bytes).map_err(|_| InvalidMasterKey::Malformed)?;
        Self::from_bytes(&bytes)
    }

    /// A fresh random key, returned with its hex form (the only time the raw key exists
    /// outside this type) so it can be written to a key file.
    ///
    /// # Errors
    /// `RandomUnavailable` when the OS random source fails.
    pub fn generate(
        random: &dyn SecretGenerator,
    ) -> Result<(Self, Zeroizing<String>), RandomUnavailable> {
        let bytes = Zeroizing::new(random.secret_bytes()?);
        let hex = Zeroizing::new(hex::encode(*bytes));
        // 32 random bytes are all zero with probability 2^-256; treat it as a broken source.
        let key = Self::from_bytes(&bytes).map_err(|_| RandomUnavailable)?;
        Ok((key, hex))
    }

    /// The key's fingerprint, stored with every record it seals.
    pub fn version(&self) -> KeyVersion {
        self.version
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// The [`Cipher`]: seals under the current master key, opens under the current key or
/// any previous key it was given (the keyring during a rotation).
pub struct AesGcmCipher {
    current: MasterKey,
    previous: Vec<MasterKey>,
    random: SystemRandom,
}

impl AesGcmCipher {
    pub fn new(current: MasterKey) -> Self {
        Self {
            current,
            previous: Vec::new(),
            random: SystemRandom::new(),
        }
    }

    /// Also opens secrets sealed under `key` (never seals with it). A key with the
    /// current version adds nothing and is ignored.
    #[must_use]
    pub fn with_previous(mut self, key: MasterKey) -> Self {
        let known = key.version == self.current.version
            || self.previous.iter().any(|k| k.version == key.version);
        if !known {
            self.previous.push(key);
        }
        self
    }

    /// Versions this cipher can open: the current one first.
    pub fn versions(&self) -> Vec<KeyVersion> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .map(MasterKey::version)
            .collect()
    }

    fn key_for(&self, version: KeyVersion) -> Option<&MasterKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.version == version)
    }
}

impl fmt::Debug for AesGcmCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AesGcmCipher")
            .field("versions", &self.versions())
            .finish_non_exhaustive()
    }
}

impl Cipher for AesGcmCipher {
    fn current_version(&self) -> KeyVersion {
        self.current.version
    }

    fn seal(
        &self,
        plaintext: &SecretText,
        ad: &AssociatedData,
    ) -> Result<SealedSecret, CipherError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| CipherError::Random(RandomUnavailable))?;
        // Room for the tag up front, so appending it never reallocates and leaves a copy
        // of the plaintext behind in freed memory.
        let mut in_out = Vec::with_capacity(plaintext.expose().len() + aead::MAX_TAG_LEN);
        in_out.extend_from_slice(plaintext.expose().as_bytes());
        self.current
            .aead_key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(ad.as_bytes()),
                &mut in_out,
            )
            // Sealing fails only for inputs beyond GCM's 64 GiB limit; secrets are 16 KiB.
            .map_err(|_| CipherError::Undecryptable)?;
        Ok(SealedSecret::new(self.current.version, nonce, in_out))
    }

    fn open(&self, sealed: &SealedSecret, ad: &AssociatedData) -> Result<SecretText, CipherError> {
        let key = self
            .key_for(sealed.key_version())
            .ok_or(CipherError::UnknownKeyVersion(sealed.key_version()))?;
        let mut in_out = Zeroizing::new(sealed.ciphertext().to_vec());
        let plaintext_len = key
            .aead_key
            .open_in_place(
                Nonce::assume_unique_for_key(*sealed.nonce()),
                Aad::from(ad.as_bytes()),
                &mut in_out,
            )
            .map_err(|_| CipherError::Undecryptable)?
            .len();
        in_out.truncate(plaintext_len);
        let text = String::from_utf8(std::mem::take(&mut *in_out))
            .map_err(|_| CipherError::Undecryptable)?;
        Ok(SecretText::from_decrypted(text))
    }
}

#[cfg(test)]
#[path = "aes_gcm_tests.rs"]
mod tests;
