//! Ports to the world outside storage: time, randomness and usage recording.

use time::OffsetDateTime;

use crate::ids::KeyId;
use crate::usage::{ClientAddress, UseOutcome};

/// The current time. Services never read the system clock themselves, so tests can pin it.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in UTC, with at most microsecond precision (what both databases keep).
    fn now(&self) -> OffsetDateTime;
}

/// The system clock, truncated to microseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        truncate_to_micros(OffsetDateTime::now_utc())
    }
}

/// Drops sub-microsecond precision, which storage would drop anyway.
pub fn truncate_to_micros(at: OffsetDateTime) -> OffsetDateTime {
    let nanos = at.nanosecond();
    at.replace_nanosecond(nanos - nanos % 1_000).unwrap_or(at)
}

/// A source of secret random bytes.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait SecretGenerator: Send + Sync {
    /// 32 bytes from a cryptographically secure generator.
    ///
    /// # Errors
    /// `RandomUnavailable` when the operating system cannot supply randomness.
    fn secret_bytes(&self) -> Result<[u8; 32], RandomUnavailable>;
}

/// The operating system's random source failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random source failed")]
pub struct RandomUnavailable;

/// The OS CSPRNG through `ring`.
#[derive(Debug)]
pub struct OsSecretGenerator(ring::rand::SystemRandom);

impl Default for OsSecretGenerator {
    fn default() -> Self {
        Self(ring::rand::SystemRandom::new())
    }
}

impl SecretGenerator for OsSecretGenerator {
    fn secret_bytes(&self) -> Result<[u8; 32], RandomUnavailable> {
        let mut bytes = [0u8; 32];
        ring::rand::SecureRandom::fill(&self.0, &mut bytes).map_err(|_| RandomUnavailable)?;
        Ok(bytes)
    }
}

/// Takes note that a key keyward knows was presented, and how its verification ended
/// (SPEC §12: usage counts and alerts; SPEC §7: `lastUsedAt`). Must not block or write
/// synchronously: verification is on every request's path.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait UsageRecorder: Send + Sync {
    /// One use of `key` at `at`, from `client` when the caller knows it (an HTTP
    /// request's client address; `None` for uses with no client, such as a service's own
    /// calls).
    fn record(
        &self,
        key: KeyId,
        at: OffsetDateTime,
        outcome: UseOutcome,
        client: Option<ClientAddress>,
    );
}

/// A task that must finish once started.
pub type DetachedTask = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Runs a task to completion even when whoever awaits it stops waiting — an HTTP
/// handler's future is dropped when its client disconnects — so a write that follows a
/// committed change (its audit event) is not abandoned halfway.
pub trait TaskRunner: Send + Sync {
    /// Starts `task` so it completes on its own; the returned future completes when the
    /// task has (awaiting it keeps the caller's order of effects). Dropping the returned
    /// future must not stop the task.
    fn run_detached(&self, task: DetachedTask) -> DetachedTask;
}

/// Runs the task in the caller's future: dropping the caller drops the task. For tests
/// and single-shot commands (the CLI), where nothing is cancelled.
#[derive(Debug, Clone, Copy, Default)]
pub struct InlineTasks;

impl TaskRunner for InlineTasks {
    fn run_detached(&self, task: DetachedTask) -> DetachedTask {
        task
    }
}
