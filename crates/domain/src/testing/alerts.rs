//! Contract scenarios for [`AlertRepository`]: an alert is stored at most once per key,
//! kind and UTC hour, belongs to its key's customer, lists newest first with an exact
//! total, and goes with its key or with retention.
//!
//! The scenarios create and delete keys through [`ApiKeyRepository`], so the fixture holds
//! both ports of one store ([`AlertFixture`]). Each scenario needs a store of its own:
//! `delete_alerts_before` answers how many rows of the whole store it removed.

use std::slice;
use std::sync::Arc;

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::NOW;
use super::api_keys::{self, insert_uncapped, sample_key};
use crate::alerts::{AlertKind, KeyAlert};
use crate::ids::{AlertId, CustomerId, KeyId};
use crate::keys::ApiKey;
use crate::ports::{AlertRepository, ApiKeyRepository, Page, PageRequest};

/// Stamps out every scenario below for an adapter. `setup` returns an [`AlertFixture`]
/// over a fresh, empty store (`None` to skip) and a guard kept alive for the scenario.
#[macro_export]
macro_rules! alert_repository_contract {
    ($setup:path) => {
        $crate::__stamp_contract!($setup, alerts;
            stored_alerts_list_newest_first_with_their_fields,
            alerts_at_the_same_instant_list_by_id_descending,
            same_key_kind_and_hour_is_stored_once_across_batches,
            same_key_kind_and_hour_is_stored_once_within_a_batch,
            the_hour_is_the_utc_hour,
            unknown_and_deleted_keys_are_skipped,
            alerts_belong_to_the_keys_customer_only,
            list_filters_by_kind,
            pages_follow_the_newest_first_order_and_count_every_match,
            deleting_a_key_deletes_its_alerts,
            expired_key_cleanup_deletes_its_alerts,
            delete_alerts_before_removes_only_earlier_alerts,
            an_hour_emptied_by_retention_can_alert_again,
            empty_batch_stores_nothing,
            concurrent_batches_store_each_alert_once,
        );
    };
}

/// Two handles on one store: `keys` creates and deletes the keys that `alerts` are about.
#[allow(missing_debug_implementations)]
pub struct AlertFixture {
    pub keys: Arc<dyn ApiKeyRepository>,
    pub alerts: Arc<dyn AlertRepository>,
}

/// An hour well inside every scenario, with microseconds that a store keeping only
/// milliseconds (or seconds) would lose.
const AT: OffsetDateTime = datetime!(2026-06-01 10:17:42.123456 UTC);

/// Far enough ahead that every stored alert is before it.
const END_OF_TIME: OffsetDateTime = datetime!(9999-12-31 23:59:59 UTC);

fn alert(key: &ApiKey, kind: AlertKind, at: OffsetDateTime, detail: &str) -> KeyAlert {
    KeyAlert {
        id: AlertId::generate(),
        at,
        key: key.id(),
        kind,
        detail: detail.to_owned(),
    }
}

fn ids(alerts: &[&KeyAlert]) -> Vec<AlertId> {
    alerts.iter().map(|alert| alert.id).collect()
}

fn page(page: u32, limit: u32) -> PageRequest {
    PageRequest::new(page, limit).unwrap()
}

async fn new_key(fixture: &AlertFixture, customer: CustomerId) -> ApiKey {
    insert_key(fixture, sample_key(customer, NOW)).await
}

async fn insert_key(fixture: &AlertFixture, key: ApiKey) -> ApiKey {
    insert_uncapped(&*fixture.keys, key).await
}

/// `key` stored again under the same id, after it was deleted.
async fn reborn(fixture: &AlertFixture, key: &ApiKey) -> ApiKey {
    api_keys::reborn(&*fixture.keys, key).await
}

async fn record(fixture: &AlertFixture, batch: &[KeyAlert]) -> Vec<AlertId> {
    fixture.alerts.record_alerts(batch).await.unwrap()
}

async fn list(
    fixture: &AlertFixture,
    customer: CustomerId,
    kind: Option<AlertKind>,
    request: PageRequest,
) -> Page<KeyAlert> {
    fixture
        .alerts
        .list_alerts(customer, kind, request)
        .await
        .unwrap()
}

/// Every alert of `customer` (at most 100), newest first.
async fn all(fixture: &AlertFixture, customer: CustomerId) -> Vec<KeyAlert> {
    let listed = list(fixture, customer, None, page(1, 100)).await;
    assert_eq!(listed.total, listed.items.len() as u64);
    listed.items
}

async fn delete_before(fixture: &AlertFixture, cutoff: OffsetDateTime) -> u64 {
    fixture.alerts.delete_alerts_before(cutoff).await.unwrap()
}

/// An alert id with `first_byte` leading and random bytes after it.
fn id_starting_with(first_byte: u8) -> AlertId {
    let mut bytes = *uuid::Uuid::new_v4().as_bytes();
    bytes[0] = first_byte;
    AlertId::from_uuid(uuid::Uuid::from_bytes(bytes))
}

pub async fn stored_alerts_list_newest_first_with_their_fields(fixture: &AlertFixture) {
    let customer = CustomerId::generate();
    let key = new_key(fixture, customer).await;
    let other_key = new_key(fixture, customer).await;
    let oldest = alert(
        &key,
        AlertKind::NewClientIp,
        AT - Duration::days(3),
        "Used from 203.0.113.7 — «neu» für diesen Schlüssel",
    );
    let newest = alert(
        &other_key,
        AlertKind::UsageSpike,
        AT + Duration::microseconds(1),
        "1,250 verifications in one minute",
    );
    let middle = alert(
        &key,
        AlertKind::RevokedKeyUsed,
        AT,
        "A revoked key was presented",
    );
    let batch = [oldest.clone(), newest.clone(), middle.clone()];

    let stored = record(fixture, &batch).await;

    assert_eq!(stored, ids(&[&oldest, &newest, &middle]), "batch order");
    let listed = list(fixture, customer, None, PageRequest::default()).await;
    assert_eq!(listed.items, vec![newest, middle.clone(), oldest]);
    assert_eq!(listed.total, 3);
    assert_eq!(listed.request, PageRequest::default());
    assert_eq!(listed.items[1].at.microsecond(), 123_456);
}

pub async fn alerts_at_the_same_instant_list_by_id_descending(fixture: &AlertFixture) {
    let customer = CustomerId::generate();
    let key = new_key(fixture, customer).await;
    // Ids compare by their bytes, i.e. their lower-case text: 0x80 after 0x7f (bytes read
    // unsigned), 0x0a after 0x09 (a letter after a digit). Stored lowest id first, so that
    // insertion order would give the wrong answer.
    let batch: Vec<KeyAlert> = [0x09, 0x0a, 0x7f, 0x80]
        .into_iter()
        .zip(AlertKind::ALL)
        .map(|(first_byte, kind)| KeyAlert {
            id: id_starting_with(first_byte),
            ..alert(&key, kind, AT, "Same instant")
        })
        .collect();
    let earlier = alert(
        &key,
        AlertKind::UsageSpike,
        AT - Duration::hours(1),
        "Earlier",
    );
    let mut everything = batch.clone();
    everything.push(earlier.clone());
    assert_eq!(record(fixture, &everything).await.len(), 5);

    let listed = all(fixture, customer).await;

    let mut expected: Vec<KeyAlert> = batch.into_iter().rev().collect();
    expected.push(earlier);
    assert_eq!(listed, expected);
    assert_eq!(listed[0].id.as_uuid().as_bytes()[0], 0x80);
}

pub async fn same_key_kind_and_hour_is_stored_once_across_batches(fixture: &AlertFixture) {
    let customer = CustomerId::generate();
    let key = new_key(fixture, customer).await;
    let hour = datetime!(2026-06-01 10:00 UTC);
    let first = alert(
        &key,
        AlertKind::NewClientIp,
        hour,
        "First, from 198.51.100.1",
    );
    assert_eq!(
        record(fixture, slice::from_ref(&first)).await,
        ids(&[&first])
    );

    let last_moment = alert(
        &key,
        AlertKind::NewClientIp,
        hour + Duration::hours(1) - Duration::microseconds(1),
        "Same hour, from 198.51.100.2",
    );
    let other_kind = alert(&key, AlertKind::DormantKeyUsed, hour, "Other kind");
    let next_hour = alert(
        &key,
        AlertKind::NewClientIp,
        hour + Duration::hours(1),
        "Next hour, from 198.51.100.3",
    );
    let again = KeyAlert {
        id: AlertId::generate(),
        ..first.clone()
    };
    let stored = record(
        fixture,
        &[last_moment, other_kind.clone(), again, next_hour.clone()],
    )
    .await;

    assert_eq!(stored, ids(&[&other_kind, &next_hour]));
    assert_eq!(
        all(fixture, customer).await,
        vec![next_hour, other_kind, first.clone()]
    );
    // A batch retried as a whole stores nothing more.
    assert_eq!(record(fixture, slice::from_ref(&first)).await, vec![]);
    assert_eq!(all(fixture, customer).await.len(), 3);
}

pub async fn same_key_kind_and_hour_is_stored_once_within_a_batch(fixture: &AlertFixture) {
    let customer = CustomerId::generate();
    let key = new_key(fixture, customer).await;
    let other_key = new_key(fixture, customer).await;
    let first = alert(&key, AlertKind::UsageSpike, AT, "First in the batch");
    // Earlier in the hour, but later in the batch: the batch's order decides.
    let repeat = alert(
        &key,
        AlertKind::UsageSpike,
        AT - Duration::minutes(10),
        "Second in the batch",
    );
    let other = alert(&other_key, AlertKind::UsageSpike, AT, "Another key");
    let previous_hour = alert(
        &key,
        AlertKind::UsageSpike,
        AT - Duration::hours(1),
        "The hour before",
    );
    let repeat_again = alert(&key, AlertKind::UsageSpike, AT, "Third in the batch");

    let stored = record(
        fixture,
        &[
            first.clone(),
            repeat,
            other.clone(),
            repeat_again,
            previous_hour.clone(),
        ],
    )
    .await;

    assert_eq!(stored, ids(&[&first, &other, &previous_hour]));
    let listed = all(fixture, customer).await;
    assert_eq!(listed.len(), 3);
    assert!(listed.contains(&first), "{listed:?}");
    assert!(listed.contains(&other), "{listed:?}");
    assert!(listed.contains(&previous_hour), "{listed:?}");
}

pub async fn the_hour_is_the_utc_hour(fixture: &AlertFixture) {
    let customer = CustomerId::generate();
    let key = new_key(fixture, customer).await;
    let utc = alert(
        &key,
        AlertKind::RevokedKeyUsed,
        datetime!(2026-06-01 10:05 UTC),
        "UTC",
    );
    record(fixture, slice::from_ref(&utc)).await;

    // 12:59 at +02:00 is 10:59 UTC: the same hour. 11:00 at +01:00 is 10:00 UTC too.
    let same_hour_elsewhere = alert(
        &key,
        AlertKind::RevokedKeyUsed,
        datetime!(2026-06-01 12:59:59.999999 +02:00),
        "Same UTC hour",
    );
    let same_hour_again = alert(
        &key,
        AlertKind::RevokedKeyUsed,
        datetime!(2026-06-01 11:00 +01:00),
        "Same UTC hour again",
    );
    // 13:00 at +01:59 is 11:01 UTC: the next hour, though 13:00 is two local hours on.
    let next_hour = alert(
        &key,
        AlertKind::RevokedKeyUsed,
        datetime!(2026-06-01 13:00 +01:59),
        "Next UTC hour",
    );
    let stored = record(
        fixture,
        &[same_hour_elsewhere, same_hour_again, next_hour.clone()],
    )
    .await;

    assert_eq!(stored, ids(&[&next_hour]));
    assert_eq!(all(fixture, customer).await, vec![next_hour, utc]);
}

pub async fn unknown_and_deleted_keys_are_skipped(fixture: &AlertFixture) {
    let customer = CustomerId::generate();
    let key = new_key(fixture, customer).await;
    let deleted = new_key(fixture, customer).await;
    assert!(fixture.keys.delete(customer, deleted.id()).await.unwrap());
    let unknown = KeyAlert {
        key: KeyId::generate(),
        ..alert(&key, AlertKind::UsageSpike, AT, "No such key")
    };
    let of_deleted = alert(&deleted, AlertKind::UsageSpike, AT, "Deleted key");
    let kept = alert(&key, AlertKind::UsageSpike, AT, "Existing key");

    let stored = record(fixture, &[unknown.clone(), of_deleted, kept.clone()]).await;

    assert_eq!(stored, ids(&[&kept]));
    assert_eq!(all(fixture, customer).await, vec![kept]);
    assert_eq!(record(fixture, &[unknown]).await, vec![]);
    assert_eq!(
        delete_before(fixture, END_OF_TIME).await,
        1,
        "nothing else stored"
    );
}

pub async fn alerts_belong_to_the_keys_customer_only(fixture: &AlertFixture) {
    let mine = new_key(fixture, CustomerId::generate()).await;
    let theirs = new_key(fixture, CustomerId::generate()).await;
    let my_alert = alert(&mine, AlertKind::DormantKeyUsed, AT, "Mine");
    let their_alert = alert(&theirs, AlertKind::DormantKeyUsed, AT, "Theirs");
    record(fixture, &[my_alert.clone(), their_alert.clone()]).await;

    assert_eq!(all(fixture, mine.customer_id()).await, vec![my_alert]);
    assert_eq!(all(fixture, theirs.customer_id()).await, vec![their_alert]);
    let stranger = CustomerId::generate();
    for kind in [None, Some(AlertKind::DormantKeyUsed)] {
        let listed = list(fixture, stranger, kind, PageRequest::default()).await;
        assert_eq!((listed.items, listed.total), (vec![], 0));
    }
}

pub async fn list_filters_by_kind(fixture: &AlertFixture) {
    let customer = CustomerId::generate();
    let key = new_key(fixture, customer).await;
    let theirs = new_key(fixture, CustomerId::generate()).await;
    let spikes = [
        alert(
            &key,
            AlertKind::UsageSpike,
            AT - Duration::hours(2),
            "Spike 1",
        ),
        alert(&key, AlertKind::UsageSpike, AT, "Spike 2"),
    ];
    let revoked = alert(&key, AlertKind::RevokedKeyUsed, AT, "Revoked");
    let mut batch = spikes.to_vec();
    batch.push(revoked.clone());
    batch.push(alert(&theirs, AlertKind::UsageSpike, AT, "Their spike"));
    assert_eq!(record(fixture, &batch).await.len(), 4);

    let listed = list(fixture, customer, Some(AlertKind::UsageSpike), page(1, 20)).await;
    assert_eq!(listed.items, vec![spikes[1].clone(), spikes[0].clone()]);
    assert_eq!(listed.total, 2);

    let listed = list(
        fixture,
        customer,
        Some(AlertKind::RevokedKeyUsed),
        page(1, 20),
    )
    .await;
    assert_eq!((listed.items, listed.total), (vec![revoked], 1));

    for kind in [AlertKind::NewClientIp, AlertKind::DormantKeyUsed] {
        let listed = list(fixture, customer, Some(kind), page(1, 20)).await;
        assert_eq!((listed.items, listed.total), (vec![], 0), "{kind}");
    }
    assert_eq!(all(fixture, customer).await.len(), 3);
}

pub async fn pages_follow_the_newest_first_order_and_count_every_match(fixture: &AlertFixture) {
    let customer = CustomerId::generate();
    let key = new_key(fixture, customer).await;
    // Five spikes an hour apart, oldest first, and a new-address alert between them.
    let spikes: Vec<KeyAlert> = (0..5)
        .map(|hour| {
            alert(
                &key,
                AlertKind::UsageSpike,
                AT + Duration::hours(hour),
                &format!("Spike {hour}"),
            )
        })
        .collect();
    let address = alert(
        &key,
        AlertKind::NewClientIp,
        AT + Duration::minutes(150),
        "New address",
    );
    let mut batch = spikes.clone();
    batch.push(address.clone());
    record(fixture, &batch).await;

    let pages: Vec<Page<KeyAlert>> = futures::future::join_all(
        (1..=4).map(|number| list(fixture, customer, None, page(number, 2))),
    )
    .await;

    let expected = [
        vec![spikes[4].clone(), spikes[3].clone()],
        vec![address.clone(), spikes[2].clone()],
        vec![spikes[1].clone(), spikes[0].clone()],
        vec![],
    ];
    for (number, (listed, expected)) in (1..).zip(pages.into_iter().zip(expected)) {
        assert_eq!(listed.items, expected, "page {number}");
        assert_eq!(listed.total, 6, "page {number}");
        assert_eq!(listed.request, page(number, 2));
    }
    let spikes_only = list(fixture, customer, Some(AlertKind::UsageSpike), page(2, 3)).await;
    assert_eq!(
        spikes_only.items,
        vec![spikes[1].clone(), spikes[0].clone()]
    );
    assert_eq!(spikes_only.total, 5);
}

pub async fn deleting_a_key_deletes_its_alerts(fixture: &AlertFixture) {
    let customer = CustomerId::generate();
    let doomed = new_key(fixture, customer).await;
    let kept = new_key(fixture, customer).await;
    let kept_alert = alert(&kept, AlertKind::UsageSpike, AT, "Kept");
    record(
        fixture,
        &[
            alert(&doomed, AlertKind::UsageSpike, AT, "Doomed"),
            alert(&doomed, AlertKind::NewClientIp, AT, "Doomed too"),
            kept_alert.clone(),
        ],
    )
    .await;

    assert!(fixture.keys.delete(customer, doomed.id()).await.unwrap());

    assert_eq!(all(fixture, customer).await, vec![kept_alert]);
    // Gone, not hidden: the key stored again under the same id has no alerts, and may be
    // alerted about in the same hour again.
    let reborn = reborn(fixture, &doomed).await;
    assert_eq!(all(fixture, customer).await.len(), 1);
    let again = alert(&reborn, AlertKind::UsageSpike, AT, "Reborn");
    assert_eq!(
        record(fixture, slice::from_ref(&again)).await,
        ids(&[&again])
    );
    assert_eq!(
        delete_before(fixture, END_OF_TIME).await,
        2,
        "kept and again"
    );
}

pub async fn expired_key_cleanup_deletes_its_alerts(fixture: &AlertFixture) {
    let customer = CustomerId::generate();
    let mut parts = sample_key(customer, NOW - Duration::days(90)).into_parts();
    parts.expires_at = Some(NOW - Duration::days(60));
    let expired = insert_key(fixture, ApiKey::from_parts(parts)).await;
    let kept = new_key(fixture, customer).await;
    let long_ago = NOW - Duration::days(70);
    let kept_alert = alert(&kept, AlertKind::DormantKeyUsed, long_ago, "Kept");
    record(
        fixture,
        &[
            alert(&expired, AlertKind::RevokedKeyUsed, long_ago, "Expired"),
            alert(
                &expired,
                AlertKind::RevokedKeyUsed,
                NOW,
                "Expired, still presented",
            ),
            kept_alert.clone(),
        ],
    )
    .await;

    assert_eq!(
        fixture
            .keys
            .delete_expired_before(NOW - Duration::days(30))
            .await
            .unwrap(),
        vec![(customer, expired.id())]
    );

    assert_eq!(all(fixture, customer).await, vec![kept_alert]);
    let reborn = reborn(fixture, &expired).await;
    let again = alert(&reborn, AlertKind::RevokedKeyUsed, NOW, "Reborn");
    assert_eq!(
        record(fixture, slice::from_ref(&again)).await,
        ids(&[&again])
    );
    assert_eq!(
        delete_before(fixture, END_OF_TIME).await,
        2,
        "kept and again"
    );
}

pub async fn delete_alerts_before_removes_only_earlier_alerts(fixture: &AlertFixture) {
    let mine = new_key(fixture, CustomerId::generate()).await;
    let theirs = new_key(fixture, CustomerId::generate()).await;
    let cutoff = AT;
    let times = [
        cutoff - Duration::days(400),
        cutoff - Duration::microseconds(1),
        cutoff,
        cutoff + Duration::microseconds(1),
    ];
    // One kind per instant, so that no two share a key, kind and hour.
    let batch: Vec<KeyAlert> = times
        .iter()
        .zip(AlertKind::ALL)
        .flat_map(|(at, kind)| {
            [
                alert(&mine, kind, *at, "Mine"),
                alert(&theirs, kind, *at, "Theirs"),
            ]
        })
        .collect();
    assert_eq!(record(fixture, &batch).await.len(), 8);

    let deleted = delete_before(fixture, cutoff).await;

    assert_eq!(deleted, 4, "two instants before the cutoff, for two keys");
    let remaining = |key: &ApiKey| -> Vec<KeyAlert> {
        batch
            .iter()
            .filter(|alert| alert.key == key.id() && alert.at >= cutoff)
            .rev()
            .cloned()
            .collect()
    };
    assert_eq!(all(fixture, mine.customer_id()).await, remaining(&mine));
    assert_eq!(all(fixture, theirs.customer_id()).await, remaining(&theirs));
    assert_eq!(all(fixture, mine.customer_id()).await.len(), 2);
    assert_eq!(delete_before(fixture, cutoff).await, 0);
    assert_eq!(
        delete_before(fixture, cutoff + Duration::microseconds(2)).await,
        4
    );
}

pub async fn an_hour_emptied_by_retention_can_alert_again(fixture: &AlertFixture) {
    let customer = CustomerId::generate();
    let key = new_key(fixture, customer).await;
    let first = alert(&key, AlertKind::NewClientIp, AT, "First");
    record(fixture, slice::from_ref(&first)).await;
    assert_eq!(
        delete_before(fixture, AT + Duration::microseconds(1)).await,
        1
    );

    let again = alert(&key, AlertKind::NewClientIp, AT, "Again");
    assert_eq!(
        record(fixture, slice::from_ref(&again)).await,
        ids(&[&again])
    );
    assert_eq!(all(fixture, customer).await, vec![again]);
}

pub async fn empty_batch_stores_nothing(fixture: &AlertFixture) {
    let key = new_key(fixture, CustomerId::generate()).await;

    assert_eq!(record(fixture, &[]).await, vec![]);

    let listed = list(fixture, key.customer_id(), None, PageRequest::default()).await;
    assert_eq!((listed.items, listed.total), (vec![], 0));
    assert_eq!(delete_before(fixture, END_OF_TIME).await, 0);
}

/// Two instances noticing the same things at once (here: concurrent calls on one store,
/// each on its own connection), in opposite orders: each alert is stored by exactly one
/// of them, and neither fails.
pub async fn concurrent_batches_store_each_alert_once(fixture: &AlertFixture) {
    let customer = CustomerId::generate();
    let mut keys = Vec::new();
    for _ in 0..4 {
        keys.push(new_key(fixture, customer).await);
    }
    let batch_for = |label: &str| -> Vec<KeyAlert> {
        keys.iter()
            .flat_map(|key| {
                [AlertKind::UsageSpike, AlertKind::NewClientIp]
                    .map(|kind| alert(key, kind, AT, label))
            })
            .collect()
    };
    let batches: Vec<Vec<KeyAlert>> = (0..4)
        .map(|instance| {
            let mut batch = batch_for(&format!("Instance {instance}"));
            if instance % 2 == 1 {
                batch.reverse();
            }
            batch
        })
        .collect();

    let stored: Vec<Vec<AlertId>> =
        futures::future::join_all(batches.iter().map(|batch| record(fixture, batch))).await;

    let stored: Vec<AlertId> = stored.into_iter().flatten().collect();
    assert_eq!(stored.len(), 8, "one per key and kind");
    let mut listed: Vec<AlertId> = all(fixture, customer)
        .await
        .into_iter()
        .map(|alert| alert.id)
        .collect();
    let mut stored = stored;
    stored.sort();
    listed.sort();
    assert_eq!(listed, stored);
}
