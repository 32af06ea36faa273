//! Writes the buffered usage of API keys to storage: their last-used times (SPEC §7),
//! their verification counts per UTC day, and the alerts of SPEC §12 that the batch
//! raises: `revoked_key_used` (keys presented after they were retired), `dormant_key_used`
//! (a use after 30 days without one, judged on the last-used times the write moved),
//! `new_client_ip` (judged on the client addresses the batch stored for the first time)
//! and `usage_spike` (judged by a [`SpikeDetector`] this task owns, from the batch's
//! per-minute counts). Verification only notes a use in memory; this task writes the batch
//! on an interval and once more on shutdown. A failed write puts its part of the batch
//! back so the next flush retries it; alerts that could not be stored are kept (at most
//! [`MAX_PENDING_ALERTS`]) and offered again with the next flush. The same task deletes
//! counts, alerts and client addresses older than `usage.retention_days`, audit events
//! older than `audit.retention_days`, and dashboard sign-in links that expired more than
//! [`SIGN_IN_LINK_RETENTION`] ago, once at start and then hourly.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use keyward_domain::alerts::{
    KeyAlert, SpikeDetector, dormant_key_alerts, new_client_alerts, revoked_key_alerts,
};
use keyward_domain::ports::{
    AlertRepository, ApiKeyRepository, ClientAddressRepository, Clock, StorageError,
    UsageRepository,
};
use keyward_domain::services::{AuditTrail, SignInLinkService};
use keyward_domain::usage::{MinuteUses, UsageBuffer};
use time::OffsetDateTime;
use tokio::sync::watch;

/// How often counts past their retention are deleted.
pub const RETENTION_INTERVAL: Duration = Duration::from_secs(3600);

/// How long a dashboard sign-in link (used or not) is kept after it expired: a day, so
/// a link someone reports as not working can still be looked at, and then no longer.
pub const SIGN_IN_LINK_RETENTION: time::Duration = time::Duration::DAY;

/// Most alerts kept for the next flush after storing them failed; past it the oldest
/// are dropped (and counted in a WARN line).
pub const MAX_PENDING_ALERTS: usize = 10_000;

/// What one flush wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flushed {
    /// Keys whose `last_used_at` moved.
    pub last_used: u64,
    /// `(key, day)` counts added to.
    pub days: u64,
    /// Alerts stored (new for their key, kind and hour).
    pub alerts: u64,
}

/// Moves uses from the buffer to the repositories.
#[derive(Clone)]
pub struct UsageFlusher {
    buffer: Arc<UsageBuffer>,
    keys: Arc<dyn ApiKeyRepository>,
    usage: Arc<dyn UsageRepository>,
    alerts: Arc<dyn AlertRepository>,
    client_addresses: Arc<dyn ClientAddressRepository>,
    clock: Arc<dyn Clock>,
    /// Days of counts, alerts and client addresses kept (`usage.retention_days`).
    retention_days: u16,
    /// The audit trail and the days its events are kept (`audit.retention_days`).
    audit: Option<(AuditTrail, u16)>,
    /// The dashboard's sign-in links, deleted [`SIGN_IN_LINK_RETENTION`] after they expire.
    sign_in_links: Option<SignInLinkService>,
    /// The `usage_spike` detector's per-key minutes, shared by the clones of this
    /// flusher (the interval task and the shutdown flush).
    spikes: Arc<Mutex<SpikeDetector>>,
    /// Dormancy and spike alerts a failed store left, oldest first. (Refusals go back into
    /// the buffer instead: their alert is rebuilt from them.)
    pending_alerts: Arc<Mutex<Vec<KeyAlert>>>,
}

impl std::fmt::Debug for UsageFlusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageFlusher")
            .field("pending", &self.buffer.pending())
            .field("retention_days", &self.retention_days)
            .finish_non_exhaustive()
    }
}

impl UsageFlusher {
    /// `retention_days` of counts are kept: a day's counts are deleted once the current
    /// UTC day is more than that many days after it; alerts and client addresses once they
    /// are (were last seen) older than that many days.
    pub fn new(
        buffer: Arc<UsageBuffer>,
        keys: Arc<dyn ApiKeyRepository>,
        usage: Arc<dyn UsageRepository>,
        alerts: Arc<dyn AlertRepository>,
        client_addresses: Arc<dyn ClientAddressRepository>,
        clock: Arc<dyn Clock>,
        retention_days: u16,
    ) -> Self {
        let spikes = SpikeDetector::new(clock.now());
        Self {
            buffer,
            keys,
            usage,
            alerts,
            client_addresses,
            clock,
            retention_days,
            audit: None,
            sign_in_links: None,
            spikes: Arc::new(Mutex::new(spikes)),
            pending_alerts: Arc::default(),
        }
    }

    /// Also deletes audit events older than `retention_days` days, with the counts.
    #[must_use]
    pub fn with_audit_retention(mut self, audit: AuditTrail, retention_days: u16) -> Self {
        self.audit = Some((audit, retention_days));
        self
    }

    /// Also deletes the dashboard sign-in links that expired more than
    /// [`SIGN_IN_LINK_RETENTION`] ago, with the counts.
    #[must_use]
    pub fn with_sign_in_link_retention(mut self, links: SignInLinkService) -> Self {
        self.sign_in_links = Some(links);
        self
    }

    /// Deletes the sign-in links, used or not, that expired more than
    /// [`SIGN_IN_LINK_RETENTION`] ago (none without [`Self::with_sign_in_link_retention`]);
    /// returns how many.
    ///
    /// # Errors
    /// The link store's error.
    pub async fn delete_expired_sign_in_links(&self) -> Result<u64, StorageError> {
        match &self.sign_in_links {
            Some(links) => links.delete_expired(SIGN_IN_LINK_RETENTION).await,
            None => Ok(0),
        }
    }

    /// Deletes the audit events older than `audit.retention_days` (none without
    /// [`Self::with_audit_retention`]); returns how many.
    ///
    /// # Errors
    /// The audit log's error.
    pub async fn delete_expired_audit_events(&self) -> Result<u64, StorageError> {
        match &self.audit {
            Some((audit, days)) => {
                audit
                    .delete_expired(time::Duration::days(i64::from(*days)))
                    .await
            }
            None => Ok(0),
        }
    }

    /// Writes everything buffered so far: the last-used times and the counts, each in
    /// one transaction of its own, then the alerts they raised (with those a failed
    /// flush left), logging each newly stored one at WARN.
    ///
    /// # Errors
    /// The first repository error; whatever part of the batch failed is back in the
    /// buffer then (a part that was acknowledged is not sent again). Delivery is at least
    /// once: a write that committed but whose answer was lost (a timeout) is retried and
    /// its counts added twice (ADR 0002).
    pub async fn flush(&self) -> Result<Flushed, StorageError> {
        let batch = self.buffer.drain();
        let drained_at = self.clock.now();
        let mut flushed = Flushed::default();
        let mut failure = None;
        // Alerts other than revoked_key_used: kept for the next flush if storing fails.
        let mut raised = self.take_pending_alerts();
        if !batch.last_used.is_empty() {
            match self.keys.record_last_used(&batch.last_used).await {
                Ok(moved) => {
                    flushed.last_used = moved.len() as u64;
                    raised.extend(dormant_key_alerts(&moved));
                }
                Err(err) => {
                    self.buffer.restore_last_used(batch.last_used);
                    failure = Some(err);
                }
            }
        }
        if !batch.counts.is_empty() {
            match self.usage.add_usage(&batch.counts).await {
                Ok(days) => flushed.days = days,
                Err(err) => {
                    self.buffer.restore_counts(batch.counts);
                    failure.get_or_insert(err);
                }
            }
        }
        if !batch.clients.is_empty() {
            match self
                .client_addresses
                .record_client_addresses(&batch.clients)
                .await
            {
                Ok(new) => raised.extend(new_client_alerts(&new)),
                Err(err) => {
                    self.buffer.restore_clients(batch.clients);
                    failure.get_or_insert(err);
                }
            }
        }
        raised.extend(self.observe_minutes(&batch.minutes, drained_at));
        if !batch.refusals.is_empty() || !raised.is_empty() {
            let mut alerts = revoked_key_alerts(&batch.refusals);
            let revoked = alerts.len();
            alerts.extend(raised);
            match self.alerts.record_alerts(&alerts).await {
                Ok(stored) => {
                    flushed.alerts = stored.len() as u64;
                    for alert in alerts.iter().filter(|alert| stored.contains(&alert.id)) {
                        tracing::warn!(
                            alert = alert.kind.as_str(),
                            key_id = %alert.key,
                            at = %alert.at,
                            detail = %alert.detail,
                            "suspicious key activity"
                        );
                    }
                }
                Err(err) => {
                    self.buffer.restore_refusals(batch.refusals);
                    self.keep_pending_alerts(alerts.split_off(revoked));
                    failure.get_or_insert(err);
                }
            }
        }
        failure.map_or(Ok(flushed), Err)
    }

    /// Hands the batch's minutes to the spike detector; returns the spikes it saw.
    fn observe_minutes(&self, minutes: &[MinuteUses], drained_at: OffsetDateTime) -> Vec<KeyAlert> {
        if minutes.is_empty() {
            return Vec::new();
        }
        let mut spikes = self.spikes.lock().unwrap_or_else(PoisonError::into_inner);
        let alerts = spikes.observe(minutes, drained_at);
        if let Some(unwatched) = spikes.unwatched_report(drained_at) {
            tracing::warn!(
                unwatched_uses = unwatched,
                watched_keys = spikes.watched(),
                "too many keys in use to watch them all for usage spikes; some were not \
                 (reported at most hourly)"
            );
        }
        alerts
    }

    fn take_pending_alerts(&self) -> Vec<KeyAlert> {
        std::mem::take(
            &mut *self
                .pending_alerts
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Keeps alerts that could not be stored for the next flush, the newest
    /// [`MAX_PENDING_ALERTS`] of them.
    fn keep_pending_alerts(&self, alerts: Vec<KeyAlert>) {
        let mut pending = self
            .pending_alerts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        pending.extend(alerts);
        if pending.len() > MAX_PENDING_ALERTS {
            let dropped = pending.len() - MAX_PENDING_ALERTS;
            pending.drain(..dropped);
            tracing::warn!(
                dropped,
                "could not store alerts for too long; dropped the oldest"
            );
        }
    }

    /// Alerts waiting for a flush to store them.
    pub fn pending_alerts(&self) -> usize {
        self.pending_alerts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Flushes and logs the outcome (the one place a flush failure is logged).
    pub async fn flush_and_log(&self) {
        match self.flush().await {
            Ok(flushed) if flushed == Flushed::default() => {}
            Ok(flushed) => tracing::debug!(
                last_used = flushed.last_used,
                days = flushed.days,
                alerts = flushed.alerts,
                "recorded key usage"
            ),
            Err(err) => tracing::warn!(
                error = %err,
                pending_keys = self.buffer.pending(),
                pending_alerts = self.pending_alerts(),
                "could not record key usage; will retry"
            ),
        }
    }

    /// The last flush, after the server stopped: a failure here is not retried, so it is
    /// logged as an error naming what is lost.
    pub async fn flush_at_shutdown(&self) {
        match self.flush().await {
            Ok(flushed) => tracing::debug!(
                last_used = flushed.last_used,
                days = flushed.days,
                alerts = flushed.alerts,
                "recorded the last key usage"
            ),
            Err(err) => tracing::error!(
                error = %err,
                lost_keys = self.buffer.pending(),
                lost_alerts = self.pending_alerts(),
                "could not record the last key usage before stopping; it is lost"
            ),
        }
    }

    /// Deletes counts, alerts and client addresses older than the retention; returns how
    /// many rows went.
    ///
    /// # Errors
    /// The repository's error.
    pub async fn delete_expired_counts(&self) -> Result<u64, StorageError> {
        let today = self.clock.now().to_offset(time::UtcOffset::UTC).date();
        let Some(cutoff) = today.checked_sub(time::Duration::days(i64::from(self.retention_days)))
        else {
            return Ok(0);
        };
        // Each is tried, whichever fails.
        let counts = self.usage.delete_usage_before(cutoff).await;
        let midnight = cutoff.midnight().assume_utc();
        let alerts = self.alerts.delete_alerts_before(midnight).await;
        let addresses = self
            .client_addresses
            .delete_client_addresses_before(midnight)
            .await;
        Ok(counts? + alerts? + addresses?)
    }

    async fn delete_expired_and_log(&self) {
        match self.delete_expired_sign_in_links().await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "deleted expired dashboard sign-in links"),
            Err(err) => tracing::warn!(
                error = %err,
                "could not delete expired dashboard sign-in links; will retry"
            ),
        }
        match self.delete_expired_audit_events().await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "deleted audit events past their retention"),
            Err(err) => tracing::warn!(
                error = %err,
                "could not delete audit events past their retention; will retry"
            ),
        }
        match self.delete_expired_counts().await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(
                deleted,
                retention_days = self.retention_days,
                "deleted key usage counts, alerts and client addresses past their retention"
            ),
            Err(err) => tracing::warn!(
                error = %err,
                "could not delete key usage counts, alerts or client addresses past their \
                 retention; will retry"
            ),
        }
    }

    /// Flushes every `interval` and deletes expired counts every
    /// [`RETENTION_INTERVAL`] (the first time at once) until `stop` turns true.
    pub async fn run(self, interval: Duration, mut stop: watch::Receiver<bool>) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        let mut retention = tokio::time::interval(RETENTION_INTERVAL);
        retention.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = ticker.tick() => self.flush_and_log().await,
                _ = retention.tick() => self.delete_expired_and_log().await,
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_domain::KeyId;
    use keyward_domain::alerts::AlertKind;
    use keyward_domain::ports::{
        LastUseMoved, MockAlertRepository, MockApiKeyRepository, MockClientAddressRepository,
        MockClock, MockSignInLinkRepository, MockUsageRepository, NewClientAddress, UsageRecorder,
    };
    use keyward_domain::usage::{ClientAddress, RefusalReason, UseOutcome};
    use time::macros::{date, datetime};

    /// What `record_last_used` returns for keys last used a minute before.
    fn moved(uses: &[(KeyId, OffsetDateTime)]) -> Vec<LastUseMoved> {
        uses.iter()
            .map(|&(key, at)| LastUseMoved {
                key,
                at,
                previous: Some(at - time::Duration::minutes(1)),
                created_at: datetime!(2025-01-01 00:00 UTC),
            })
            .collect()
    }

    /// A clock the test moves.
    fn settable_clock(start: OffsetDateTime) -> (Arc<MockClock>, Arc<Mutex<OffsetDateTime>>) {
        let now = Arc::new(Mutex::new(start));
        let mut clock = MockClock::new();
        let read = Arc::clone(&now);
        clock.expect_now().returning(move || *read.lock().unwrap());
        (Arc::new(clock), now)
    }

    fn accepting_usage() -> MockUsageRepository {
        let mut usage = MockUsageRepository::new();
        usage
            .expect_add_usage()
            .returning(|counts| Ok(counts.len() as u64));
        usage
    }

    fn clock() -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .return_const(datetime!(2026-03-01 00:30 UTC));
        Arc::new(clock)
    }

    fn flusher(
        buffer: &Arc<UsageBuffer>,
        keys: MockApiKeyRepository,
        usage: MockUsageRepository,
    ) -> UsageFlusher {
        flusher_with(buffer, keys, usage, accepting_alerts())
    }

    fn flusher_with(
        buffer: &Arc<UsageBuffer>,
        keys: MockApiKeyRepository,
        usage: MockUsageRepository,
        alerts: MockAlertRepository,
    ) -> UsageFlusher {
        flusher_of(buffer, keys, usage, alerts, no_addresses(), clock())
    }

    fn flusher_of(
        buffer: &Arc<UsageBuffer>,
        keys: MockApiKeyRepository,
        usage: MockUsageRepository,
        alerts: MockAlertRepository,
        addresses: MockClientAddressRepository,
        clock: Arc<MockClock>,
    ) -> UsageFlusher {
        UsageFlusher::new(
            buffer.clone(),
            Arc::new(keys),
            Arc::new(usage),
            Arc::new(alerts),
            Arc::new(addresses),
            clock,
            400,
        )
    }

    /// An address store that is never called: the tests' uses have no client address.
    fn no_addresses() -> MockClientAddressRepository {
        let mut addresses = MockClientAddressRepository::new();
        addresses.expect_record_client_addresses().never();
        addresses
    }

    /// An alert store that stores every alert it is given.
    fn accepting_alerts() -> MockAlertRepository {
        let mut alerts = MockAlertRepository::new();
        alerts
            .expect_record_alerts()
            .returning(|alerts| Ok(alerts.iter().map(|alert| alert.id).collect()));
        alerts
    }

    #[tokio::test]
    async fn failed_flush_keeps_the_batch_for_the_next_one() {
        let buffer = Arc::new(UsageBuffer::new());
        let key = KeyId::generate();
        buffer.record(
            key,
            datetime!(2026-01-01 10:00 UTC),
            UseOutcome::Verified,
            None,
        );
        let mut keys = MockApiKeyRepository::new();
        keys.expect_record_last_used()
            .times(1)
            .returning(|_| Err(StorageError::unavailable("down")));
        keys.expect_record_last_used()
            .times(1)
            .returning(|uses| Ok(moved(uses)));
        let mut usage = MockUsageRepository::new();
        usage
            .expect_add_usage()
            .times(1)
            .returning(|_| Err(StorageError::unavailable("down")));
        usage
            .expect_add_usage()
            .withf(|counts| counts.len() == 1 && counts[0].counts.verified == 1)
            .times(1)
            .returning(|counts| Ok(counts.len() as u64));
        let flusher = flusher(&buffer, keys, usage);

        assert!(flusher.flush().await.is_err());
        assert_eq!(buffer.pending(), 1);
        assert_eq!(
            flusher.flush().await.unwrap(),
            Flushed {
                last_used: 1,
                days: 1,
                alerts: 0
            }
        );
        assert_eq!(buffer.pending(), 0);
    }

    #[tokio::test]
    async fn a_part_written_before_the_other_failed_is_not_written_twice() {
        let buffer = Arc::new(UsageBuffer::new());
        let key = KeyId::generate();
        buffer.record(
            key,
            datetime!(2026-01-01 10:00 UTC),
            UseOutcome::Verified,
            None,
        );
        buffer.record(
            key,
            datetime!(2026-01-01 10:01 UTC),
            UseOutcome::Refused(RefusalReason::Revoked),
            None,
        );
        let mut keys = MockApiKeyRepository::new();
        keys.expect_record_last_used()
            .times(1)
            .returning(|uses| Ok(moved(uses)));
        let mut usage = MockUsageRepository::new();
        usage
            .expect_add_usage()
            .times(1)
            .returning(|_| Err(StorageError::unavailable("down")));
        // The retry carries the same counts (one verified, one denied), nothing more.
        usage
            .expect_add_usage()
            .withf(|counts| {
                counts.len() == 1 && counts[0].counts.verified == 1 && counts[0].counts.denied == 1
            })
            .times(1)
            .returning(|counts| Ok(counts.len() as u64));
        let flusher = flusher(&buffer, keys, usage);

        assert!(flusher.flush().await.is_err());
        assert_eq!(
            flusher.flush().await.unwrap(),
            Flushed {
                last_used: 0,
                days: 1,
                // Stored by the first flush, whose counts failed: not raised again.
                alerts: 0
            }
        );
    }

    #[tokio::test]
    async fn empty_buffer_does_not_touch_storage() {
        let flusher = flusher(
            &Arc::new(UsageBuffer::new()),
            MockApiKeyRepository::new(),
            MockUsageRepository::new(),
        );

        assert_eq!(flusher.flush().await.unwrap(), Flushed::default());
    }

    #[tokio::test]
    async fn retention_deletes_the_days_more_than_retention_days_before_today() {
        let mut usage = MockUsageRepository::new();
        // Today is 2026-03-01; 400 days before it is 2025-01-25, which is kept.
        usage
            .expect_delete_usage_before()
            .withf(|cutoff| *cutoff == date!(2025 - 01 - 25))
            .times(1)
            .returning(|_| Ok(3));
        let mut alerts = MockAlertRepository::new();
        alerts
            .expect_delete_alerts_before()
            .withf(|cutoff| *cutoff == datetime!(2025-01-25 00:00 UTC))
            .times(1)
            .returning(|_| Ok(2));
        let mut addresses = MockClientAddressRepository::new();
        addresses
            .expect_delete_client_addresses_before()
            .withf(|cutoff| *cutoff == datetime!(2025-01-25 00:00 UTC))
            .times(1)
            .returning(|_| Ok(7));
        let flusher = flusher_of(
            &Arc::new(UsageBuffer::new()),
            MockApiKeyRepository::new(),
            usage,
            alerts,
            addresses,
            clock(),
        );

        assert_eq!(flusher.delete_expired_counts().await.unwrap(), 12);
    }

    #[tokio::test]
    async fn sign_in_links_are_deleted_a_day_after_they_expired() {
        let mut links = MockSignInLinkRepository::new();
        // Now is 2026-03-01 00:30: links that expired before 2026-02-28 00:30 go.
        links
            .expect_delete_expired()
            .withf(|before| *before == datetime!(2026-02-28 00:30 UTC))
            .times(1)
            .returning(|_| Ok(4));
        let service = SignInLinkService::new(
            Arc::new(links),
            clock(),
            Arc::new(keyward_domain::ports::OsSecretGenerator::default()),
        );
        let without = flusher(
            &Arc::new(UsageBuffer::new()),
            MockApiKeyRepository::new(),
            MockUsageRepository::new(),
        );
        let with = without.clone().with_sign_in_link_retention(service);

        assert_eq!(without.delete_expired_sign_in_links().await.unwrap(), 0);
        assert_eq!(with.delete_expired_sign_in_links().await.unwrap(), 4);
    }

    #[tokio::test]
    async fn a_new_address_raises_new_client_ip_and_a_failed_store_keeps_the_sightings() {
        let buffer = Arc::new(UsageBuffer::new());
        let key = KeyId::generate();
        let at = datetime!(2026-03-01 00:29 UTC);
        let address: ClientAddress = "192.0.2.7".parse().unwrap();
        buffer.record(key, at, UseOutcome::Verified, Some(address));
        let mut keys = MockApiKeyRepository::new();
        keys.expect_record_last_used()
            .returning(|uses| Ok(moved(uses)));
        let mut addresses = MockClientAddressRepository::new();
        addresses
            .expect_record_client_addresses()
            .times(1)
            .returning(|_| Err(StorageError::unavailable("down")));
        addresses
            .expect_record_client_addresses()
            .withf(move |seen| {
                seen.len() == 1
                    && seen[0].key == key
                    && seen[0].address == address
                    && seen[0].first_at == at
                    && seen[0].last_at == at
            })
            .times(1)
            .returning(move |seen| {
                Ok(vec![NewClientAddress {
                    key,
                    address: seen[0].address,
                    at: seen[0].first_at,
                    key_created_at: datetime!(2026-01-01 00:00 UTC),
                    known_before: 2,
                }])
            });
        let mut alerts = MockAlertRepository::new();
        alerts
            .expect_record_alerts()
            .withf(move |alerts| {
                alerts.len() == 1
                    && alerts[0].key == key
                    && alerts[0].kind == AlertKind::NewClientIp
                    && alerts[0].at == at
                    && alerts[0]
                        .detail
                        .starts_with("The key was used from 192.0.2.7,")
            })
            .times(1)
            .returning(|alerts| Ok(alerts.iter().map(|alert| alert.id).collect()));
        let flusher = flusher_of(&buffer, keys, accepting_usage(), alerts, addresses, clock());

        assert!(flusher.flush().await.is_err());
        assert_eq!(flusher.flush().await.unwrap().alerts, 1);
    }

    #[tokio::test]
    async fn a_retired_key_presented_raises_one_alert_and_a_failed_store_retries_it() {
        let buffer = Arc::new(UsageBuffer::new());
        let key = KeyId::generate();
        for _ in 0..2 {
            buffer.record(
                key,
                datetime!(2026-01-01 10:00 UTC),
                UseOutcome::Refused(RefusalReason::Revoked),
                None,
            );
        }
        let mut usage = MockUsageRepository::new();
        usage
            .expect_add_usage()
            .returning(|counts| Ok(counts.len() as u64));
        let mut alerts = MockAlertRepository::new();
        alerts
            .expect_record_alerts()
            .times(1)
            .returning(|_| Err(StorageError::unavailable("down")));
        alerts
            .expect_record_alerts()
            .withf(move |alerts| {
                alerts.len() == 1
                    && alerts[0].key == key
                    && alerts[0].kind == AlertKind::RevokedKeyUsed
                    && alerts[0]
                        .detail
                        .starts_with("The key was presented 2 times after it was revoked")
            })
            .times(1)
            .returning(|alerts| Ok(alerts.iter().map(|alert| alert.id).collect()));
        let flusher = flusher_with(&buffer, MockApiKeyRepository::new(), usage, alerts);

        assert!(flusher.flush().await.is_err());
        assert_eq!(flusher.flush().await.unwrap().alerts, 1);
        assert!(buffer.drain().is_empty());
    }

    #[tokio::test]
    async fn a_use_after_thirty_days_unused_raises_dormant_key_used() {
        let buffer = Arc::new(UsageBuffer::new());
        let (dormant, busy) = (KeyId::generate(), KeyId::generate());
        let at = datetime!(2026-03-01 00:29 UTC);
        buffer.record(dormant, at, UseOutcome::Verified, None);
        buffer.record(busy, at, UseOutcome::Verified, None);
        let mut keys = MockApiKeyRepository::new();
        keys.expect_record_last_used()
            .times(1)
            .returning(move |uses| {
                let mut moved = moved(uses);
                for use_ in &mut moved {
                    if use_.key == dormant {
                        use_.previous = Some(datetime!(2026-01-15 09:00 UTC));
                    }
                }
                Ok(moved)
            });
        let mut alerts = MockAlertRepository::new();
        alerts
            .expect_record_alerts()
            .withf(move |alerts| {
                alerts.len() == 1
                    && alerts[0].key == dormant
                    && alerts[0].kind == AlertKind::DormantKeyUsed
                    && alerts[0].at == at
                    && alerts[0].detail
                        == "The key was used after 44 days unused (last used 2026-01-15)."
            })
            .times(1)
            .returning(|alerts| Ok(alerts.iter().map(|alert| alert.id).collect()));
        let flusher = flusher_with(&buffer, keys, accepting_usage(), alerts);

        let wrote = flusher.flush().await.unwrap();
        assert_eq!((wrote.last_used, wrote.alerts), (2, 1));
    }

    #[tokio::test]
    async fn a_usage_spike_is_raised_after_an_hour_watched_and_kept_until_stored() {
        let start = datetime!(2026-03-01 00:30 UTC);
        let (clock, now) = settable_clock(start);
        let buffer = Arc::new(UsageBuffer::new());
        let key = KeyId::generate();
        let mut keys = MockApiKeyRepository::new();
        keys.expect_record_last_used()
            .returning(|uses| Ok(moved(uses)));
        let mut alerts = MockAlertRepository::new();
        let spike = move |alerts: &[KeyAlert]| {
            alerts.len() == 1
                && alerts[0].key == key
                && alerts[0].kind == AlertKind::UsageSpike
                && alerts[0].at == datetime!(2026-03-01 01:30 UTC)
        };
        alerts
            .expect_record_alerts()
            .withf(spike)
            .times(1)
            .returning(|_| Err(StorageError::unavailable("down")));
        alerts
            .expect_record_alerts()
            .withf(spike)
            .times(1)
            .returning(|alerts| Ok(alerts.iter().map(|alert| alert.id).collect()));
        let flusher = flusher_of(
            &buffer,
            keys,
            accepting_usage(),
            alerts,
            no_addresses(),
            clock,
        );

        // An hour at 5 a minute, flushed each minute: no alert (the mock would fail).
        for minute in 0..60 {
            let at = start + time::Duration::minutes(minute);
            *now.lock().unwrap() = at;
            for _ in 0..5 {
                buffer.record(key, at, UseOutcome::Verified, None);
            }
            assert_eq!(flusher.flush().await.unwrap().alerts, 0);
        }
        // 01:30: 51 uses then 100 more (over 10 × 5 and at least 100) in two flushes.
        let at = start + time::Duration::hours(1);
        *now.lock().unwrap() = at;
        for _ in 0..51 {
            buffer.record(key, at, UseOutcome::Verified, None);
        }
        assert_eq!(flusher.flush().await.unwrap().alerts, 0);
        for _ in 0..100 {
            buffer.record(key, at, UseOutcome::Verified, None);
        }
        assert!(flusher.flush().await.is_err());
        assert_eq!(flusher.pending_alerts(), 1);
        // Kept, and stored by the next flush though nothing new was used.
        assert_eq!(flusher.flush().await.unwrap().alerts, 1);
        assert_eq!(flusher.pending_alerts(), 0);
        // More uses in the same hour raise nothing again.
        for _ in 0..1_000 {
            buffer.record(key, at, UseOutcome::Verified, None);
        }
        assert_eq!(flusher.flush().await.unwrap().alerts, 0);
    }
}
