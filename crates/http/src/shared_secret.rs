//! A secret shared with a machine caller (`internal.service_key`, `metrics.bearer_token`),
//! compared in constant time.
//!
//! The presented and configured values are both reduced to SHA-256 digests and compared
//! with `subtle`'s constant-time equality, so neither the content nor the length of the
//! configured secret can be learnt from response times.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A configured secret, kept only as its digest. Its `Debug` form is redacted.
#[derive(Clone)]
pub struct SharedSecret {
    digest: [u8; 32],
}

impl SharedSecret {
    pub fn new(secret: &str) -> Self {
        Self {
            digest: Sha256::digest(secret.as_bytes()).into(),
        }
    }

    /// Whether `presented` is the configured secret, in constant time.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented).into();
        presented.ct_eq(&self.digest).into()
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}
