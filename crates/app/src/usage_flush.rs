//! Writes the buffered last-used times of API keys to storage (SPEC §7): verification
//! only notes a use in memory; this task writes the batch on an interval and once more
//! on shutdown. A failed write puts the batch back so the next flush retries it.

use std::sync::Arc;
use std::time::Duration;

use keyward_domain::ports::{ApiKeyRepository, StorageError};
use keyward_domain::usage::UsageBuffer;
use tokio::sync::watch;

/// Moves uses from the buffer to the repository.
#[derive(Clone)]
pub struct UsageFlusher {
    buffer: Arc<UsageBuffer>,
    repo: Arc<dyn ApiKeyRepository>,
}

impl std::fmt::Debug for UsageFlusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageFlusher")
            .field("pending", &self.buffer.pending())
            .finish_non_exhaustive()
    }
}

impl UsageFlusher {
    pub fn new(buffer: Arc<UsageBuffer>, repo: Arc<dyn ApiKeyRepository>) -> Self {
        Self { buffer, repo }
    }

    /// Writes everything buffered so far; returns how many keys changed.
    ///
    /// # Errors
    /// The repository's error; the batch is back in the buffer then.
    pub async fn flush(&self) -> Result<u64, StorageError> {
        let batch = self.buffer.drain();
        if batch.is_empty() {
            return Ok(0);
        }
        match self.repo.record_last_used(&batch).await {
            Ok(changed) => Ok(changed),
            Err(err) => {
                self.buffer.restore(batch);
                Err(err)
            }
        }
    }

    /// Flushes and logs the outcome (the one place a flush failure is logged).
    pub async fn flush_and_log(&self) {
        match self.flush().await {
            Ok(0) => {}
            Ok(changed) => tracing::debug!(changed, "recorded key usage"),
            Err(err) => tracing::warn!(
                error = %err,
                pending = self.buffer.pending(),
                "could not record key usage; will retry"
            ),
        }
    }

    /// Flushes every `interval` until `stop` turns true.
    pub async fn run(self, interval: Duration, mut stop: watch::Receiver<bool>) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = ticker.tick() => self.flush_and_log().await,
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_domain::KeyId;
    use keyward_domain::ports::{MockApiKeyRepository, UsageRecorder};
    use time::macros::datetime;

    #[tokio::test]
    async fn failed_flush_keeps_the_batch_for_the_next_one() {
        let buffer = Arc::new(UsageBuffer::new());
        let key = KeyId::generate();
        buffer.record(key, datetime!(2026-01-01 10:00 UTC));
        let mut repo = MockApiKeyRepository::new();
        repo.expect_record_last_used()
            .times(1)
            .returning(|_| Err(StorageError::unavailable("down")));
        repo.expect_record_last_used()
            .times(1)
            .returning(|uses| Ok(uses.len() as u64));
        let flusher = UsageFlusher::new(buffer.clone(), Arc::new(repo));

        assert!(flusher.flush().await.is_err());
        assert_eq!(buffer.pending(), 1);
        assert_eq!(flusher.flush().await.unwrap(), 1);
        assert_eq!(buffer.pending(), 0);
    }

    #[tokio::test]
    async fn empty_buffer_does_not_touch_storage() {
        let repo = MockApiKeyRepository::new();
        let flusher = UsageFlusher::new(Arc::new(UsageBuffer::new()), Arc::new(repo));

        assert_eq!(flusher.flush().await.unwrap(), 0);
    }
}
