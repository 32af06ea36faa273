//! The rotation budget of SPEC §6: at most five key rotations per customer per hour.
//!
//! A GCRA limiter (governor) keyed by customer id, with a burst of five and one cell
//! replenished per hour. That never allows a sixth rotation inside any hour; after the
//! burst is spent, one more becomes available each hour. The state is per process:
//! several instances each enforce the budget on their own (see ADR 0023).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::Quota;
use governor::clock::{Clock, DefaultClock};
use keyward_domain::CustomerId;

use crate::budget::{IdHasher, KeyedBudget, RetryAfter};
use crate::error::ApiError;

/// Rotations a customer may make in one hour.
pub const ROTATIONS_PER_HOUR: NonZeroU32 = match NonZeroU32::new(5) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};

const ONE_HOUR: Duration = Duration::from_secs(3600);

/// Per-customer rotation budget.
#[derive(Debug)]
pub struct RotationLimiter<C: Clock = DefaultClock> {
    budget: KeyedBudget<CustomerId, C, IdHasher>,
}

impl Default for RotationLimiter {
    fn default() -> Self {
        Self::with_clock(DefaultClock::default())
    }
}

impl<C: Clock + Clone> RotationLimiter<C> {
    /// A limiter reading time from `clock` (a fake one in tests).
    pub fn with_clock(clock: C) -> Self {
        // One cell per hour, five at once: never a sixth rotation inside any hour.
        let quota = Quota::with_period(ONE_HOUR)
            .unwrap_or_else(|| Quota::per_hour(ROTATIONS_PER_HOUR))
            .allow_burst(ROTATIONS_PER_HOUR);
        Self {
            budget: KeyedBudget::with_clock(quota, clock),
        }
    }

    /// Takes one rotation from `customer`'s budget.
    ///
    /// # Errors
    /// 429 `rate_limited` with `Retry-After` when the budget is spent.
    pub fn check(&self, customer: CustomerId) -> Result<(), ApiError> {
        self.budget.check(&customer).map_err(|wait| {
            ApiError::rate_limited(
                format_args!("at most {ROTATIONS_PER_HOUR} key rotations per hour"),
                RetryAfter::after(wait),
            )
        })
    }

    /// Forgets customers whose budget has refilled (see [`KeyedBudget::sweep`]).
    pub fn sweep(&self) {
        self.budget.sweep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ProblemType;
    use crate::error::tests::retry_after_told;
    use governor::clock::FakeRelativeClock;

    #[test]
    fn sixth_rotation_within_an_hour_is_refused_with_the_wait() {
        let clock = FakeRelativeClock::default();
        let limiter = RotationLimiter::with_clock(clock.clone());
        let customer = CustomerId::generate();
        for _ in 0..5 {
            limiter.check(customer).unwrap();
        }
        clock.advance(Duration::from_secs(59 * 60));

        let refused = limiter.check(customer).unwrap_err();

        assert_eq!(refused.kind(), ProblemType::RateLimited);
        assert_eq!(
            refused.detail(),
            "at most 5 key rotations per hour; try again in 60 seconds"
        );
        assert_eq!(retry_after_told(&refused), 60);
    }

    #[test]
    fn the_wait_told_is_the_retry_after_sent_to_the_second() {
        let clock = FakeRelativeClock::default();
        let limiter = RotationLimiter::with_clock(clock.clone());
        let customer = CustomerId::generate();
        for _ in 0..5 {
            limiter.check(customer).unwrap();
        }

        // Just spent: a fraction under an hour to wait, told and sent as 3600.
        clock.advance(Duration::from_millis(1));
        assert_eq!(
            retry_after_told(&limiter.check(customer).unwrap_err()),
            3600
        );

        // 2 ms left: "1 second", Retry-After: 1.
        clock.advance(Duration::from_millis(3_599_998));
        let refused = limiter.check(customer).unwrap_err();
        assert_eq!(retry_after_told(&refused), 1);
        assert!(refused.detail().ends_with("try again in 1 second"));
    }

    #[test]
    fn budget_comes_back_one_per_hour() {
        let clock = FakeRelativeClock::default();
        let limiter = RotationLimiter::with_clock(clock.clone());
        let customer = CustomerId::generate();
        for _ in 0..5 {
            limiter.check(customer).unwrap();
        }

        clock.advance(ONE_HOUR);

        assert!(limiter.check(customer).is_ok());
        assert!(limiter.check(customer).is_err());
    }

    #[test]
    fn customers_have_separate_budgets() {
        let limiter = RotationLimiter::with_clock(FakeRelativeClock::default());
        let busy = CustomerId::generate();
        for _ in 0..5 {
            limiter.check(busy).unwrap();
        }

        assert!(limiter.check(busy).is_err());
        assert!(limiter.check(CustomerId::generate()).is_ok());
    }
}
