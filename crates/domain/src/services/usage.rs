//! `UsageService`: reads the per-key daily verification counts and the suspicious-activity
//! alerts back (SPEC §12). Counting
//! happens on the verification path ([`ApiKeyService::verify`](super::ApiKeyService)
//! records into a [`UsageBuffer`](crate::usage::UsageBuffer)); what is read here is what
//! the last flush wrote (`usage.flush_interval_seconds` behind at most).

use std::sync::Arc;

use time::{Date, UtcOffset};

use crate::alerts::{AlertKind, KeyAlert};
use crate::ids::{CustomerId, KeyId};
use crate::ports::{
    AlertRepository, ApiKeyRepository, Clock, Page, PageRequest, StorageError, UsageRepository,
};
use crate::usage::{DayRange, DayRangeError, KeyUsageTotal, UsageCounts};

/// Why a usage query failed.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// The range of days is reversed or too long.
    #[error(transparent)]
    Range(#[from] DayRangeError),
    /// No such key for this customer.
    #[error("api key not found")]
    KeyNotFound,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// One key's counts over a range, every day of it present (zeros included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUsageReport {
    pub key: KeyId,
    pub range: DayRange,
    /// The sum of `days`.
    pub total: UsageCounts,
    /// Every day of `range` in order, with its counts.
    pub days: Vec<(Date, UsageCounts)>,
}

/// A customer's counts over a range, per key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerUsageReport {
    pub range: DayRange,
    /// The sum over `keys`.
    pub total: UsageCounts,
    /// Keys with any count in the range, busiest first (see
    /// [`UsageRepository::usage_by_key`]). Deleted keys' counts are gone with them.
    pub keys: Vec<KeyUsageTotal>,
}

/// Usage and alert queries of the customer API.
#[derive(Clone)]
pub struct UsageService {
    keys: Arc<dyn ApiKeyRepository>,
    usage: Arc<dyn UsageRepository>,
    alerts: Arc<dyn AlertRepository>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for UsageService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageService").finish_non_exhaustive()
    }
}

impl UsageService {
    pub fn new(
        keys: Arc<dyn ApiKeyRepository>,
        usage: Arc<dyn UsageRepository>,
        alerts: Arc<dyn AlertRepository>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            keys,
            usage,
            alerts,
            clock,
        }
    }

    /// One page of `customer`'s alerts, of `kind` when given, newest first. Alerts are
    /// raised by the usage flush from what verification recorded
    /// ([`revoked_key_alerts`](crate::alerts::revoked_key_alerts)).
    ///
    /// # Errors
    /// `Storage`.
    pub async fn alerts(
        &self,
        customer: CustomerId,
        kind: Option<AlertKind>,
        page: PageRequest,
    ) -> Result<Page<KeyAlert>, StorageError> {
        self.alerts.list_alerts(customer, kind, page).await
    }

    /// Today's UTC calendar day, the default end of a range.
    pub fn today(&self) -> Date {
        self.clock.now().to_offset(UtcOffset::UTC).date()
    }

    /// The counts of `customer`'s key `id` on each day from `from` to `to` (both
    /// included; defaults as [`DayRange::new`] with today's UTC date).
    ///
    /// # Errors
    /// `Range` for a reversed or over-long range (checked first); `KeyNotFound` when the
    /// key does not exist for `customer`; `Storage`.
    pub async fn key_usage(
        &self,
        customer: CustomerId,
        id: KeyId,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<KeyUsageReport, UsageError> {
        let range = DayRange::new(from, to, self.today())?;
        if self.keys.get(customer, id).await?.is_none() {
            return Err(UsageError::KeyNotFound);
        }
        let stored = self.usage.key_usage(customer, id, range).await?;
        let mut stored = stored
            .into_iter()
            .filter(|usage| usage.key == id && range.contains(usage.date))
            .peekable();
        let mut total = UsageCounts::default();
        let mut days = Vec::with_capacity(range.len());
        for day in range.days() {
            let mut counts = UsageCounts::default();
            while let Some(usage) = stored.next_if(|usage| usage.date <= day) {
                if usage.date == day {
                    counts.add(usage.counts);
                }
            }
            total.add(counts);
            days.push((day, counts));
        }
        Ok(KeyUsageReport {
            key: id,
            range,
            total,
            days,
        })
    }

    /// Every key of `customer` with counts from `from` to `to`, with their sums.
    ///
    /// # Errors
    /// `Range` for a reversed or over-long range; `Storage`.
    pub async fn customer_usage(
        &self,
        customer: CustomerId,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<CustomerUsageReport, UsageError> {
        let range = DayRange::new(from, to, self.today())?;
        let keys = self.usage.usage_by_key(customer, range).await?;
        let mut total = UsageCounts::default();
        for key in &keys {
            total.add(key.counts);
        }
        Ok(CustomerUsageReport { range, total, keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockAlertRepository, MockApiKeyRepository, MockClock, MockUsageRepository};
    use crate::testing::api_keys::sample_key;
    use crate::usage::DailyUsage;
    use time::macros::{date, datetime};

    fn clock() -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .return_const(datetime!(2026-03-02 01:00 +03:00));
        Arc::new(clock)
    }

    fn counts(verified: u64, denied: u64) -> UsageCounts {
        UsageCounts { verified, denied }
    }

    #[tokio::test]
    async fn every_day_of_the_range_is_reported_zeros_included_and_summed() {
        let customer = CustomerId::generate();
        let key = sample_key(customer, datetime!(2026-01-01 00:00 UTC));
        let id = key.id();
        let mut keys = MockApiKeyRepository::new();
        keys.expect_get()
            .returning(move |_, _| Ok(Some(key.clone())));
        let mut usage = MockUsageRepository::new();
        usage.expect_key_usage().returning(move |_, _, _| {
            Ok(vec![
                DailyUsage {
                    key: id,
                    date: date!(2026 - 02 - 27),
                    counts: counts(5, 1),
                },
                DailyUsage {
                    key: id,
                    date: date!(2026 - 03 - 01),
                    counts: counts(2, 0),
                },
            ])
        });
        let service = UsageService::new(
            Arc::new(keys),
            Arc::new(usage),
            Arc::new(MockAlertRepository::new()),
            clock(),
        );

        let report = service
            .key_usage(customer, id, Some(date!(2026 - 02 - 27)), None)
            .await
            .unwrap();

        // 01:00 at +03:00 is still the 1st of March in UTC: the range ends there.
        assert_eq!(
            report.days,
            vec![
                (date!(2026 - 02 - 27), counts(5, 1)),
                (date!(2026 - 02 - 28), counts(0, 0)),
                (date!(2026 - 03 - 01), counts(2, 0)),
            ]
        );
        assert_eq!(report.total, counts(7, 1));
    }

    #[tokio::test]
    async fn a_foreign_key_is_not_found_and_its_usage_never_read() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_get().returning(|_, _| Ok(None));
        let mut usage = MockUsageRepository::new();
        usage.expect_key_usage().never();
        let service = UsageService::new(
            Arc::new(keys),
            Arc::new(usage),
            Arc::new(MockAlertRepository::new()),
            clock(),
        );

        let err = service
            .key_usage(CustomerId::generate(), KeyId::generate(), None, None)
            .await
            .unwrap_err();

        assert!(matches!(err, UsageError::KeyNotFound), "got {err:?}");
    }

    #[tokio::test]
    async fn a_bad_range_is_refused_before_storage_is_asked() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_get().never();
        let mut usage = MockUsageRepository::new();
        usage.expect_usage_by_key().never();
        let service = UsageService::new(
            Arc::new(keys),
            Arc::new(usage),
            Arc::new(MockAlertRepository::new()),
            clock(),
        );

        let reversed = service
            .key_usage(
                CustomerId::generate(),
                KeyId::generate(),
                Some(date!(2026 - 02 - 02)),
                Some(date!(2026 - 02 - 01)),
            )
            .await;
        let long = service
            .customer_usage(CustomerId::generate(), Some(date!(2020 - 01 - 01)), None)
            .await;

        assert!(matches!(
            reversed,
            Err(UsageError::Range(DayRangeError::Reversed { .. }))
        ));
        assert!(matches!(
            long,
            Err(UsageError::Range(DayRangeError::TooLong { .. }))
        ));
    }

    #[tokio::test]
    async fn the_customer_total_is_the_sum_of_its_keys() {
        let mut usage = MockUsageRepository::new();
        usage.expect_usage_by_key().returning(|_, _| {
            Ok(vec![
                KeyUsageTotal {
                    key: KeyId::generate(),
                    name: "a".into(),
                    counts: counts(10, 2),
                },
                KeyUsageTotal {
                    key: KeyId::generate(),
                    name: "b".into(),
                    counts: counts(1, 7),
                },
            ])
        });
        let service = UsageService::new(
            Arc::new(MockApiKeyRepository::new()),
            Arc::new(usage),
            Arc::new(MockAlertRepository::new()),
            clock(),
        );

        let report = service
            .customer_usage(CustomerId::generate(), None, None)
            .await
            .unwrap();

        assert_eq!(report.total, counts(11, 9));
        assert_eq!(report.range.last(), date!(2026 - 03 - 01));
        assert_eq!(report.range.len(), 30);
    }
}
