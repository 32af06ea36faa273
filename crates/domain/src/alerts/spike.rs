//! The `usage_spike` detector (SPEC §12): a key's verifications in one minute exceed
//! [`SPIKE_FACTOR`] times its per-minute average over the [`TRAILING_MINUTES`] before, and
//! at least [`SPIKE_MINIMUM`].
//!
//! It reads the per-minute counts the usage buffer hands out at each flush
//! ([`MinuteUses`]), so the request path does nothing more than count. It keeps, per key
//! used in the last hour, the counts of the last 61 minutes in a ring (a few hundred
//! bytes), for at most [`MAX_WATCHED_KEYS`] keys; a key unused for an hour before the
//! oldest minute a flush brings is forgotten (its trailing average is zero either way).
//!
//! Each instance judges the verifications it served: behind a load balancer spreading
//! traffic over N instances, each sees about 1/N of a key's minute and of its average.
//! An instance knows a key's average only once it has watched a whole trailing hour, so
//! nothing is raised in its first hour; likewise a key first watched less than an hour
//! after the watch list was full (its earlier uses may have gone unwatched) is judged
//! only after an hour of its own.

use std::collections::HashMap;

use time::{Duration, OffsetDateTime};

use super::{AlertKind, KeyAlert};
use crate::ids::{AlertId, KeyId};
use crate::usage::{MinuteUses, minute_of};

/// How many times its trailing average a minute must exceed.
pub const SPIKE_FACTOR: u64 = 10;

/// The fewest verifications in a minute that can be a spike.
pub const SPIKE_MINIMUM: u64 = 100;

/// The minutes the average is taken over: the hour before the minute judged.
pub const TRAILING_MINUTES: i64 = 60;

/// Most keys watched at once; a key first used while this many are watched is not
/// watched until others have been idle for an hour. About 20 MB at the limit (65,536
/// buckets of a 280-byte [`Window`], its 16-byte key and a control byte), 29 MB for the
/// moment the map grows to it.
pub const MAX_WATCHED_KEYS: usize = 50_000;

/// How often, at most, [`SpikeDetector::unwatched_report`] reports (minutes).
const REPORT_EVERY: i64 = 60;

/// The minutes a key's ring holds: the minute judged and the trailing hour.
const RING_MINUTES: i64 = TRAILING_MINUTES + 1;

/// [`RING_MINUTES`] as the ring's array length (a test checks they agree).
const RING: usize = 61;

/// One key's recent minutes.
#[derive(Debug, Clone)]
struct Window {
    /// Verifications per minute, at `minute.rem_euclid(RING)`, for the minutes from
    /// `newest - TRAILING_MINUTES` to `newest` (saturating: 4 billion a minute is more
    /// than any server verifies).
    counts: [u32; RING],
    /// The latest minute seen.
    newest: i64,
    /// The hour (in hours since the epoch) this key was last alerted in.
    alerted_hour: Option<i64>,
    /// The first minute from which this key's uses are all in the ring: a minute is
    /// judged only when the whole hour before it is at or after this.
    complete_from: i64,
}

impl Window {
    fn new(minute: i64, complete_from: i64) -> Self {
        Self {
            counts: [0; RING],
            newest: minute,
            alerted_hour: None,
            complete_from,
        }
    }

    fn slot(minute: i64) -> usize {
        // `rem_euclid` of a positive modulus is in 0..RING.
        usize::try_from(minute.rem_euclid(RING_MINUTES)).unwrap_or(0)
    }

    /// Adds `uses` to `minute`, moving the ring forward when it is newer; returns
    /// `false` (adding nothing) for a minute that already left the ring.
    fn add(&mut self, minute: i64, uses: u64) -> bool {
        if minute > self.newest {
            let gap = minute - self.newest;
            if gap >= RING_MINUTES {
                self.counts = [0; RING];
            } else {
                for passed in self.newest + 1..=minute {
                    self.counts[Self::slot(passed)] = 0;
                }
            }
            self.newest = minute;
        } else if minute < self.newest - TRAILING_MINUTES {
            return false;
        }
        let slot = &mut self.counts[Self::slot(minute)];
        *slot = slot.saturating_add(u32::try_from(uses).unwrap_or(u32::MAX));
        true
    }

    /// The minute's count and the sum of the trailing minutes still in the ring.
    fn judge(&self, minute: i64) -> (u64, u64) {
        let oldest = (minute - TRAILING_MINUTES).max(self.newest - TRAILING_MINUTES);
        let trailing = (oldest..minute)
            .map(|earlier| u64::from(self.counts[Self::slot(earlier)]))
            .sum();
        (u64::from(self.counts[Self::slot(minute)]), trailing)
    }
}

/// Watches the keys' verifications per minute; see the module docs.
#[derive(Debug)]
pub struct SpikeDetector {
    windows: HashMap<KeyId, Window, foldhash::fast::RandomState>,
    /// The first minute watched: a minute is judged only once the hour before it was.
    since: i64,
    max_keys: usize,
    /// The latest minute a use went unwatched because the list was full.
    full_at: Option<i64>,
    /// Uses of keys that found the watch list full, since the last report.
    unwatched: u64,
    /// The minute of the last [`Self::unwatched_report`] that reported.
    reported_at: Option<i64>,
}

impl SpikeDetector {
    /// A detector that starts watching at `now` (so judges from an hour later), for at
    /// most [`MAX_WATCHED_KEYS`] keys.
    pub fn new(now: OffsetDateTime) -> Self {
        Self::with_capacity(now, MAX_WATCHED_KEYS)
    }

    /// As [`Self::new`], watching at most `max_keys` keys.
    pub fn with_capacity(now: OffsetDateTime, max_keys: usize) -> Self {
        Self {
            windows: HashMap::default(),
            since: minute_of(now),
            max_keys,
            full_at: None,
            unwatched: 0,
            reported_at: None,
        }
    }

    /// Adds a flush's minutes (drained at `drained_at`) and returns a `usage_spike` alert
    /// for each key whose minute became a spike, at most one per key and hour (dated at
    /// the start of the minute). First forgets the keys unused in the hour before the
    /// oldest of these minutes (or before `drained_at`, if older): no minute judged now
    /// looks at their counts.
    pub fn observe(&mut self, minutes: &[MinuteUses], drained_at: OffsetDateTime) -> Vec<KeyAlert> {
        let mut ordered: Vec<&MinuteUses> = minutes.iter().collect();
        ordered.sort_unstable_by_key(|uses| uses.minute);
        let oldest = ordered.first().map_or(minute_of(drained_at), |uses| {
            uses.minute.min(minute_of(drained_at))
        });
        let horizon = oldest - TRAILING_MINUTES;
        self.windows.retain(|_, window| window.newest >= horizon);
        if self.windows.capacity() > 4 * self.windows.len().max(1024) {
            self.windows.shrink_to(2 * self.windows.len());
        }
        let mut alerts = Vec::new();
        for uses in ordered {
            if let Some(alert) = self.add(uses) {
                alerts.push(alert);
            }
        }
        alerts
    }

    /// How many uses were not watched because [`MAX_WATCHED_KEYS`] keys already were
    /// since the last report, at most once an hour (`None` in between, or when none
    /// were): a report resets the count.
    pub fn unwatched_report(&mut self, now: OffsetDateTime) -> Option<u64> {
        let minute = minute_of(now);
        let due = self
            .reported_at
            .is_none_or(|reported| minute - reported >= REPORT_EVERY);
        if self.unwatched == 0 || !due {
            return None;
        }
        self.reported_at = Some(minute);
        Some(std::mem::take(&mut self.unwatched))
    }

    /// Keys watched now.
    pub fn watched(&self) -> usize {
        self.windows.len()
    }

    fn add(&mut self, uses: &MinuteUses) -> Option<KeyAlert> {
        let full = self.windows.len() >= self.max_keys;
        // A key first seen within the hour after a use went unwatched may have been that
        // use's key: its history starts after that use.
        let complete_from = match self.full_at {
            Some(full_at) if full_at >= uses.minute - TRAILING_MINUTES => {
                (full_at + 1).max(self.since)
            }
            _ => self.since,
        };
        let window = match self.windows.get_mut(&uses.key) {
            Some(window) => window,
            None if full => {
                self.unwatched = self.unwatched.saturating_add(uses.uses);
                self.full_at = Some(self.full_at.map_or(uses.minute, |at| at.max(uses.minute)));
                return None;
            }
            None => self
                .windows
                .entry(uses.key)
                .or_insert_with(|| Window::new(uses.minute, complete_from)),
        };
        if !window.add(uses.minute, uses.uses)
            || uses.minute - TRAILING_MINUTES < window.complete_from
        {
            return None;
        }
        let (count, trailing) = window.judge(uses.minute);
        // count > FACTOR × trailing / MINUTES, in integers.
        let spike = count >= SPIKE_MINIMUM
            && u128::from(count) * TRAILING_MINUTES as u128
                > u128::from(SPIKE_FACTOR) * u128::from(trailing);
        let hour = uses.minute.div_euclid(60);
        if !spike || window.alerted_hour == Some(hour) {
            return None;
        }
        window.alerted_hour = Some(hour);
        Some(spike_alert(uses.key, uses.minute, count, trailing))
    }
}

fn spike_alert(key: KeyId, minute: i64, count: u64, trailing: u64) -> KeyAlert {
    let at = OffsetDateTime::UNIX_EPOCH + Duration::minutes(minute);
    // The average rounded to one decimal, in tenths (half a tenth is 30 / 60 × 10).
    let tenths = trailing.saturating_mul(10).saturating_add(30) / TRAILING_MINUTES as u64;
    KeyAlert {
        id: AlertId::generate(),
        at,
        key,
        kind: AlertKind::UsageSpike,
        detail: format!(
            "The key had {count} verifications in the minute from {:02}:{:02} UTC; \
             the hour before averaged {}.{} a minute.",
            at.hour(),
            at.minute(),
            tenths / 10,
            tenths % 10
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const START: OffsetDateTime = datetime!(2026-03-01 10:00 UTC);

    fn uses(key: KeyId, at: OffsetDateTime, uses: u64) -> MinuteUses {
        MinuteUses {
            key,
            minute: minute_of(at),
            uses,
        }
    }

    /// A detector that has watched `key` for the hour from START at `per_minute` a
    /// minute, now at 11:00.
    fn warmed(key: KeyId, per_minute: u64) -> SpikeDetector {
        let mut detector = SpikeDetector::new(START);
        for minute in 0..60 {
            let at = START + Duration::minutes(minute);
            let alerts = detector.observe(&[uses(key, at, per_minute)], at);
            assert!(alerts.is_empty(), "{alerts:?}");
        }
        detector
    }

    const ELEVEN: OffsetDateTime = datetime!(2026-03-01 11:00 UTC);

    #[test]
    fn the_ring_holds_the_trailing_hour_and_the_minute_judged() {
        assert_eq!(i64::try_from(RING), Ok(RING_MINUTES));
        assert_eq!(std::mem::size_of::<Window>(), 280);
    }

    #[test]
    fn a_minute_over_ten_times_the_trailing_average_is_a_spike() {
        let key = KeyId::generate();
        let mut detector = warmed(key, 20);
        // Average 20 a minute: 200 is not over ten times it, 201 is.
        assert!(
            detector
                .observe(&[uses(key, ELEVEN, 200)], ELEVEN)
                .is_empty()
        );
        let alerts = detector.observe(&[uses(key, ELEVEN, 1)], ELEVEN);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].key, key);
        assert_eq!(alerts[0].kind, AlertKind::UsageSpike);
        assert_eq!(alerts[0].at, ELEVEN);
        assert_eq!(
            alerts[0].detail,
            "The key had 201 verifications in the minute from 11:00 UTC; the hour before \
             averaged 20.0 a minute."
        );
    }

    #[test]
    fn fewer_than_a_hundred_is_never_a_spike() {
        let key = KeyId::generate();
        let mut detector = warmed(key, 0);
        assert!(
            detector
                .observe(&[uses(key, ELEVEN, 99)], ELEVEN)
                .is_empty()
        );
        assert_eq!(detector.observe(&[uses(key, ELEVEN, 1)], ELEVEN).len(), 1);
    }

    #[test]
    fn one_alert_per_key_and_hour() {
        let key = KeyId::generate();
        let mut detector = warmed(key, 1);
        assert_eq!(detector.observe(&[uses(key, ELEVEN, 500)], ELEVEN).len(), 1);
        let later = ELEVEN + Duration::minutes(30);
        assert!(
            detector
                .observe(&[uses(key, later, 5_000)], later)
                .is_empty()
        );
        let next_hour = ELEVEN + Duration::hours(1);
        // The hour before 12:00 averaged (500 + 5,000) / 60 = 91.67: 10,000 is a spike.
        let alerts = detector.observe(&[uses(key, next_hour, 10_000)], next_hour);
        assert_eq!(alerts.len(), 1);
        assert!(
            alerts[0].detail.contains("averaged 91.7 a minute"),
            "{}",
            alerts[0].detail
        );
    }

    #[test]
    fn nothing_is_judged_before_a_whole_hour_was_watched() {
        let key = KeyId::generate();
        let mut detector = SpikeDetector::new(START);
        let almost = START + Duration::minutes(59);
        assert!(
            detector
                .observe(&[uses(key, almost, 10_000)], almost)
                .is_empty()
        );
        // At 11:00 the hour before is known: 10,000 in one minute of it averages 166.6.
        assert!(
            detector
                .observe(&[uses(key, ELEVEN, 1_666)], ELEVEN)
                .is_empty()
        );
        assert_eq!(detector.observe(&[uses(key, ELEVEN, 1)], ELEVEN).len(), 1);
    }

    #[test]
    fn a_new_key_after_the_first_hour_has_an_average_of_zero() {
        let mut detector = SpikeDetector::new(START);
        let key = KeyId::generate();
        let alerts = detector.observe(&[uses(key, ELEVEN, 100)], ELEVEN);
        assert_eq!(alerts.len(), 1);
        assert!(
            alerts[0].detail.ends_with("averaged 0.0 a minute."),
            "{}",
            alerts[0].detail
        );
    }

    #[test]
    fn minutes_arrive_in_any_order_and_older_ones_count_in_the_average() {
        let key = KeyId::generate();
        let mut detector = SpikeDetector::new(START);
        let spike = ELEVEN + Duration::minutes(5);
        // 10:10 (600 uses) falls in the hour before 11:05: the average is 10, and 100 is
        // not over ten times it.
        let alerts = detector.observe(
            &[
                uses(key, spike, 100),
                uses(key, START + Duration::minutes(10), 600),
            ],
            spike,
        );
        assert!(alerts.is_empty(), "{alerts:?}");
        assert_eq!(detector.observe(&[uses(key, spike, 0)], spike).len(), 0);
        let alerts = detector.observe(&[uses(key, spike, 1)], spike);
        assert_eq!(alerts.len(), 1, "102 > 10 × 10 a minute");
    }

    #[test]
    fn a_minute_older_than_the_ring_is_ignored() {
        let key = KeyId::generate();
        let mut detector = warmed(key, 0);
        let late = detector.observe(&[uses(key, ELEVEN, 1)], ELEVEN);
        assert!(late.is_empty());
        let stale = START - Duration::minutes(1);
        assert!(
            detector
                .observe(&[uses(key, stale, 1_000)], ELEVEN)
                .is_empty()
        );
        let (count, trailing) = detector.windows[&key].judge(minute_of(ELEVEN));
        assert_eq!((count, trailing), (1, 0));
    }

    #[test]
    fn keys_idle_for_an_hour_are_forgotten_and_the_watch_list_is_bounded() {
        let mut detector = SpikeDetector::with_capacity(START, 2);
        let (a, b, c) = (KeyId::generate(), KeyId::generate(), KeyId::generate());
        let next = START + Duration::minutes(1);
        detector.observe(
            &[uses(c, next, 7), uses(a, START, 1), uses(b, START, 1)],
            next,
        );
        assert_eq!(detector.watched(), 2);
        assert_eq!(detector.unwatched_report(next), Some(7));
        assert_eq!(detector.unwatched_report(next), None);
        // An hour and a minute later, a and b are forgotten; c can be watched.
        let later = START + Duration::minutes(61);
        detector.observe(&[uses(c, later, 1)], later);
        assert_eq!(detector.watched(), 1);
        assert!(detector.windows.contains_key(&c));
    }

    #[test]
    fn unwatched_uses_are_reported_at_most_once_an_hour() {
        let mut detector = SpikeDetector::with_capacity(START, 1);
        let (a, b) = (KeyId::generate(), KeyId::generate());
        let next = START + Duration::minutes(1);
        detector.observe(&[uses(a, START, 1), uses(b, next, 3)], next);
        assert_eq!(detector.unwatched_report(next), Some(3));
        let soon = START + Duration::minutes(2);
        detector.observe(&[uses(a, soon, 1), uses(b, soon, 4)], soon);
        assert_eq!(detector.unwatched_report(soon), None, "within the hour");
        let hour = next + Duration::minutes(60);
        assert_eq!(detector.unwatched_report(hour), Some(4));
    }

    #[test]
    fn a_key_first_watched_within_an_hour_of_a_full_list_waits_an_hour_of_its_own() {
        let (a, b) = (KeyId::generate(), KeyId::generate());
        // 12:00: a is watched, b's 500 uses at 12:01 go unwatched.
        let mut detector = SpikeDetector::with_capacity(START, 1);
        let full = START + Duration::minutes(120);
        let refused = full + Duration::minutes(1);
        detector.observe(&[uses(a, full, 1), uses(b, refused, 500)], refused);
        // 13:01: a is forgotten, b is watched; the hour before 13:01 holds 12:01, whose
        // uses b's ring does not have: 13:01 is not judged.
        let watched = refused + Duration::minutes(60);
        assert!(
            detector
                .observe(&[uses(b, watched, 1_000)], watched)
                .is_empty(),
            "judged on an hour it did not see whole"
        );
        // 13:02's hour before (12:02-13:01) is all in the ring: 1,000 a minute after an
        // average of 16.7 is a spike.
        let next = watched + Duration::minutes(1);
        assert_eq!(detector.observe(&[uses(b, next, 1_000)], next).len(), 1);

        // A key first watched more than an hour after the last unwatched use is judged
        // from the detector's start, as any other.
        let mut detector = SpikeDetector::with_capacity(START, 1);
        detector.observe(&[uses(a, full, 1), uses(b, refused, 500)], refused);
        let much_later = refused + Duration::minutes(61);
        assert_eq!(
            detector
                .observe(&[uses(b, much_later, 100)], much_later)
                .len(),
            1
        );
    }

    #[test]
    fn a_late_batch_keeps_the_history_its_oldest_minute_needs() {
        let key = KeyId::generate();
        let mut detector = SpikeDetector::new(START);
        // 600 uses at 10:59, in the detector's first hour, and nothing else.
        let early = START + Duration::minutes(59);
        detector.observe(&[uses(key, early, 600)], early);
        // A flush drained at 12:00 brings 11:58: its hour before (10:58-11:57) holds the
        // 600, an average of 10, so 100 is no spike and 101 is.
        let minute = START + Duration::minutes(118);
        let drained = START + Duration::minutes(120);
        assert!(
            detector
                .observe(&[uses(key, minute, 100)], drained)
                .is_empty()
        );
        assert_eq!(detector.observe(&[uses(key, minute, 1)], drained).len(), 1);
    }
}
