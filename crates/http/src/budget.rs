//! Request budgets keyed by client input (an API key's id, a customer, a client IP):
//! GCRA through governor's keyed limiter, with the wait until the next allowed request
//! when a budget is spent. The state is per process, like the rotation budget (several
//! instances each enforce it on their own).
//!
//! Memory stays bounded and every check is O(1): a check only touches its own key, and
//! [`KeyedBudget::sweep`] — run on a timer, off the request path (`AppState::sweep_budgets`)
//! — forgets every key whose budget is full again, so what is kept is at most what the
//! quota lets through between two sweeps.

use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::HttpRequest;
use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

type Limiter<K, C> =
    RateLimiter<K, DefaultKeyedStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// A budget per key.
pub struct KeyedBudget<K: Hash + Eq + Clone, C: Clock = DefaultClock> {
    limiter: Limiter<K, C>,
    clock: C,
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
        }
    }

    /// Takes one request from `key`'s budget. O(1): touches only `key`'s entry.
    ///
    /// # Errors
    /// The time until the next request would be allowed, when the budget is spent.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets every key whose budget has refilled completely (it would behave exactly
    /// the same if it were seen for the first time), and gives the memory back.
    pub fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// How many keys are tracked now.
    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.limiter.is_empty()
    }
}

/// Whole seconds to wait, rounded up and at least 1 (for `Retry-After` and messages).
pub fn retry_after_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The address budgets are kept for: the TCP peer. (Behind a reverse proxy that is the
/// proxy; keyward does not trust forwarding headers, which any client can write.)
pub fn client_ip(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip())
}

/// The budget of failed API key verifications per client IP (SPEC §7,
/// `auth.failed_per_minute`): a failure spends it, a success does not, and once it is
/// spent every request from that address that presents a key is refused (HTTP 429, or
/// `error: true` on the OpenKJ endpoint) — valid keys included, so a blocked address
/// cannot tell a good guess from a bad one — until a verification is allowed again.
///
/// Checking costs one atomic load while no address is blocked; blocked addresses are
/// kept in a map that [`Self::sweep`] empties of expired blocks.
pub struct FailedVerifications<C: Clock = DefaultClock> {
    failures: KeyedBudget<IpAddr, C>,
    per_minute: NonZeroU32,
    /// Blocked addresses, with the end of their block (nanoseconds after `origin`).
    blocked: DashMap<IpAddr, u64>,
    /// The latest end of any block (nanoseconds after `origin`); 0 when none may be in
    /// force, which lets [`Self::admit`] skip the map and the clock.
    latest_block_end: AtomicU64,
    clock: C,
    origin: C::Instant,
}

impl<C: Clock> std::fmt::Debug for FailedVerifications<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailedVerifications")
            .field("per_minute", &self.per_minute)
            .finish_non_exhaustive()
    }
}

impl FailedVerifications {
    /// Allows `per_minute` failures per address (a burst of that many, refilling one
    /// every `60 / per_minute` seconds).
    pub fn new(per_minute: NonZeroU32) -> Self {
        Self::with_clock(per_minute, DefaultClock::default())
    }
}

impl<C: Clock + Clone> FailedVerifications<C> {
    /// [`Self::new`] reading time from `clock` (a fake one in tests).
    pub fn with_clock(per_minute: NonZeroU32, clock: C) -> Self {
        Self {
            failures: KeyedBudget::with_clock(Quota::per_minute(per_minute), clock.clone()),
            per_minute,
            blocked: DashMap::new(),
            latest_block_end: AtomicU64::new(0),
            origin: clock.now(),
            clock,
        }
    }

    /// The configured budget (for messages).
    pub fn per_minute(&self) -> NonZeroU32 {
        self.per_minute
    }

    /// What a refused client is told, with the wait in whole seconds.
    pub fn refusal(&self, wait: Duration) -> String {
        format!(
            "too many failed API key verifications from this address (at most {} per minute); try again in {} s",
            self.per_minute,
            retry_after_seconds(wait)
        )
    }

    fn elapsed_nanos(&self) -> u64 {
        let elapsed: Duration = self.clock.now().duration_since(self.origin).into();
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }

    /// Whether `client` may present a key now.
    ///
    /// # Errors
    /// The remaining wait while `client` is blocked.
    pub fn admit(&self, client: IpAddr) -> Result<(), Duration> {
        if self.latest_block_end.load(Ordering::Relaxed) == 0 {
            return Ok(());
        }
        let Some(end) = self.blocked.get(&client).map(|end| *end) else {
            return Ok(());
        };
        let now = self.elapsed_nanos();
        if end > now {
            Err(Duration::from_nanos(end - now))
        } else {
            Ok(())
        }
    }

    /// Spends one failure of `client`'s budget.
    ///
    /// # Errors
    /// The wait until `client` may try again, when this failure was one too many; the
    /// address is blocked until then (logged at WARN once per block).
    pub fn failed(&self, client: IpAddr) -> Result<(), Duration> {
        let wait = self.failures.check(&client).err();
        let Some(wait) = wait else {
            return Ok(());
        };
        let end = self
            .elapsed_nanos()
            .saturating_add(u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX))
            .max(1);
        let newly = self.blocked.insert(client, end).is_none();
        self.latest_block_end.fetch_max(end, Ordering::Relaxed);
        if newly {
            tracing::warn!(
                client_ip = %client,
                failed_per_minute = self.per_minute.get(),
                "too many failed API key verifications from this address; refusing its keys for now"
            );
        }
        Err(wait)
    }

    /// Forgets refilled budgets and ended blocks.
    pub fn sweep(&self) {
        self.failures.sweep();
        let now = self.elapsed_nanos();
        self.blocked.retain(|_, end| *end > now);
        self.blocked.shrink_to_fit();
        if self.blocked.is_empty() {
            // A block recorded between the retain and here keeps its entry and raises
            // the mark again below; compare-and-swap so it is never lost.
            let latest = self.latest_block_end.load(Ordering::Relaxed);
            if latest <= now {
                let _ = self.latest_block_end.compare_exchange(
                    latest,
                    0,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
        }
    }

    /// How many addresses are tracked (budgets being spent, blocks in force).
    pub fn tracked(&self) -> usize {
        self.failures.len() + self.blocked.len()
    }
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
    fn a_sweep_forgets_refilled_keys_and_keeps_spent_ones() {
        let clock = FakeRelativeClock::default();
        let budget = KeyedBudget::with_clock(per_minute(1), clock.clone());
        for n in 0..10_000 {
            budget.check(&n).unwrap();
        }
        clock.advance(Duration::from_secs(120));
        budget.check(&u32::MAX).unwrap();

        budget.sweep();

        assert_eq!(budget.len(), 1, "only the key spent since is kept");
        assert!(budget.check(&u32::MAX).is_err(), "and it is still spent");
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    #[test]
    fn failures_past_the_budget_block_the_address_until_one_refills() {
        let clock = FakeRelativeClock::default();
        let failures = FailedVerifications::with_clock(NonZeroU32::new(3).unwrap(), clock.clone());
        for _ in 0..3 {
            failures.admit(ip(1)).unwrap();
            failures.failed(ip(1)).unwrap();
        }

        let wait = failures.failed(ip(1)).unwrap_err();

        assert_eq!(retry_after_seconds(wait), 20, "one of three per minute");
        assert_eq!(failures.admit(ip(1)), Err(wait));
        assert!(
            failures.admit(ip(2)).is_ok(),
            "other addresses are not blocked"
        );
        clock.advance(wait);
        assert!(failures.admit(ip(1)).is_ok());
        assert!(failures.failed(ip(1)).is_ok(), "one failure refilled");
        assert!(failures.failed(ip(1)).is_err());
    }

    #[test]
    fn successes_do_not_spend_the_budget() {
        let failures = FailedVerifications::with_clock(
            NonZeroU32::new(2).unwrap(),
            FakeRelativeClock::default(),
        );

        for _ in 0..1_000 {
            failures.admit(ip(1)).unwrap();
        }

        assert!(failures.failed(ip(1)).is_ok());
        assert!(failures.failed(ip(1)).is_ok());
        assert!(failures.failed(ip(1)).is_err());
    }

    #[test]
    fn a_sweep_forgets_ended_blocks_and_refilled_addresses() {
        let clock = FakeRelativeClock::default();
        let failures = FailedVerifications::with_clock(NonZeroU32::new(1).unwrap(), clock.clone());
        for last in 0..=255 {
            failures.failed(ip(last)).unwrap();
        }
        let wait = failures.failed(ip(7)).unwrap_err();
        assert_eq!(failures.tracked(), 257);

        clock.advance(wait + Duration::from_secs(60));
        failures.sweep();

        assert_eq!(failures.tracked(), 0);
        assert!(failures.admit(ip(7)).is_ok());
        assert!(failures.failed(ip(7)).is_ok());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(2001)), 3);
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
    }
}
