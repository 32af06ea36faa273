//! Master-key rotation of the vault: re-seal every credential under a new master key.
//!
//! The rotation walks the records not yet sealed under the target key in batches (by
//! ascending id), opens each with the keyring it was given (the new key plus the old
//! one), seals it again under the new key and stores it with a compare-and-swap. That
//! makes it:
//! - resumable: whatever stopped it, a new run only sees the records still to do;
//! - safe next to a running service: a credential whose secret changed meanwhile is not
//!   overwritten (the swap fails) and is picked up on another pass;
//! - honest: records no held key can open are reported, never skipped silently.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::ops::ControlFlow;
use std::sync::Arc;

use crate::ids::CredentialId;
use crate::ports::{AssociatedData, Cipher, CipherError, CredentialRepository, StorageError};
use crate::vault::KeyVersion;

/// Passes over the records before giving up on ones that keep changing under the
/// rotation (a service still writing under the old key).
const MAX_PASSES: usize = 5;

/// Counts so far, handed to the progress callback after every batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RotationProgress {
    /// Records waiting to be re-sealed when the run started.
    pub pending_at_start: u64,
    /// Records re-sealed under the target key so far.
    pub resealed: u64,
    /// Records no held key could open.
    pub unreadable: u64,
    /// Swaps that failed because the record changed while it was being re-sealed.
    pub changed_concurrently: u64,
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    pub target: KeyVersion,
    pub progress: RotationProgress,
    /// Records left unopened, with the reason (e.g. sealed under a key not given).
    pub unreadable: BTreeMap<CredentialId, CipherError>,
    /// Records still sealed under another key when the run ended (0 when complete).
    pub remaining: u64,
    /// Whether the progress callback stopped the run early.
    pub interrupted: bool,
}

impl RotationReport {
    /// Every record is sealed under the target key: the old key may be retired.
    pub fn is_complete(&self) -> bool {
        self.remaining == 0
    }
}

/// Why a run stopped with an error. Records re-sealed before it stay re-sealed.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("a secret could not be re-encrypted")]
    Seal(#[source] CipherError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A rotation towards the cipher's current key; see the module docs.
#[derive(Clone)]
pub struct KeyRotation {
    repo: Arc<dyn CredentialRepository>,
    cipher: Arc<dyn Cipher>,
    batch_size: NonZeroU32,
}

impl std::fmt::Debug for KeyRotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRotation")
            .field("target", &self.cipher.current_version())
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

/// What one pass over the records achieved.
#[derive(Default)]
struct PassOutcome {
    resealed: u64,
    changed_concurrently: u64,
    interrupted: bool,
}

impl KeyRotation {
    /// `cipher` seals under the new key and opens under the new and the old key.
    pub fn new(
        repo: Arc<dyn CredentialRepository>,
        cipher: Arc<dyn Cipher>,
        batch_size: NonZeroU32,
    ) -> Self {
        Self {
            repo,
            cipher,
            batch_size,
        }
    }

    /// The key version every record ends up sealed under.
    pub fn target(&self) -> KeyVersion {
        self.cipher.current_version()
    }

    /// Records not yet sealed under the target key.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    pub async fn pending(&self) -> Result<u64, StorageError> {
        self.repo
            .count_sealed_under_other_versions(self.target())
            .await
    }

    /// Re-seals every record not under the target key, calling `on_batch` after each
    /// batch; returning `ControlFlow::Break` from it stops the run there (as an
    /// interruption would), and a later run picks up where this one stopped.
    ///
    /// # Errors
    /// `Storage` on backend failure, `Seal` when no nonce can be drawn.
    pub async fn run(
        &self,
        on_batch: &mut (dyn FnMut(&RotationProgress) -> ControlFlow<()> + Send),
    ) -> Result<RotationReport, RotationError> {
        let mut progress = RotationProgress {
            pending_at_start: self.pending().await?,
            ..RotationProgress::default()
        };
        let mut unreadable = BTreeMap::new();
        let mut interrupted = false;
        for _ in 0..MAX_PASSES {
            let pass = self.pass(&mut progress, &mut unreadable, on_batch).await?;
            if pass.interrupted {
                interrupted = true;
                break;
            }
            let remaining = self.pending().await?;
            let only_unreadable_left = remaining <= unreadable.len() as u64;
            let stuck = pass.resealed == 0 && pass.changed_concurrently == 0;
            if only_unreadable_left || stuck {
                break;
            }
        }
        Ok(RotationReport {
            target: self.target(),
            progress,
            unreadable,
            remaining: self.pending().await?,
            interrupted,
        })
    }

    async fn pass(
        &self,
        progress: &mut RotationProgress,
        unreadable: &mut BTreeMap<CredentialId, CipherError>,
        on_batch: &mut (dyn FnMut(&RotationProgress) -> ControlFlow<()> + Send),
    ) -> Result<PassOutcome, RotationError> {
        let target = self.target();
        let mut outcome = PassOutcome::default();
        let mut cursor = None;
        loop {
            let batch = self
                .repo
                .list_sealed_under_other_versions(target, cursor, self.batch_size.get())
                .await?;
            let Some(last) = batch.last() else {
                return Ok(outcome);
            };
            cursor = Some(last.id());
            for credential in &batch {
                if unreadable.contains_key(&credential.id()) {
                    continue;
                }
                let ad = AssociatedData::for_credential(
                    credential.id(),
                    credential.owner(),
                    credential.provider(),
                );
                let plaintext = match self.cipher.open(credential.sealed(), &ad) {
                    Ok(plaintext) => plaintext,
                    Err(reason) => {
                        unreadable.insert(credential.id(), reason);
                        progress.unreadable += 1;
                        continue;
                    }
                };
                let resealed = self
                    .cipher
                    .seal(&plaintext, &ad)
                    .map_err(RotationError::Seal)?;
                let swapped = self
                    .repo
                    .replace_sealed(credential.id(), credential.sealed(), &resealed)
                    .await?;
                if swapped {
                    outcome.resealed += 1;
                    progress.resealed += 1;
                } else {
                    outcome.changed_concurrently += 1;
                    progress.changed_concurrently += 1;
                }
            }
            if on_batch(progress).is_break() {
                outcome.interrupted = true;
                return Ok(outcome);
            }
        }
    }
}
