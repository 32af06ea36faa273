//! A secret as it rests in storage: ciphertext, the nonce it was sealed with, and the
//! version of the master key that sealed it.

use std::fmt;

/// Length of an AES-GCM nonce (96 bits).
pub const NONCE_LEN: usize = 12;

/// Which master key sealed a secret. It is derived from the key itself (see
/// [`crate::vault::MasterKey::version`]), not counted, so operators never number keys and
/// a record names the exact key that can open it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyVersion(u32);

impl KeyVersion {
    pub const fn new(version: u32) -> Self {
        Self(version)
    }

    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for KeyVersion {
    /// Eight hex digits, the form operators see in logs and in `rotate-key` output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for KeyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyVersion({self})")
    }
}

/// Ciphertext (with its authentication tag), nonce and key version. Not secret by
/// itself, but useless to print, so `Debug` shows only the version and the length.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    key_version: KeyVersion,
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl SealedSecret {
    /// Assembles a sealed secret from its stored parts, or from a cipher's output.
    pub fn new(key_version: KeyVersion, nonce: [u8; NONCE_LEN], ciphertext: Vec<u8>) -> Self {
        Self {
            key_version,
            nonce,
            ciphertext,
        }
    }

    pub fn key_version(&self) -> KeyVersion {
        self.key_version
    }

    pub fn nonce(&self) -> &[u8; NONCE_LEN] {
        &self.nonce
    }

    /// Ciphertext followed by the 16-byte authentication tag.
    pub fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSecret")
            .field("key_version", &self.key_version)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}
