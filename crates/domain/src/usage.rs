//! An in-memory buffer of key usage, so verification never writes to storage on the
//! request path. Whoever owns the buffer drains it on an interval and on shutdown and
//! hands the batch to `ApiKeyRepository::record_last_used`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use time::OffsetDateTime;

use crate::ids::KeyId;
use crate::ports::UsageRecorder;

/// Latest use per key since the last drain. Its size is bounded by the number of keys.
#[derive(Debug, Default)]
pub struct UsageBuffer {
    latest: Mutex<HashMap<KeyId, OffsetDateTime>>,
}

impl UsageBuffer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes everything recorded so far, leaving the buffer empty.
    pub fn drain(&self) -> Vec<(KeyId, OffsetDateTime)> {
        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        latest.drain().collect()
    }

    /// Puts a batch back after a failed flush, keeping whichever time is later.
    pub fn restore(&self, batch: Vec<(KeyId, OffsetDateTime)>) {
        for (key, at) in batch {
            self.record(key, at);
        }
    }

    /// Number of keys waiting to be flushed.
    pub fn pending(&self) -> usize {
        self.latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl UsageRecorder for UsageBuffer {
    fn record(&self, key: KeyId, at: OffsetDateTime) {
        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        latest
            .entry(key)
            .and_modify(|seen| *seen = (*seen).max(at))
            .or_insert(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn keeps_only_the_latest_use_per_key() {
        let buffer = UsageBuffer::new();
        let key = KeyId::generate();
        buffer.record(key, datetime!(2026-01-01 10:00 UTC));
        buffer.record(key, datetime!(2026-01-01 09:00 UTC));
        assert_eq!(buffer.drain(), vec![(key, datetime!(2026-01-01 10:00 UTC))]);
        assert_eq!(buffer.pending(), 0);
    }

    #[test]
    fn restore_does_not_move_a_newer_use_backward() {
        let buffer = UsageBuffer::new();
        let key = KeyId::generate();
        buffer.record(key, datetime!(2026-01-01 10:00 UTC));
        let batch = buffer.drain();
        buffer.record(key, datetime!(2026-01-01 11:00 UTC));
        buffer.restore(batch);
        assert_eq!(buffer.drain(), vec![(key, datetime!(2026-01-01 11:00 UTC))]);
    }
}
