//! Request budgets keyed by client input (an API key's id, a customer, a client IP):
//! GCRA through governor's keyed limiter, with the wait until the next allowed request
//! when a budget is spent. The state is per process, like the rotation budget (several
//! instances each enforce it on their own).
//!
//! Every check is O(1): it only touches its own key. [`KeyedBudget::sweep`] — run on a
//! timer, off the request path (`AppState::sweep_budgets`) — forgets every key whose
//! budget is full again, so what is kept is proportional to the distinct clients seen
//! within about one refill period plus one sweep interval.

use std::hash::{BuildHasher, Hash, RandomState};
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

type Limiter<K, C, S> =
    RateLimiter<K, DashMapStateStore<K, S>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The hasher of budgets keyed by ids keyward generated (API key ids, customers), which
/// a client cannot choose: foldhash, several times cheaper than std's SipHash. Budgets
/// keyed by client input (IP addresses) keep SipHash, which a client cannot aim
/// collisions at.
pub type IdHasher = foldhash::fast::RandomState;

/// A budget per key; `S` hashes the keys (see [`IdHasher`]).
pub struct KeyedBudget<
    K: Hash + Eq + Clone,
    C: Clock = DefaultClock,
    S: BuildHasher + Clone = RandomState,
> {
    limiter: Limiter<K, C, S>,
    clock: C,
}

impl<K: Hash + Eq + Clone, C: Clock, S: BuildHasher + Clone> std::fmt::Debug
    for KeyedBudget<K, C, S>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedBudget").finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone, S: BuildHasher + Clone + Default> KeyedBudget<K, DefaultClock, S> {
    pub fn new(quota: Quota) -> Self {
        Self::with_clock(quota, DefaultClock::default())
    }
}

impl<K: Hash + Eq + Clone, C: Clock + Clone, S: BuildHasher + Clone + Default>
    KeyedBudget<K, C, S>
{
    /// A budget reading time from `clock` (a fake one in tests).
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        Self {
            limiter: RateLimiter::new(
                quota,
                DashMapStateStore::with_hasher(S::default()),
                clock.clone(),
            ),
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
        if self.limiter.is_empty() {
            // Cheap when empty; shrinking a busy map would rehash it under its locks
            // only for it to grow straight back.
            self.limiter.shrink_to_fit();
        }
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

/// How long a refused client is told to wait: whole seconds, the wait rounded up and at
/// least 1. One value serves both the `Retry-After` header and the message of the same
/// response ([`crate::error::ApiError::rate_limited`]), so the two cannot disagree.
/// Displays as `1 second` or `N seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(u64);

impl RetryAfter {
    /// The wait until the budget allows another request, rounded up to whole seconds.
    pub fn after(wait: Duration) -> Self {
        Self((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1))
    }

    /// Whole seconds (at least 1): the `Retry-After` value.
    pub fn seconds(self) -> u64 {
        self.0
    }
}

/// A wait already in whole seconds (at least 1).
impl From<u64> for RetryAfter {
    fn from(seconds: u64) -> Self {
        Self(seconds.max(1))
    }
}

impl std::fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            1 => f.write_str("1 second"),
            n => write!(f, "{n} seconds"),
        }
    }
}

/// What a per-client budget is kept for: an IPv4 address, or the /64 network of an
/// IPv6 one — a single host is routinely given a whole /64 (RFC 6177), so budgets per
/// IPv6 address would let one client rotate through fresh budgets.
pub fn budget_key(client: IpAddr) -> IpAddr {
    match client.to_canonical() {
        IpAddr::V6(address) => {
            IpAddr::V6(Ipv6Addr::from(u128::from(address) & !u128::from(u64::MAX)))
        }
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// The budget of failed API key verifications per client (SPEC §7,
/// `auth.failed_per_minute`), by [`budget_key`].
///
/// Every verification takes a cell *before* the key is looked up, and a successful one
/// gives it back: so a failure spends the budget and a success does not, however many
/// requests a client has in flight at once. Once the budget is spent, every request from
/// that client that presents a key is refused (HTTP 429, or `error: true` on the OpenKJ
/// endpoint) — valid keys included, so a refused client cannot tell a good guess from a
/// bad one — until a cell refills.
///
/// The arithmetic is GCRA (the algorithm governor uses, which has no way to give a cell
/// back): one "theoretical arrival time" per client, a burst of `per_minute`, refilling
/// evenly over the minute. A client whose budget is full is not kept: a success removes
/// its entry, and [`Self::sweep`] forgets every refilled one.
pub struct FailedVerifications<C: Clock = DefaultClock> {
    per_minute: NonZeroU32,
    /// Nanoseconds per cell.
    emission_interval: u64,
    /// How far ahead of now a client's arrival time may run: `per_minute` cells.
    capacity: u64,
    clients: DashMap<IpAddr, Spent>,
    clock: C,
    origin: C::Instant,
    /// Bursts so far: SPEC §12's operator alert `failed_auth_burst`.
    bursts: AtomicU64,
}

/// One client's spending.
#[derive(Debug, Clone, Copy)]
struct Spent {
    /// When the budget will be full again (nanoseconds after `origin`).
    full_at: u64,
    /// This burst was logged and counted; reset once the budget is full again (a client
    /// that keeps failing at the refill rate stays in one burst).
    warned: bool,
}

/// A cell taken by [`FailedVerifications::take`]; give it back with
/// [`FailedVerifications::give_back`] when the verification succeeds.
#[derive(Debug)]
#[must_use = "a successful verification gives its cell back"]
pub struct Cell(IpAddr);

impl<C: Clock> std::fmt::Debug for FailedVerifications<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailedVerifications")
            .field("per_minute", &self.per_minute)
            .finish_non_exhaustive()
    }
}

impl FailedVerifications {
    /// Allows `per_minute` failures per client (a burst of that many, refilling one
    /// every `60 / per_minute` seconds).
    pub fn new(per_minute: NonZeroU32) -> Self {
        Self::with_clock(per_minute, DefaultClock::default())
    }
}

impl<C: Clock + Clone> FailedVerifications<C> {
    /// [`Self::new`] reading time from `clock` (a fake one in tests).
    pub fn with_clock(per_minute: NonZeroU32, clock: C) -> Self {
        let minute = 60_000_000_000_u64;
        let emission_interval = minute / u64::from(per_minute.get());
        Self {
            per_minute,
            emission_interval,
            capacity: emission_interval * u64::from(per_minute.get()),
            clients: DashMap::new(),
            origin: clock.now(),
            clock,
            bursts: AtomicU64::new(0),
        }
    }

    /// How many bursts there were since start: a client spent its budget, counted once
    /// until its budget is full again (a client failing on at the refill rate stays in
    /// one burst). `keyward_failed_auth_bursts_total` in `/metrics`.
    pub fn bursts(&self) -> u64 {
        self.bursts.load(Ordering::Relaxed)
    }

    /// The configured budget (for messages).
    pub fn per_minute(&self) -> NonZeroU32 {
        self.per_minute
    }

    /// Why a client is refused, without the wait (each caller adds it: the 429's
    /// message with its `Retry-After`, the OpenKJ reply in its own words).
    pub fn refusal(&self) -> String {
        format!(
            "too many failed API key verifications from this address (at most {} per minute)",
            self.per_minute,
        )
    }

    fn now(&self) -> u64 {
        let elapsed: Duration = self.clock.now().duration_since(self.origin).into();
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }

    /// Takes a cell of `client`'s budget before its key is verified.
    ///
    /// # Errors
    /// The wait until a cell refills, when the budget is spent (the first refusal of a
    /// burst is logged at WARN and counted; see [`Self::bursts`]).
    pub fn take(&self, client: IpAddr) -> Result<Cell, Duration> {
        let key = budget_key(client);
        let now = self.now();
        let mut entry = self.clients.entry(key).or_insert(Spent {
            full_at: now,
            warned: false,
        });
        let spent = entry.value_mut();
        let full_at = spent.full_at.max(now) + self.emission_interval;
        if full_at - now > self.capacity {
            let wait = Duration::from_nanos(full_at - now - self.capacity);
            if !spent.warned {
                spent.warned = true;
                self.bursts.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    alert = "failed_auth_burst",
                    client_ip = %key,
                    failed_per_minute = self.per_minute.get(),
                    "too many failed API key verifications from this address; refusing its keys for now"
                );
            }
            return Err(wait);
        }
        if spent.full_at <= now {
            // The budget was full: whatever comes next is a new burst.
            spent.warned = false;
        }
        spent.full_at = full_at;
        Ok(Cell(key))
    }

    /// Gives back the cell of a verification that succeeded.
    #[allow(
        clippy::needless_pass_by_value,
        reason = "taking the cell by value makes it impossible to give it back twice"
    )]
    pub fn give_back(&self, cell: Cell) {
        let now = self.now();
        self.clients.remove_if_mut(&cell.0, |_, spent| {
            spent.full_at = spent.full_at.saturating_sub(self.emission_interval);
            spent.full_at <= now
        });
    }

    /// Forgets every client whose budget is full again.
    pub fn sweep(&self) {
        let now = self.now();
        self.clients.retain(|_, spent| spent.full_at > now);
        if self.clients.len() < self.clients.capacity() / 4 {
            self.clients.shrink_to_fit();
        }
    }

    /// How many clients are tracked (budgets not yet full again).
    pub fn tracked(&self) -> usize {
        self.clients.len()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::num::NonZeroU32;

    use governor::clock::FakeRelativeClock;

    use super::*;

    fn per_minute(n: u32) -> Quota {
        Quota::per_minute(NonZeroU32::new(n).unwrap())
    }

    #[test]
    fn budget_allows_the_burst_then_reports_the_wait() {
        let clock = FakeRelativeClock::default();
        let budget: KeyedBudget<_, _> = KeyedBudget::with_clock(per_minute(3), clock.clone());
        for _ in 0..3 {
            budget.check(&"key").unwrap();
        }

        let wait = budget.check(&"key").unwrap_err();

        assert_eq!(RetryAfter::after(wait).seconds(), 20);
        clock.advance(wait);
        assert!(budget.check(&"key").is_ok());
    }

    #[test]
    fn keys_have_separate_budgets() {
        let budget: KeyedBudget<_, _> =
            KeyedBudget::with_clock(per_minute(1), FakeRelativeClock::default());
        budget.check(&"busy").unwrap();

        assert!(budget.check(&"busy").is_err());
        assert!(budget.check(&"idle").is_ok());
    }

    #[test]
    fn a_sweep_forgets_refilled_keys_and_keeps_spent_ones() {
        let clock = FakeRelativeClock::default();
        let budget: KeyedBudget<_, _> = KeyedBudget::with_clock(per_minute(1), clock.clone());
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

    fn three_per_minute() -> (FailedVerifications<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        let failures = FailedVerifications::with_clock(NonZeroU32::new(3).unwrap(), clock.clone());
        (failures, clock)
    }

    #[test]
    fn failures_past_the_budget_refuse_the_client_until_one_refills() {
        let (failures, clock) = three_per_minute();
        for _ in 0..3 {
            let _spent = failures.take(ip(1)).unwrap();
        }

        let wait = failures.take(ip(1)).unwrap_err();

        assert_eq!(
            RetryAfter::after(wait).seconds(),
            20,
            "one of three per minute"
        );
        assert!(
            failures.take(ip(2)).is_ok(),
            "other clients are not refused"
        );
        clock.advance(wait);
        let _spent = failures.take(ip(1)).unwrap();
        assert!(failures.take(ip(1)).is_err(), "only one refilled");
    }

    #[test]
    fn a_client_failing_at_the_refill_rate_is_one_burst_until_its_budget_is_full() {
        let (failures, clock) = three_per_minute();
        for _ in 0..3 {
            let _spent = failures.take(ip(1)).unwrap();
        }
        let wait = failures.take(ip(1)).unwrap_err();
        assert_eq!(failures.bursts(), 1);

        // One cell refills, is spent, and the next try is refused: the same burst.
        for _ in 0..5 {
            clock.advance(wait);
            let _spent = failures.take(ip(1)).unwrap();
            assert!(failures.take(ip(1)).is_err());
        }
        assert_eq!(failures.bursts(), 1, "still the first burst");

        // Quiet for a full minute: the budget is full, the next spending is a new burst.
        clock.advance(Duration::from_secs(60));
        for _ in 0..3 {
            let _spent = failures.take(ip(1)).unwrap();
        }
        assert!(failures.take(ip(1)).is_err());
        assert_eq!(failures.bursts(), 2);
    }

    #[test]
    fn successes_give_their_cell_back() {
        let (failures, _clock) = three_per_minute();

        for _ in 0..1_000 {
            let cell = failures.take(ip(1)).unwrap();
            failures.give_back(cell);
        }

        assert_eq!(failures.tracked(), 0, "a full budget is not kept");
        for _ in 0..3 {
            let _spent = failures.take(ip(1)).unwrap();
        }
        assert!(failures.take(ip(1)).is_err());
    }

    #[test]
    fn verifications_in_flight_at_once_each_take_a_cell_first() {
        let (failures, _clock) = three_per_minute();

        let in_flight: Vec<_> = (0..10).map(|_| failures.take(ip(1))).collect();

        assert_eq!(in_flight.iter().filter(|cell| cell.is_ok()).count(), 3);
    }

    #[test]
    fn an_ipv6_client_is_budgeted_by_its_64_network() {
        let (failures, _clock) = three_per_minute();
        let host = |n: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, n, n, n, n));
        for n in 0..3 {
            let _spent = failures.take(host(n)).unwrap();
        }

        assert!(failures.take(host(99)).is_err(), "same /64");
        assert!(
            failures
                .take(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1)))
                .is_ok(),
            "another /64"
        );
        assert_eq!(
            budget_key("::ffff:192.0.2.7".parse().unwrap()),
            ip(7),
            "an IPv4-mapped address is its IPv4 one"
        );
    }

    #[test]
    fn a_sweep_forgets_refilled_clients() {
        let (failures, clock) = three_per_minute();
        for last in 0..=255 {
            let _spent = failures.take(ip(last)).unwrap();
        }
        for _ in 0..3 {
            let _spent = failures.take(ip(7));
        }
        assert_eq!(failures.tracked(), 256);

        clock.advance(Duration::from_secs(60));
        failures.sweep();

        assert_eq!(failures.tracked(), 0);
        assert!(failures.take(ip(7)).is_ok());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let seconds = |wait| RetryAfter::after(wait).seconds();
        assert_eq!(seconds(Duration::from_millis(1)), 1);
        assert_eq!(seconds(Duration::from_millis(2001)), 3);
        assert_eq!(seconds(Duration::from_millis(3_599_001)), 3600);
        assert_eq!(seconds(Duration::ZERO), 1);
    }

    #[test]
    fn retry_after_reads_as_one_second_or_n_seconds() {
        assert_eq!(RetryAfter::after(Duration::ZERO).to_string(), "1 second");
        assert_eq!(
            RetryAfter::after(Duration::from_millis(1500)).to_string(),
            "2 seconds"
        );
        assert_eq!(
            RetryAfter::after(Duration::from_millis(3_599_001)).to_string(),
            "3600 seconds"
        );
    }
}
