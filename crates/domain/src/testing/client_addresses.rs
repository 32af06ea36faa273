//! Contract scenarios for [`ClientAddressRepository`]: a key's `(key, address)` pair is
//! reported new once, with what the `new_client_ip` alert needs (when, the key's age, how
//! many addresses it had); a known pair only moves its last sighting forward; addresses
//! go with their key or with retention.
//!
//! The port reads nothing back but the new pairs, so what is stored is observed through
//! it: `delete_client_addresses_before` counts the rows last seen before a cutoff (so it
//! tells where `last_seen_at` is), and a pair recorded again is reported new only if its
//! row is gone. The first sighting of a known pair is not observable through the port.
//!
//! The scenarios create and delete keys through [`ApiKeyRepository`], so the fixture
//! holds both ports of one store ([`ClientAddressFixture`]). Each scenario needs a store
//! of its own: the retention delete answers for the whole store.

use std::net::IpAddr;
use std::sync::Arc;

use time::macros::{datetime, offset};
use time::{Duration, OffsetDateTime};

use super::NOW;
use super::api_keys::{self, insert_uncapped, sample_key};
use crate::ids::{CustomerId, KeyId};
use crate::keys::ApiKey;
use crate::ports::NewClientAddress;
use crate::ports::{
    ApiKeyRepository, ClientAddressRepository, ClientSighting, MAX_ADDRESSES_PER_KEY,
};
use crate::usage::ClientAddress;

/// Stamps out every scenario below for an adapter. `setup` returns a
/// [`ClientAddressFixture`] over a fresh, empty store (`None` to skip) and a guard kept
/// alive for the scenario.
#[macro_export]
macro_rules! client_address_contract {
    ($setup:path) => {
        $crate::__stamp_contract!($setup, client_addresses;
            a_new_pair_is_reported_with_its_first_sighting_and_its_key,
            a_known_pair_is_not_new_and_its_last_sighting_only_moves_forward,
            the_same_pair_twice_in_a_batch_is_one_new_pair_spanning_both,
            known_before_counts_the_addresses_of_earlier_calls_only,
            unknown_and_deleted_keys_are_skipped,
            deleting_a_key_deletes_its_addresses,
            expired_key_cleanup_deletes_its_addresses,
            retention_deletes_only_addresses_last_seen_before_the_cutoff_of_every_key,
            ipv6_networks_and_ipv4_addresses_round_trip,
            empty_batch_stores_nothing,
            concurrent_batches_report_each_new_pair_once_and_count_exactly,
            a_key_at_the_cap_learns_no_new_address_but_its_known_ones_move_forward,
        );
    };
}

/// Two handles on one store: `keys` creates and deletes the keys that `addresses` are
/// about.
#[allow(missing_debug_implementations)]
pub struct ClientAddressFixture {
    pub keys: Arc<dyn ApiKeyRepository>,
    pub addresses: Arc<dyn ClientAddressRepository>,
}

/// An instant with microseconds that a store keeping only milliseconds (or seconds)
/// would lose.
const AT: OffsetDateTime = datetime!(2026-06-01 10:17:42.123456 UTC);

/// Far enough ahead that every stored address is last seen before it.
const END_OF_TIME: OffsetDateTime = datetime!(9999-12-31 23:59:59 UTC);

const MICRO: Duration = Duration::microseconds(1);

/// The address `ip` (an IP address as text) counts as.
fn address(ip: &str) -> ClientAddress {
    ClientAddress::of(ip.parse::<IpAddr>().unwrap())
}

fn sighting(
    key: &ApiKey,
    ip: &str,
    first_at: OffsetDateTime,
    last_at: OffsetDateTime,
) -> ClientSighting {
    ClientSighting {
        key: key.id(),
        address: address(ip),
        first_at,
        last_at,
    }
}

/// What the store should report for a new pair.
fn new_pair(key: &ApiKey, ip: &str, at: OffsetDateTime, known_before: u64) -> NewClientAddress {
    NewClientAddress {
        key: key.id(),
        address: address(ip),
        at,
        key_created_at: key.created_at(),
        known_before,
    }
}

/// In `(key, address)` order: the port promises no order.
fn sorted(mut pairs: Vec<NewClientAddress>) -> Vec<NewClientAddress> {
    pairs.sort_by_key(|pair| (pair.key, pair.address));
    pairs
}

async fn new_key(fixture: &ClientAddressFixture, customer: CustomerId) -> ApiKey {
    insert_key(fixture, sample_key(customer, NOW - Duration::days(10))).await
}

async fn insert_key(fixture: &ClientAddressFixture, key: ApiKey) -> ApiKey {
    insert_uncapped(&*fixture.keys, key).await
}

/// `key` stored again under the same id, after it was deleted.
async fn reborn(fixture: &ClientAddressFixture, key: &ApiKey) -> ApiKey {
    api_keys::reborn(&*fixture.keys, key).await
}

async fn record(fixture: &ClientAddressFixture, batch: &[ClientSighting]) -> Vec<NewClientAddress> {
    sorted(
        fixture
            .addresses
            .record_client_addresses(batch)
            .await
            .unwrap(),
    )
}

async fn delete_before(fixture: &ClientAddressFixture, cutoff: OffsetDateTime) -> u64 {
    fixture
        .addresses
        .delete_client_addresses_before(cutoff)
        .await
        .unwrap()
}

pub async fn a_new_pair_is_reported_with_its_first_sighting_and_its_key(
    fixture: &ClientAddressFixture,
) {
    let key = new_key(fixture, CustomerId::generate()).await;
    // Given at +02:00 and with nanoseconds: stored in UTC, to the microsecond.
    let first_at = (AT + Duration::nanoseconds(789)).to_offset(offset!(+2));
    let last_at = AT + Duration::minutes(5);

    let new = record(
        fixture,
        &[sighting(&key, "198.51.100.7", first_at, last_at)],
    )
    .await;

    assert_eq!(new, vec![new_pair(&key, "198.51.100.7", AT, 0)]);
    assert_eq!(new[0].at.microsecond(), AT.microsecond());
    assert_eq!(new[0].key_created_at, NOW - Duration::days(10));
    // Last seen exactly at `last_at`: kept by a cutoff at it, deleted by one just after.
    assert_eq!(delete_before(fixture, last_at).await, 0);
    assert_eq!(delete_before(fixture, last_at + MICRO).await, 1);
}

pub async fn a_known_pair_is_not_new_and_its_last_sighting_only_moves_forward(
    fixture: &ClientAddressFixture,
) {
    let key = new_key(fixture, CustomerId::generate()).await;
    let ip = "203.0.113.9";
    let first = record(fixture, &[sighting(&key, ip, AT, AT + Duration::hours(1))]).await;
    assert_eq!(first, vec![new_pair(&key, ip, AT, 0)]);

    let later_last = AT + Duration::hours(3);
    let again = record(
        fixture,
        &[sighting(&key, ip, AT + Duration::hours(2), later_last)],
    )
    .await;
    assert_eq!(again, vec![], "known already");
    assert_eq!(delete_before(fixture, later_last).await, 0, "moved forward");

    // An older batch arriving late: nothing new, and the last sighting stays.
    let older = record(
        fixture,
        &[sighting(
            &key,
            ip,
            AT - Duration::days(1),
            AT - Duration::days(1) + Duration::minutes(1),
        )],
    )
    .await;
    assert_eq!(older, vec![]);
    assert_eq!(delete_before(fixture, later_last).await, 0, "never back");
    assert_eq!(delete_before(fixture, later_last + MICRO).await, 1);
}

pub async fn the_same_pair_twice_in_a_batch_is_one_new_pair_spanning_both(
    fixture: &ClientAddressFixture,
) {
    let key = new_key(fixture, CustomerId::generate()).await;
    let ip = "192.0.2.44";
    let latest = AT + Duration::minutes(20);
    let batch = [
        sighting(&key, ip, AT + Duration::minutes(10), latest),
        sighting(&key, ip, AT, AT + Duration::minutes(5)),
        sighting(
            &key,
            ip,
            AT + Duration::minutes(1),
            AT + Duration::minutes(2),
        ),
    ];

    let new = record(fixture, &batch).await;

    assert_eq!(
        new,
        vec![new_pair(&key, ip, AT, 0)],
        "earliest first sighting"
    );
    assert_eq!(
        delete_before(fixture, latest).await,
        0,
        "latest last sighting"
    );
    assert_eq!(delete_before(fixture, latest + MICRO).await, 1, "one row");
}

pub async fn known_before_counts_the_addresses_of_earlier_calls_only(
    fixture: &ClientAddressFixture,
) {
    let customer = CustomerId::generate();
    let key = new_key(fixture, customer).await;
    let fresh = new_key(fixture, customer).await;
    record(fixture, &[sighting(&key, "192.0.2.1", AT, AT)]).await;

    // Two new addresses and the known one for `key`; one for a key with none yet.
    let later = AT + Duration::minutes(1);
    let new = record(
        fixture,
        &[
            sighting(&key, "192.0.2.2", later, later),
            sighting(&key, "192.0.2.1", later, later),
            sighting(&key, "2001:db8:7::1", later, later),
            sighting(&fresh, "192.0.2.1", later, later),
        ],
    )
    .await;

    assert_eq!(
        new,
        sorted(vec![
            new_pair(&key, "192.0.2.2", later, 1),
            new_pair(&key, "2001:db8:7::1", later, 1),
            new_pair(&fresh, "192.0.2.1", later, 0),
        ])
    );
    let third = record(fixture, &[sighting(&key, "192.0.2.3", later, later)]).await;
    assert_eq!(third, vec![new_pair(&key, "192.0.2.3", later, 3)]);
}

pub async fn unknown_and_deleted_keys_are_skipped(fixture: &ClientAddressFixture) {
    let customer = CustomerId::generate();
    let key = new_key(fixture, customer).await;
    let deleted = new_key(fixture, customer).await;
    assert!(fixture.keys.delete(customer, deleted.id()).await.unwrap());
    let unknown = ClientSighting {
        key: KeyId::generate(),
        ..sighting(&key, "192.0.2.8", AT, AT)
    };

    let new = record(
        fixture,
        &[
            unknown,
            sighting(&deleted, "192.0.2.8", AT, AT),
            sighting(&key, "192.0.2.8", AT, AT),
        ],
    )
    .await;

    assert_eq!(new, vec![new_pair(&key, "192.0.2.8", AT, 0)]);
    assert_eq!(record(fixture, &[unknown]).await, vec![]);
    assert_eq!(
        delete_before(fixture, END_OF_TIME).await,
        1,
        "nothing else stored"
    );
}

pub async fn deleting_a_key_deletes_its_addresses(fixture: &ClientAddressFixture) {
    let customer = CustomerId::generate();
    let doomed = new_key(fixture, customer).await;
    let kept = new_key(fixture, customer).await;
    let batch = [
        sighting(&doomed, "192.0.2.1", AT, AT),
        sighting(&doomed, "2001:db8::1", AT, AT),
        sighting(&kept, "192.0.2.1", AT, AT),
        sighting(&kept, "192.0.2.2", AT, AT),
    ];
    assert_eq!(record(fixture, &batch).await.len(), 4);

    assert!(fixture.keys.delete(customer, doomed.id()).await.unwrap());

    // Gone, not hidden: the key stored again under the same id knows no address.
    let reborn = reborn(fixture, &doomed).await;
    let again = record(fixture, &[sighting(&reborn, "192.0.2.1", NOW, NOW)]).await;
    assert_eq!(again, vec![new_pair(&reborn, "192.0.2.1", NOW, 0)]);
    assert_eq!(
        delete_before(fixture, END_OF_TIME).await,
        3,
        "kept's two and the reborn key's one"
    );
}

pub async fn expired_key_cleanup_deletes_its_addresses(fixture: &ClientAddressFixture) {
    let customer = CustomerId::generate();
    let mut parts = sample_key(customer, NOW - Duration::days(90)).into_parts();
    parts.expires_at = Some(NOW - Duration::days(60));
    let expired = insert_key(fixture, ApiKey::from_parts(parts)).await;
    let kept = new_key(fixture, customer).await;
    let long_ago = NOW - Duration::days(70);
    let batch = [
        sighting(&expired, "192.0.2.1", long_ago, long_ago),
        sighting(&expired, "192.0.2.2", long_ago, NOW),
        sighting(&kept, "192.0.2.1", long_ago, long_ago),
    ];
    assert_eq!(record(fixture, &batch).await.len(), 3);

    assert_eq!(
        fixture
            .keys
            .delete_expired_before(NOW - Duration::days(30))
            .await
            .unwrap(),
        vec![(customer, expired.id())]
    );

    let reborn = reborn(fixture, &expired).await;
    let again = record(fixture, &[sighting(&reborn, "192.0.2.2", NOW, NOW)]).await;
    assert_eq!(again, vec![new_pair(&reborn, "192.0.2.2", NOW, 0)]);
    assert_eq!(
        delete_before(fixture, END_OF_TIME).await,
        2,
        "kept's one and the reborn key's one"
    );
}

pub async fn retention_deletes_only_addresses_last_seen_before_the_cutoff_of_every_key(
    fixture: &ClientAddressFixture,
) {
    let mine = new_key(fixture, CustomerId::generate()).await;
    let theirs = new_key(fixture, CustomerId::generate()).await;
    let cutoff = AT;
    // Last seen at each instant, each first seen well before the cutoff (only the last
    // sighting counts), one address per instant.
    let last_seen = [
        ("192.0.2.1", cutoff - Duration::days(400)),
        ("192.0.2.2", cutoff - MICRO),
        ("192.0.2.3", cutoff),
        ("192.0.2.4", cutoff + MICRO),
    ];
    let first_at = cutoff - Duration::days(500);
    let batch: Vec<ClientSighting> = [&mine, &theirs]
        .into_iter()
        .flat_map(|key| {
            last_seen
                .iter()
                .map(move |(ip, last_at)| sighting(key, ip, first_at, *last_at))
        })
        .collect();
    assert_eq!(record(fixture, &batch).await.len(), 8);

    let deleted = delete_before(fixture, cutoff).await;

    assert_eq!(deleted, 4, "two addresses before the cutoff, for two keys");
    assert_eq!(delete_before(fixture, cutoff).await, 0);
    // The deleted pairs are new again (each key keeping two); the kept ones are not.
    let now = cutoff + Duration::hours(1);
    let again: Vec<ClientSighting> = batch
        .iter()
        .map(|seen| ClientSighting {
            first_at: now,
            last_at: now,
            ..*seen
        })
        .collect();
    let expected: Vec<NewClientAddress> = [&mine, &theirs]
        .into_iter()
        .flat_map(|key| {
            last_seen
                .iter()
                .filter(|(_, last_at)| *last_at < cutoff)
                .map(move |(ip, _)| new_pair(key, ip, now, 2))
        })
        .collect();
    assert_eq!(record(fixture, &again).await, sorted(expected));
}

pub async fn ipv6_networks_and_ipv4_addresses_round_trip(fixture: &ClientAddressFixture) {
    let key = new_key(fixture, CustomerId::generate()).await;
    let ips = [
        "2001:db8:1:2:aaaa:bbbb:cccc:dddd",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "::1",
        "203.0.113.255",
        "0.0.0.0",
    ];
    let batch: Vec<ClientSighting> = ips.iter().map(|ip| sighting(&key, ip, AT, AT)).collect();

    let new = record(fixture, &batch).await;

    let expected: Vec<NewClientAddress> = ips.iter().map(|ip| new_pair(&key, ip, AT, 0)).collect();
    assert_eq!(new, sorted(expected));
    // Another host of the same /64, and an IPv4-mapped IPv6 address of a known IPv4
    // address, are the same addresses; the next /64 is not.
    let later = AT + Duration::minutes(1);
    let again = record(
        fixture,
        &[
            sighting(&key, "2001:db8:1:2::9", later, later),
            sighting(&key, "::ffff:203.0.113.255", later, later),
            sighting(&key, "2001:db8:1:3::9", later, later),
        ],
    )
    .await;
    assert_eq!(again, vec![new_pair(&key, "2001:db8:1:3::1", later, 5)]);
}

pub async fn empty_batch_stores_nothing(fixture: &ClientAddressFixture) {
    new_key(fixture, CustomerId::generate()).await;

    assert_eq!(record(fixture, &[]).await, vec![]);

    assert_eq!(delete_before(fixture, END_OF_TIME).await, 0);
}

/// Instances flushing at once (here: concurrent calls on one store, each on its own
/// connection), each with one address of its own and one they share, for the same keys,
/// in opposite orders. Each pair is reported by exactly one call; and the calls on a key
/// take turns, so each counts what the ones before it stored: the first reports its two
/// pairs as the key's first (0 before), every later one its own address with 2, 3, …
/// before it.
pub async fn concurrent_batches_report_each_new_pair_once_and_count_exactly(
    fixture: &ClientAddressFixture,
) {
    const INSTANCES: u64 = 4;
    let customer = CustomerId::generate();
    let mut keys = Vec::new();
    for _ in 0..4 {
        keys.push(new_key(fixture, customer).await);
    }
    let shared = "198.51.100.1";
    let own = |instance: u64| format!("192.0.2.{}", instance + 1);
    let batches: Vec<Vec<ClientSighting>> = (0..INSTANCES)
        .map(|instance| {
            let mut batch: Vec<ClientSighting> = keys
                .iter()
                .flat_map(|key| {
                    [
                        sighting(key, shared, AT, AT),
                        sighting(key, &own(instance), AT, AT),
                    ]
                })
                .collect();
            if instance % 2 == 1 {
                batch.reverse();
            }
            batch
        })
        .collect();

    let reported: Vec<Vec<NewClientAddress>> =
        futures::future::join_all(batches.iter().map(|batch| record(fixture, batch))).await;

    let reported: Vec<NewClientAddress> = reported.into_iter().flatten().collect();
    for key in &keys {
        let mut of_key: Vec<&NewClientAddress> = reported
            .iter()
            .filter(|pair| pair.key == key.id())
            .collect();
        let mut addresses: Vec<ClientAddress> = of_key.iter().map(|pair| pair.address).collect();
        addresses.sort();
        let mut expected: Vec<ClientAddress> = (0..INSTANCES)
            .map(|instance| address(&own(instance)))
            .chain([address(shared)])
            .collect();
        expected.sort();
        assert_eq!(addresses, expected, "each pair reported once");
        of_key.sort_by_key(|pair| pair.known_before);
        let counts: Vec<u64> = of_key.iter().map(|pair| pair.known_before).collect();
        let mut expected_counts = vec![0, 0];
        expected_counts.extend(2..=INSTANCES);
        assert_eq!(counts, expected_counts, "known before, per call");
        assert!(of_key.iter().all(|pair| pair.at == AT));
    }
    assert_eq!(
        delete_before(fixture, END_OF_TIME).await,
        keys.len() as u64 * (INSTANCES + 1)
    );
}

/// A key that had [`MAX_ADDRESSES_PER_KEY`] addresses learns no more (nothing reported,
/// nothing stored) while its known ones still move forward; a key below the cap learns
/// all of one batch, even past the cap; other keys are unaffected.
pub async fn a_key_at_the_cap_learns_no_new_address_but_its_known_ones_move_forward(
    fixture: &ClientAddressFixture,
) {
    let cap = usize::try_from(MAX_ADDRESSES_PER_KEY).unwrap();
    let (full, other) = (
        new_key(fixture, CustomerId::generate()).await,
        new_key(fixture, CustomerId::generate()).await,
    );
    // 10.0.0.0 onwards: as many distinct IPv4 addresses as the cap, minus one, in one
    // batch; then two more in the next (below the cap before it: both learned).
    let ip = |index: usize| {
        let index = u32::try_from(index).unwrap();
        std::net::Ipv4Addr::from(0x0a00_0000 + index).to_string()
    };
    let first: Vec<ClientSighting> = (0..cap - 1)
        .map(|i| sighting(&full, &ip(i), AT, AT))
        .collect();
    assert_eq!(record(fixture, &first).await.len(), cap - 1);
    let second = [
        sighting(&full, &ip(cap - 1), AT, AT),
        sighting(&full, &ip(cap), AT, AT),
    ];
    assert_eq!(
        record(fixture, &second).await,
        sorted(vec![
            new_pair(&full, &ip(cap - 1), AT, MAX_ADDRESSES_PER_KEY - 1),
            new_pair(&full, &ip(cap), AT, MAX_ADDRESSES_PER_KEY - 1),
        ])
    );

    // Now past the cap: a new address is neither reported nor stored; a known one moves.
    let later = AT + Duration::hours(1);
    let third = [
        sighting(&full, "192.0.2.200", later, later),
        sighting(&full, &ip(0), later, later),
        sighting(&other, "192.0.2.200", later, later),
    ];
    assert_eq!(
        record(fixture, &third).await,
        vec![new_pair(&other, "192.0.2.200", later, 0)]
    );
    // Last seen at AT: every address of `full` but ip(0), which moved to `later`.
    assert_eq!(
        delete_before(fixture, later).await,
        u64::try_from(cap).unwrap(),
        "the other {cap} of the full key"
    );
    assert_eq!(
        delete_before(fixture, END_OF_TIME).await,
        2,
        "ip(0) of the full key, and the other key's one; 192.0.2.200 was not stored for the full key"
    );
}
