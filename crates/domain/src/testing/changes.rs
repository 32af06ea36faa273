//! Contract scenarios for [`ChangeFeed`]: every committed change to a key or a serial,
//! made through one handle on a database, reaches a sink subscribed through another
//! handle on the same database (for the Diesel stores: two pools, as two instances have).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::NOW;
use super::api_keys::sample_key;
use crate::ids::CustomerId;
use crate::keys::{ApiKey, KeyVersion};
use crate::ports::{
    ActiveKeyCap, ApiKeyRepository, Change, ChangeFeed, ChangeSink, SerialRepository,
};
use crate::serial::Serial;

/// Stamps out every scenario below for an adapter. `setup` returns the handles of
/// [`FeedFixture`] (`None` to skip) and a guard kept alive for the scenario.
#[macro_export]
macro_rules! change_feed_contract {
    ($setup:path) => {
        $crate::__stamp_contract!($setup, changes;
            feed_reports_healthy_once_subscribed,
            created_key_is_announced_with_its_first_version,
            updated_key_is_announced_with_its_new_version,
            deleted_key_is_announced_without_version,
            last_used_bookkeeping_is_not_announced,
            moved_serial_is_announced,
            dropping_the_subscription_stops_delivery,
        );
    };
}

/// Two handles on one database: `keys` and `serials` write, `feed` is subscribed to.
#[allow(missing_debug_implementations)]
pub struct FeedFixture {
    pub keys: Arc<dyn ApiKeyRepository>,
    pub serials: Arc<dyn SerialRepository>,
    pub feed: Arc<dyn ChangeFeed>,
}

/// How long a scenario waits for a delivery. Generous: this checks that changes are
/// delivered at all, on a busy test machine; the 1 s bound of SPEC §7 is checked by the
/// two-instance black-box test.
const PATIENCE: Duration = Duration::from_secs(10);

/// A sink that records what it hears.
#[derive(Debug, Default)]
pub struct RecordingSink {
    changes: Mutex<Vec<Change>>,
    healthy: Mutex<Option<bool>>,
}

impl RecordingSink {
    fn changes(&self) -> Vec<Change> {
        self.changes.lock().unwrap().clone()
    }

    fn healthy(&self) -> Option<bool> {
        *self.healthy.lock().unwrap()
    }
}

impl ChangeSink for RecordingSink {
    fn apply(&self, change: Change) {
        self.changes.lock().unwrap().push(change);
    }

    fn set_feed_healthy(&self, healthy: bool) {
        *self.healthy.lock().unwrap() = Some(healthy);
    }
}

/// Polls `condition` until it holds; panics with `what` after [`PATIENCE`].
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "not within {PATIENCE:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn subscribed(
    fixture: &FeedFixture,
) -> (Arc<RecordingSink>, crate::ports::ChangeSubscription) {
    let sink = Arc::new(RecordingSink::default());
    let subscription = fixture.feed.subscribe(sink.clone());
    eventually("the feed reports healthy", || sink.healthy() == Some(true)).await;
    (sink, subscription)
}

const CAP: ActiveKeyCap = ActiveKeyCap { max: 100, now: NOW };

async fn stored_key(fixture: &FeedFixture) -> ApiKey {
    let key = sample_key(CustomerId::generate(), NOW);
    fixture.keys.insert(&key, CAP).await.unwrap();
    key
}

fn heard(sink: &RecordingSink, change: Change) -> bool {
    sink.changes().contains(&change)
}

pub async fn feed_reports_healthy_once_subscribed(fixture: &FeedFixture) {
    let (sink, _subscription) = subscribed(fixture).await;
    assert_eq!(sink.healthy(), Some(true));
}

pub async fn created_key_is_announced_with_its_first_version(fixture: &FeedFixture) {
    let (sink, _subscription) = subscribed(fixture).await;

    let key = stored_key(fixture).await;

    let expected = Change::Key {
        id: key.id(),
        version: Some(KeyVersion::FIRST),
    };
    eventually("the creation is announced", || heard(&sink, expected)).await;
}

pub async fn updated_key_is_announced_with_its_new_version(fixture: &FeedFixture) {
    let key = stored_key(fixture).await;
    let (sink, _subscription) = subscribed(fixture).await;
    let mut parts = key.clone().into_parts();
    parts.active = false;

    fixture
        .keys
        .update(&ApiKey::from_parts(parts), None)
        .await
        .unwrap();

    let expected = Change::Key {
        id: key.id(),
        version: Some(key.version().next()),
    };
    eventually("the update is announced", || heard(&sink, expected)).await;
}

pub async fn deleted_key_is_announced_without_version(fixture: &FeedFixture) {
    let key = stored_key(fixture).await;
    let (sink, _subscription) = subscribed(fixture).await;

    assert!(
        fixture
            .keys
            .delete(key.customer_id(), key.id())
            .await
            .unwrap()
    );

    let expected = Change::Key {
        id: key.id(),
        version: None,
    };
    eventually("the deletion is announced", || heard(&sink, expected)).await;
}

pub async fn last_used_bookkeeping_is_not_announced(fixture: &FeedFixture) {
    // Arrange: a key, then a last-used write for it followed by a marker change.
    let key = stored_key(fixture).await;
    let marker = CustomerId::generate();
    let (sink, _subscription) = subscribed(fixture).await;

    // Act
    fixture
        .keys
        .record_last_used(&[(key.id(), NOW + time::Duration::minutes(1))])
        .await
        .unwrap();
    fixture
        .serials
        .seed_serial(marker, Serial::new(9).unwrap())
        .await
        .unwrap();

    // Assert: changes arrive in commit order, so once the marker is heard, an
    // announcement of the last-used write would have been heard too.
    eventually("the marker is announced", || {
        heard(&sink, Change::Serial { customer: marker })
    })
    .await;
    assert!(
        !sink
            .changes()
            .iter()
            .any(|change| matches!(change, Change::Key { id, .. } if *id == key.id())),
        "last-used bookkeeping was announced: {:?}",
        sink.changes()
    );
}

pub async fn moved_serial_is_announced(fixture: &FeedFixture) {
    let customer = CustomerId::generate();
    let (sink, _subscription) = subscribed(fixture).await;

    fixture
        .serials
        .seed_serial(customer, Serial::new(41).unwrap())
        .await
        .unwrap();

    eventually("the serial change is announced", || {
        heard(&sink, Change::Serial { customer })
    })
    .await;
}

pub async fn dropping_the_subscription_stops_delivery(fixture: &FeedFixture) {
    // Arrange: a second, live subscription tells when the change has been delivered.
    let (dropped, subscription) = subscribed(fixture).await;
    let (live, _live_subscription) = subscribed(fixture).await;
    drop(subscription);

    // Act
    let key = stored_key(fixture).await;

    // Assert
    let expected = Change::Key {
        id: key.id(),
        version: Some(KeyVersion::FIRST),
    };
    eventually("the live subscription hears the change", || {
        heard(&live, expected)
    })
    .await;
    assert!(!heard(&dropped, expected));
}
