//! The public singer API's budgets per client IP (SPEC §8): singers browse and submit
//! without an account, so the client address is the only thing to meter (an IPv6
//! client by its /64, see [`budget_key`]).

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::Quota;

use crate::budget::{KeyedBudget, budget_key, retry_after_seconds};
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
            .map_err(|wait| limited(self.limits.reads_per_minute, "requests", wait))
    }

    /// # Errors
    /// 429 with `Retry-After` when `client` spent its submission budget.
    pub fn check_submission(&self, client: IpAddr) -> Result<(), ApiError> {
        self.submissions
            .check(&budget_key(client))
            .map_err(|wait| limited(self.limits.submissions_per_minute, "song requests", wait))
    }
}

fn limited(limit: NonZeroU32, what: &str, wait: std::time::Duration) -> ApiError {
    let seconds = retry_after_seconds(wait);
    ApiError::rate_limited(
        format!("at most {limit} {what} per minute; try again in {seconds} seconds"),
        seconds,
    )
}
