//! The public singer API's budgets per client IP (SPEC §8): singers browse and submit
//! without an account, so the client address is the only thing to meter (an IPv6
//! client by its /64, see [`budget_key`]).

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::Quota;

use crate::budget::{KeyedBudget, RetryAfter, budget_key};
use crate::error::ApiError;

const fn non_zero(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

/// The public API's budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicLimits {
    /// Venue and song-search requests per minute per client IP (default 120: a singer
    /// typing a search sends one per keystroke or two).
    pub reads_per_minute: NonZeroU32,
    /// Song requests per minute per client IP (default 10).
    pub submissions_per_minute: NonZeroU32,
}

impl Default for PublicLimits {
    fn default() -> Self {
        Self {
            reads_per_minute: non_zero(120),
            submissions_per_minute: non_zero(10),
        }
    }
}

/// Per-IP budgets of the public API.
#[derive(Debug)]
pub struct PublicLimiter {
    limits: PublicLimits,
    reads: KeyedBudget<IpAddr>,
    submissions: KeyedBudget<IpAddr>,
}

impl PublicLimiter {
    pub fn new(limits: PublicLimits) -> Self {
        Self {
            limits,
            reads: KeyedBudget::new(Quota::per_minute(limits.reads_per_minute)),
            submissions: KeyedBudget::new(Quota::per_minute(limits.submissions_per_minute)),
        }
    }

    /// Forgets addresses whose budgets have refilled (see [`KeyedBudget::sweep`]).
    pub fn sweep(&self) {
        self.reads.sweep();
        self.submissions.sweep();
    }

    /// # Errors
    /// 429 with `Retry-After` when `client` spent its read budget.
    pub fn check_read(&self, client: IpAddr) -> Result<(), ApiError> {
        self.reads
            .check(&budget_key(client))
            .map_err(|wait| limited(self.limits.reads_per_minute, ["request", "requests"], wait))
    }

    /// # Errors
    /// 429 with `Retry-After` when `client` spent its submission budget.
    pub fn check_submission(&self, client: IpAddr) -> Result<(), ApiError> {
        self.submissions.check(&budget_key(client)).map_err(|wait| {
            limited(
                self.limits.submissions_per_minute,
                ["song request", "song requests"],
                wait,
            )
        })
    }
}

/// 429 for a spent budget of `limit` per minute; `[one, many]` name what is counted.
fn limited(limit: NonZeroU32, [one, many]: [&str; 2], wait: std::time::Duration) -> ApiError {
    let what = if limit.get() == 1 { one } else { many };
    ApiError::rate_limited(
        format_args!("at most {limit} {what} per minute"),
        RetryAfter::after(wait),
    )
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::error::tests::retry_after_told;

    const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    fn limiter(reads: u32, submissions: u32) -> PublicLimiter {
        PublicLimiter::new(PublicLimits {
            reads_per_minute: non_zero(reads),
            submissions_per_minute: non_zero(submissions),
        })
    }

    #[test]
    fn a_spent_read_budget_tells_the_wait_it_sends_as_retry_after() {
        let limiter = limiter(2, 10);
        limiter.check_read(CLIENT).unwrap();
        limiter.check_read(CLIENT).unwrap();

        let refused = limiter.check_read(CLIENT).unwrap_err();

        let seconds = retry_after_told(&refused);
        assert!((1..=30).contains(&seconds), "{seconds}");
        assert!(
            refused
                .detail()
                .starts_with("at most 2 requests per minute; "),
            "{}",
            refused.detail()
        );
    }

    #[test]
    fn a_spent_submission_budget_of_one_reads_in_the_singular() {
        let limiter = limiter(120, 1);
        limiter.check_submission(CLIENT).unwrap();

        let refused = limiter.check_submission(CLIENT).unwrap_err();

        let seconds = retry_after_told(&refused);
        assert!((1..=60).contains(&seconds), "{seconds}");
        assert!(
            refused
                .detail()
                .starts_with("at most 1 song request per minute; "),
            "{}",
            refused.detail()
        );
    }
}
