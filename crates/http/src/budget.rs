//! A request budget per key (an API key's id, a client IP): GCRA through governor, with
//! the wait until the next allowed request when the budget is spent. The state is per
//! process, like the rotation budget (several instances each enforce it on their own).

use std::hash::Hash;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// Forget keys that have been idle long enough once this many are tracked.
const PRUNE_ABOVE: usize = 10_000;

/// How often (in checks) the tracked-key count is looked at. Counting locks every shard
/// of the limiter's map, so it is not done on every request; between two looks at most
/// this many new keys can be added, which bounds the overshoot of `PRUNE_ABOVE`.
const PRUNE_CHECK_EVERY: u32 = 1_024;

type Limiter<K, C> =
    RateLimiter<K, DefaultKeyedStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// A budget per key.
pub struct KeyedBudget<K: Hash + Eq + Clone, C: Clock = DefaultClock> {
    limiter: Limiter<K, C>,
    clock: C,
    checks: AtomicU32,
}

impl<K: Hash + Eq + Clone, C: Clock> std::fmt::Debug for KeyedBudget<K, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedBudget").finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone> KeyedBudget<K> {
    pub fn new(quota: Quota) -> Self {
        Self::with_clock(quota, DefaultClock::default())
    }
}

impl<K: Hash + Eq + Clone, C: Clock + Clone> KeyedBudget<K, C> {
    /// A budget reading time from `clock` (a fake one in tests).
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        Self {
            limiter: RateLimiter::new(quota, DefaultKeyedStateStore::default(), clock.clone()),
            clock,
            checks: AtomicU32::new(0),
        }
    }

    /// Takes one request from `key`'s budget.
    ///
    /// # Errors
    /// The time until the next request would be allowed, when the budget is spent.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        let checks = self.checks.fetch_add(1, Ordering::Relaxed);
        if checks.is_multiple_of(PRUNE_CHECK_EVERY) && self.limiter.len() > PRUNE_ABOVE {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// Whole seconds to wait, rounded up and at least 1 (for `Retry-After` and messages).
pub fn retry_after_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use governor::clock::FakeRelativeClock;

    use super::*;

    fn per_minute(n: u32) -> Quota {
        Quota::per_minute(NonZeroU32::new(n).unwrap())
    }

    #[test]
    fn budget_allows_the_burst_then_reports_the_wait() {
        let clock = FakeRelativeClock::default();
        let budget = KeyedBudget::with_clock(per_minute(3), clock.clone());
        for _ in 0..3 {
            budget.check(&"key").unwrap();
        }

        let wait = budget.check(&"key").unwrap_err();

        assert_eq!(retry_after_seconds(wait), 20);
        clock.advance(wait);
        assert!(budget.check(&"key").is_ok());
    }

    #[test]
    fn keys_have_separate_budgets() {
        let budget = KeyedBudget::with_clock(per_minute(1), FakeRelativeClock::default());
        budget.check(&"busy").unwrap();

        assert!(budget.check(&"busy").is_err());
        assert!(budget.check(&"idle").is_ok());
    }

    #[test]
    fn idle_keys_are_forgotten_once_too_many_are_tracked() {
        let clock = FakeRelativeClock::default();
        let budget = KeyedBudget::with_clock(per_minute(1), clock.clone());
        for n in 0..=PRUNE_ABOVE {
            budget.check(&n).unwrap();
        }
        assert_eq!(budget.limiter.len(), PRUNE_ABOVE + 1);
        clock.advance(Duration::from_secs(120));

        for _ in 0..PRUNE_CHECK_EVERY {
            let _ = budget.check(&usize::MAX);
        }

        assert!(
            budget.limiter.len() < 10,
            "{} keys still tracked",
            budget.limiter.len()
        );
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(2001)), 3);
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
    }
}
