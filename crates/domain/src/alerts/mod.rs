//! Suspicious-activity alerts about a key (SPEC §12): what was noticed, about which key,
//! when. Each is stored once per key, kind and hour.
//!
//! The detectors run where the usage buffer is flushed, never on the request path:
//! [`revoked_key_alerts`] from the refusals a flush drains, [`dormant_key_alerts`] from the
//! last-used times it moved, [`new_client_alerts`] from the client addresses it stored
//! for the first time, and [`SpikeDetector`] from its per-minute counts.

mod spike;

pub use spike::{MAX_WATCHED_KEYS, SPIKE_FACTOR, SPIKE_MINIMUM, SpikeDetector, TRAILING_MINUTES};

use std::fmt;
use std::str::FromStr;

use time::{Duration, OffsetDateTime, Time, UtcOffset};

use crate::ids::{AlertId, KeyId};
use crate::ports::{LastUseMoved, NewClientAddress, truncate_to_micros};
use crate::usage::Refusals;

/// How long a key must have gone unused for its next use to raise `dormant_key_used`
/// (SPEC §12: "first use after 30 days unused").
pub const DORMANT_AFTER: Duration = Duration::days(30);

/// What an alert is about (SPEC §12, the names are the wire's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertKind {
    /// A revoked, deactivated, expired or rotated-out key was presented: an integration
    /// still sends a key its owner retired.
    RevokedKeyUsed,
    /// A key older than a day was used from an address it was not seen using before.
    NewClientIp,
    /// A key's verifications in one minute exceeded ten times its trailing hourly
    /// per-minute average, and at least 100.
    UsageSpike,
    /// A key's first use after 30 days unused.
    DormantKeyUsed,
}

impl AlertKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [Self; 4] = [
        Self::RevokedKeyUsed,
        Self::NewClientIp,
        Self::UsageSpike,
        Self::DormantKeyUsed,
    ];

    /// The wire name, e.g. `revoked_key_used`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RevokedKeyUsed => "revoked_key_used",
            Self::NewClientIp => "new_client_ip",
            Self::UsageSpike => "usage_spike",
            Self::DormantKeyUsed => "dormant_key_used",
        }
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an alert kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be one of revoked_key_used, new_client_ip, usage_spike, dormant_key_used")]
pub struct UnknownAlertKind;

impl FromStr for AlertKind {
    type Err = UnknownAlertKind;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or(UnknownAlertKind)
    }
}

/// An alert as stored and listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAlert {
    pub id: AlertId,
    /// When the activity was noticed (UTC, microseconds).
    pub at: OffsetDateTime,
    pub key: KeyId,
    pub kind: AlertKind,
    /// One sentence for a person; never a secret (no key material, no other tenant's
    /// data). May name a client address.
    pub detail: String,
}

impl KeyAlert {
    /// The hour an alert is deduplicated in: `at` truncated to the hour, in UTC.
    pub fn hour(&self) -> OffsetDateTime {
        hour_of(self.at)
    }
}

/// One `revoked_key_used` alert per key presented after it was retired (SPEC §12), dated
/// at the latest such use (so it is deduplicated in that hour). The detail says how often
/// and why, never anything secret.
pub fn revoked_key_alerts(refusals: &[Refusals]) -> Vec<KeyAlert> {
    refusals
        .iter()
        .map(|refused| {
            let times = if refused.count == 1 {
                "once".to_owned()
            } else {
                format!("{} times", refused.count)
            };
            KeyAlert {
                id: AlertId::generate(),
                at: truncate_to_micros(refused.last_at.to_offset(UtcOffset::UTC)),
                key: refused.key,
                kind: AlertKind::RevokedKeyUsed,
                detail: format!(
                    "The key was presented {times} after it was {}; an integration still sends it.",
                    refused.reason.describe()
                ),
            }
        })
        .collect()
}

/// One `dormant_key_used` alert per key whose use a flush recorded after at least
/// [`DORMANT_AFTER`] without one (counted from its creation when it had never been used),
/// dated at that use.
pub fn dormant_key_alerts(moved: &[LastUseMoved]) -> Vec<KeyAlert> {
    moved
        .iter()
        .filter(|use_| use_.at - use_.idle_since() >= DORMANT_AFTER)
        .map(|use_| {
            let idle = (use_.at - use_.idle_since()).whole_days();
            let since = match use_.previous {
                Some(previous) => format!("last used {}", previous.date()),
                None => format!(
                    "never used since it was created on {}",
                    use_.created_at.date()
                ),
            };
            KeyAlert {
                id: AlertId::generate(),
                at: truncate_to_micros(use_.at.to_offset(UtcOffset::UTC)),
                key: use_.key,
                kind: AlertKind::DormantKeyUsed,
                detail: format!("The key was used after {idle} days unused ({since})."),
            }
        })
        .collect()
}

/// How old a key must be for a use from a new address to raise `new_client_ip` (SPEC
/// §12: "a key older than a day"): a key's first hours are when its integration is set up.
pub const NEW_CLIENT_MIN_KEY_AGE: Duration = Duration::days(1);

/// One `new_client_ip` alert per address a key older than [`NEW_CLIENT_MIN_KEY_AGE`]
/// was used from for the first time, dated at that use — when the key had been used
/// from other addresses before. A key whose earlier addresses are unknown (never used,
/// or used before keyward kept addresses) has nothing to compare with, so its first
/// address is learned without an alert.
pub fn new_client_alerts(new: &[NewClientAddress]) -> Vec<KeyAlert> {
    new.iter()
        .filter(|seen| {
            seen.known_before > 0 && seen.at - seen.key_created_at >= NEW_CLIENT_MIN_KEY_AGE
        })
        .map(|seen| {
            let others = if seen.known_before == 1 {
                "one other address".to_owned()
            } else {
                format!("{} other addresses", seen.known_before)
            };
            KeyAlert {
                id: AlertId::generate(),
                at: truncate_to_micros(seen.at.to_offset(UtcOffset::UTC)),
                key: seen.key,
                kind: AlertKind::NewClientIp,
                detail: format!(
                    "The key was used from {}, an address it was not used from before \
                     (it was used from {others}).",
                    seen.address
                ),
            }
        })
        .collect()
}

/// `at` truncated to the whole hour, in UTC.
pub fn hour_of(at: OffsetDateTime) -> OffsetDateTime {
    let utc = at.to_offset(UtcOffset::UTC);
    let hour = Time::from_hms(utc.hour(), 0, 0).unwrap_or(Time::MIDNIGHT);
    utc.replace_time(hour)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn kinds_round_trip_through_their_wire_names() {
        for kind in AlertKind::ALL {
            assert_eq!(kind.as_str().parse::<AlertKind>(), Ok(kind));
        }
        assert_eq!(
            "REVOKED_KEY_USED".parse::<AlertKind>(),
            Err(UnknownAlertKind)
        );
        assert_eq!("".parse::<AlertKind>(), Err(UnknownAlertKind));
    }

    #[test]
    fn a_refusal_becomes_one_alert_dated_at_its_latest_use_saying_why() {
        let key = KeyId::generate();
        let alerts = revoked_key_alerts(&[
            Refusals {
                key,
                count: 3,
                last_at: datetime!(2026-03-01 10:15:30.123456789 +01:00),
                reason: crate::usage::RefusalReason::Revoked,
            },
            Refusals {
                key,
                count: 1,
                last_at: datetime!(2026-03-01 10:00 UTC),
                reason: crate::usage::RefusalReason::RotatedOut,
            },
        ]);

        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].key, key);
        assert_eq!(alerts[0].kind, AlertKind::RevokedKeyUsed);
        assert_eq!(alerts[0].at, datetime!(2026-03-01 09:15:30.123456 UTC));
        assert_eq!(
            alerts[0].detail,
            "The key was presented 3 times after it was revoked; an integration still sends it."
        );
        assert_eq!(
            alerts[1].detail,
            "The key was presented once after it was rotated out; an integration still sends it."
        );
        assert_ne!(alerts[0].id, alerts[1].id);
    }

    #[test]
    fn a_use_after_thirty_days_or_more_unused_is_dormant() {
        let (old, fresh, never, young) = (
            KeyId::generate(),
            KeyId::generate(),
            KeyId::generate(),
            KeyId::generate(),
        );
        let at = datetime!(2026-03-31 12:00 UTC);
        let created_at = datetime!(2025-01-01 00:00 UTC);
        let alerts = dormant_key_alerts(&[
            LastUseMoved {
                key: old,
                at,
                previous: Some(datetime!(2026-03-01 12:00 UTC)),
                created_at,
            },
            LastUseMoved {
                key: fresh,
                at,
                previous: Some(datetime!(2026-03-01 12:00:00.000001 UTC)),
                created_at,
            },
            LastUseMoved {
                key: never,
                at,
                previous: None,
                created_at: datetime!(2026-01-15 08:00 UTC),
            },
            LastUseMoved {
                key: young,
                at,
                previous: None,
                created_at: datetime!(2026-03-30 08:00 UTC),
            },
        ]);

        let keys: Vec<KeyId> = alerts.iter().map(|alert| alert.key).collect();
        assert_eq!(keys, vec![old, never]);
        assert!(
            alerts
                .iter()
                .all(|alert| alert.kind == AlertKind::DormantKeyUsed)
        );
        assert!(alerts.iter().all(|alert| alert.at == at));
        assert_eq!(
            alerts[0].detail,
            "The key was used after 30 days unused (last used 2026-03-01)."
        );
        assert_eq!(
            alerts[1].detail,
            "The key was used after 75 days unused (never used since it was created on \
             2026-01-15)."
        );
    }

    #[test]
    fn a_new_address_of_a_key_older_than_a_day_with_known_addresses_is_alerted() {
        let at = datetime!(2026-03-31 12:00 UTC);
        let seen = |known_before: u64, age: Duration, address: &str| NewClientAddress {
            key: KeyId::generate(),
            address: address.parse().unwrap(),
            at,
            key_created_at: at - age,
            known_before,
        };
        let new = [
            seen(1, Duration::days(1), "192.0.2.7"),
            seen(3, Duration::days(40), "2001:db8:1:2::/64"),
            // Younger than a day.
            seen(
                5,
                Duration::days(1) - Duration::microseconds(1),
                "192.0.2.8",
            ),
            // Nothing known to compare with.
            seen(0, Duration::days(40), "192.0.2.9"),
        ];

        let alerts = new_client_alerts(&new);

        let keys: Vec<KeyId> = alerts.iter().map(|alert| alert.key).collect();
        assert_eq!(keys, vec![new[0].key, new[1].key]);
        assert!(
            alerts
                .iter()
                .all(|alert| alert.kind == AlertKind::NewClientIp && alert.at == at)
        );
        assert_eq!(
            alerts[0].detail,
            "The key was used from 192.0.2.7, an address it was not used from before (it was \
             used from one other address)."
        );
        assert_eq!(
            alerts[1].detail,
            "The key was used from 2001:db8:1:2::/64, an address it was not used from before \
             (it was used from 3 other addresses)."
        );
    }

    #[test]
    fn the_hour_is_the_utc_hour() {
        assert_eq!(
            hour_of(datetime!(2026-03-01 00:59:59.999 +02:00)),
            datetime!(2026-02-28 22:00 UTC)
        );
    }
}
