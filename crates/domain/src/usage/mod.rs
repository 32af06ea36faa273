//! Key usage (SPEC §12): verifications counted per key and UTC day, buffered in memory
//! ([`UsageBuffer`]) so the request path never writes, and read back over a range of
//! days ([`DayRange`]).

mod buffer;
mod client;
mod range;

pub use buffer::{MinuteUses, Refusals, UsageBatch, UsageBuffer, minute_of};
pub use client::{BadClientAddress, ClientAddress};
pub use range::{DayRange, DayRangeError, FIRST_DAY, MAX_RANGE_DAYS};

use time::Date;

use crate::ids::KeyId;

/// Verifications counted together: those that let the request through and those that
/// refused a key keyward knows (SPEC §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UsageCounts {
    /// Verifications that succeeded, including the route's scope check.
    pub verified: u64,
    /// A known key refused: revoked, deactivated, expired, rotated out past its grace
    /// period, or lacking the scope the route requires (403).
    pub denied: u64,
}

impl UsageCounts {
    /// Adds `other` to `self`, saturating (a count never wraps).
    pub fn add(&mut self, other: Self) {
        self.verified = self.verified.saturating_add(other.verified);
        self.denied = self.denied.saturating_add(other.denied);
    }

    /// `true` when nothing was counted.
    pub fn is_zero(self) -> bool {
        self.verified == 0 && self.denied == 0
    }
}

/// The counts of one key on one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyUsage {
    pub key: KeyId,
    /// The UTC calendar day the verifications happened on.
    pub date: Date,
    pub counts: UsageCounts,
}

/// A key's counts summed over a range of days, with its name (for
/// `GET /v1/customer/usage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUsageTotal {
    pub key: KeyId,
    pub name: String,
    pub counts: UsageCounts,
}

/// How one verification of a key known to keyward ended, as usage counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseOutcome {
    /// The key was valid and allowed what the route requires.
    Verified,
    /// The key was valid but lacks the route's scope (403). Still a use of the key: its
    /// `lastUsedAt` moves.
    ScopeDenied,
    /// The key is revoked, deactivated, expired or rotated out past its grace period.
    /// `lastUsedAt` does not move; the customer is alerted (`revoked_key_used`).
    Refused(RefusalReason),
}

/// Why a key keyward knows was refused, most telling first: a revoked key is also
/// inactive, and an expired one may be rotated out too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    Revoked,
    /// Deactivated (`PATCH {"active": false}`), never revoked.
    Deactivated,
    Expired,
    /// A secret replaced by a rotation, presented after its grace period.
    RotatedOut,
}

impl RefusalReason {
    /// How an alert's detail names it: "revoked", "deactivated", "expired", "rotated out".
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Revoked => "revoked",
            Self::Deactivated => "deactivated",
            Self::Expired => "expired",
            Self::RotatedOut => "rotated out",
        }
    }
}

impl UseOutcome {
    /// The count this outcome adds.
    pub fn counts(self) -> UsageCounts {
        match self {
            Self::Verified => UsageCounts {
                verified: 1,
                denied: 0,
            },
            Self::ScopeDenied | Self::Refused(_) => UsageCounts {
                verified: 0,
                denied: 1,
            },
        }
    }

    /// Whether the key authenticated (so `lastUsedAt` moves).
    pub fn authenticated(self) -> bool {
        !matches!(self, Self::Refused(_))
    }
}
