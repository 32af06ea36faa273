//! The range of days a usage query covers (SPEC §12: `from`/`to`, both inclusive, default
//! the last 30 days, at most 366).

use time::{Date, Duration};

/// Longest range a usage query may cover, in days (SPEC §12).
pub const MAX_RANGE_DAYS: i64 = 366;

/// The earliest day a default range starts on: 0000-01-01, the first day RFC 3339's
/// four-digit `full-date` can write.
pub const FIRST_DAY: Date = time::macros::date!(0000 - 01 - 01);

/// Days a range covers when the query names neither end.
pub const DEFAULT_RANGE_DAYS: i64 = 30;

/// UTC calendar days from `first` to `last`, both included, at most
/// [`MAX_RANGE_DAYS`] of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    first: Date,
    last: Date,
}

/// Why a range was refused; the messages name the query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DayRangeError {
    #[error("from: must not be after to ({from} > {to})")]
    Reversed { from: Date, to: Date },
    #[error("the range covers {days} days; at most {MAX_RANGE_DAYS}")]
    TooLong { days: i64 },
}

impl DayRange {
    /// The range a query asks for. `to` defaults to `today`; `from` defaults to the day
    /// that makes the range [`DEFAULT_RANGE_DAYS`] long, but never before
    /// [`FIRST_DAY`] (so every day of a range is written with a four-digit year).
    ///
    /// # Errors
    /// `Reversed` when `from` is after `to`; `TooLong` when the range covers more than
    /// [`MAX_RANGE_DAYS`] days.
    pub fn new(from: Option<Date>, to: Option<Date>, today: Date) -> Result<Self, DayRangeError> {
        let last = to.unwrap_or(today);
        let first = from.unwrap_or_else(|| {
            last.checked_sub(Duration::days(DEFAULT_RANGE_DAYS - 1))
                .map_or(FIRST_DAY, |first| first.max(FIRST_DAY))
                .min(last)
        });
        if first > last {
            return Err(DayRangeError::Reversed {
                from: first,
                to: last,
            });
        }
        let days = (last - first).whole_days() + 1;
        if days > MAX_RANGE_DAYS {
            return Err(DayRangeError::TooLong { days });
        }
        Ok(Self { first, last })
    }

    /// The first day (the query's `from`).
    pub fn first(self) -> Date {
        self.first
    }

    /// The last day (the query's `to`).
    pub fn last(self) -> Date {
        self.last
    }

    /// How many days the range covers (1 to [`MAX_RANGE_DAYS`]).
    pub fn len(self) -> usize {
        usize::try_from((self.last - self.first).whole_days() + 1).unwrap_or(0)
    }

    /// Never: a range holds at least one day.
    pub fn is_empty(self) -> bool {
        false
    }

    /// Whether `date` lies in the range.
    pub fn contains(self, date: Date) -> bool {
        self.first <= date && date <= self.last
    }

    /// Every day of the range, in order.
    pub fn days(self) -> impl Iterator<Item = Date> {
        let last = self.last;
        std::iter::successors(Some(self.first), move |day| {
            day.next_day().filter(|next| *next <= last)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn defaults_to_the_thirty_days_ending_today() {
        let range = DayRange::new(None, None, date!(2026 - 03 - 01)).unwrap();
        assert_eq!(range.first(), date!(2026 - 01 - 31));
        assert_eq!(range.last(), date!(2026 - 03 - 01));
        assert_eq!(range.len(), 30);
        assert_eq!(range.days().count(), 30);
    }

    #[test]
    fn a_given_to_ends_the_default_range() {
        let range =
            DayRange::new(None, Some(date!(2025 - 12 - 31)), date!(2026 - 03 - 01)).unwrap();
        assert_eq!(range.first(), date!(2025 - 12 - 02));
    }

    #[test]
    fn one_day_and_leap_years() {
        let day = date!(2024 - 02 - 29);
        let range = DayRange::new(Some(day), Some(day), day).unwrap();
        assert_eq!(range.days().collect::<Vec<_>>(), vec![day]);
        // 2024 is a leap year: its 366 days are allowed, one more is not.
        assert!(
            DayRange::new(
                Some(date!(2024 - 01 - 01)),
                Some(date!(2024 - 12 - 31)),
                day
            )
            .is_ok()
        );
        assert_eq!(
            DayRange::new(
                Some(date!(2024 - 01 - 01)),
                Some(date!(2025 - 01 - 01)),
                day
            ),
            Err(DayRangeError::TooLong { days: 367 })
        );
    }

    #[test]
    fn reversed_ranges_are_refused() {
        let err = DayRange::new(
            Some(date!(2026 - 01 - 02)),
            Some(date!(2026 - 01 - 01)),
            date!(2026 - 01 - 05),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "from: must not be after to (2026-01-02 > 2026-01-01)"
        );
    }

    #[test]
    fn a_default_start_never_falls_before_year_zero() {
        let early = date!(0000 - 01 - 05);
        let range = DayRange::new(None, Some(early), early).unwrap();
        assert_eq!(range.first(), date!(0000 - 01 - 01));
        assert_eq!(range.len(), 5);
    }

    #[test]
    fn the_last_day_of_the_calendar_ends_the_iteration() {
        let last = Date::MAX;
        let range = DayRange::new(last.previous_day(), None, last).unwrap();
        assert_eq!(range.days().count(), 2);
    }
}
