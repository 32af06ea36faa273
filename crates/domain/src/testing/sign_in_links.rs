//! Contract scenarios for [`SignInLinkRepository`]: a link redeems once, with exactly
//! what it was stored with, strictly before its expiry; an unknown, used or expired link
//! is `None` and a refused redeem changes nothing; of eight concurrent redeemers on two
//! instances exactly one wins; a hash is stored once; `delete_expired` removes exactly
//! the links (used or not) that expired before its cutoff.
//!
//! The fixture holds two handles on one database, as two keyward instances have
//! ([`SignInLinkFixture`]); the memory store passes itself twice. Each scenario needs a
//! store of its own: `delete_expired` answers for the whole store.

use std::sync::Arc;

use time::macros::{datetime, offset};
use time::{Duration, OffsetDateTime, UtcOffset};

use super::NOW;
use crate::ids::CustomerId;
use crate::ports::{NewSignInLink, RedeemedSignInLink, SignInLinkRepository, StorageError};

/// Stamps out every scenario below for an adapter. `setup` returns a
/// [`SignInLinkFixture`] over a fresh, empty database (`None` to skip) and a guard kept
/// alive for the scenario.
#[macro_export]
macro_rules! sign_in_link_contract {
    ($setup:path) => {
        $crate::__stamp_contract!($setup, sign_in_links;
            a_link_redeems_once_with_what_it_was_stored_with,
            a_link_used_on_one_instance_is_used_on_the_other,
            an_unknown_hash_redeems_to_none,
            a_link_redeems_strictly_before_its_expiry_and_a_late_try_leaves_it_unused,
            redeeming_one_link_leaves_the_others_unused,
            of_eight_concurrent_redeemers_on_two_instances_exactly_one_gets_the_link,
            subject_and_permissions_round_trip_exactly,
            an_empty_permission_list_round_trips,
            expiry_is_kept_to_the_microsecond_and_read_back_in_utc,
            a_hash_stored_twice_is_a_conflict_and_the_first_link_stays,
            delete_expired_removes_used_and_unused_links_expired_before_the_cutoff,
            delete_expired_on_an_empty_store_deletes_nothing,
        );
    };
}

/// Two handles on one database, as two instances behind a load balancer have: `first`
/// and `second` may be the same store (memory) or two stores with pools of their own.
#[allow(missing_debug_implementations)]
pub struct SignInLinkFixture {
    pub first: Arc<dyn SignInLinkRepository>,
    pub second: Arc<dyn SignInLinkRepository>,
}

/// Every permission of the customer API, in SPEC §3's order.
const EVERY_PERMISSION: [&str; 8] = [
    "api_keys:read",
    "api_keys:write",
    "api_keys:revoke",
    "venues:read",
    "venues:write",
    "service_keys:read",
    "service_keys:write",
    "audit:read",
];

/// An instant with microseconds that a store keeping only milliseconds would lose.
const EXPIRES: OffsetDateTime = datetime!(2026-06-01 12:10:00.123456 UTC);

const MICRO: Duration = Duration::microseconds(1);

/// A distinct hash per `n`.
fn hash(n: u8) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        // `i` < 32.
        *byte = n
            .wrapping_mul(31)
            .wrapping_add(u8::try_from(i).unwrap_or(0));
    }
    bytes
}

fn customer() -> CustomerId {
    CustomerId::from_uuid(uuid::Uuid::new_v4())
}

/// A link under `hash(n)` for a new customer, every permission, issued at [`NOW`],
/// expiring at [`EXPIRES`].
fn link(n: u8) -> NewSignInLink {
    NewSignInLink {
        token_hash: hash(n),
        customer_id: customer(),
        subject: "keyward-cli".to_owned(),
        permissions: EVERY_PERMISSION.iter().map(|&p| p.to_owned()).collect(),
        created_at: NOW,
        expires_at: EXPIRES,
    }
}

/// What redeeming `link` should return.
fn granted(link: &NewSignInLink) -> RedeemedSignInLink {
    RedeemedSignInLink {
        customer_id: link.customer_id,
        subject: link.subject.clone(),
        permissions: link.permissions.clone(),
        expires_at: link.expires_at,
    }
}

async fn insert(store: &dyn SignInLinkRepository, link: &NewSignInLink) {
    store.insert(link.clone()).await.unwrap();
}

async fn redeem(
    store: &dyn SignInLinkRepository,
    n: u8,
    now: OffsetDateTime,
) -> Option<RedeemedSignInLink> {
    store.redeem(&hash(n), now).await.unwrap()
}

pub async fn a_link_redeems_once_with_what_it_was_stored_with(fixture: &SignInLinkFixture) {
    let store = &*fixture.first;
    let stored = link(1);
    insert(store, &stored).await;

    let first = redeem(store, 1, NOW).await;
    let second = redeem(store, 1, NOW).await;
    let later = redeem(store, 1, NOW + Duration::seconds(1)).await;

    assert_eq!(first, Some(granted(&stored)));
    assert_eq!(second, None);
    assert_eq!(later, None);
}

pub async fn a_link_used_on_one_instance_is_used_on_the_other(fixture: &SignInLinkFixture) {
    let stored = link(1);
    insert(&*fixture.first, &stored).await;

    let on_second = redeem(&*fixture.second, 1, NOW).await;
    let on_first = redeem(&*fixture.first, 1, NOW).await;

    assert_eq!(on_second, Some(granted(&stored)));
    assert_eq!(on_first, None);
}

pub async fn an_unknown_hash_redeems_to_none(fixture: &SignInLinkFixture) {
    let store = &*fixture.first;
    insert(store, &link(1)).await;

    let unknown = redeem(store, 2, NOW).await;

    assert_eq!(unknown, None);
    assert!(
        redeem(store, 1, NOW).await.is_some(),
        "the stored link stays"
    );
}

pub async fn a_link_redeems_strictly_before_its_expiry_and_a_late_try_leaves_it_unused(
    fixture: &SignInLinkFixture,
) {
    let store = &*fixture.first;
    let (at_expiry, just_before) = (link(1), link(2));
    insert(store, &at_expiry).await;
    insert(store, &just_before).await;

    let at = redeem(store, 1, EXPIRES).await;
    let after = redeem(store, 1, EXPIRES + Duration::days(1)).await;
    let before = redeem(store, 2, EXPIRES - MICRO).await;

    assert_eq!(at, None, "a link no longer works at its expiry");
    assert_eq!(after, None);
    assert_eq!(before, Some(granted(&just_before)));
    // The refused tries did not use the link up: earlier, it still works (once).
    assert_eq!(
        redeem(store, 1, EXPIRES - MICRO).await,
        Some(granted(&at_expiry))
    );
    assert_eq!(redeem(store, 1, EXPIRES - MICRO).await, None);
}

pub async fn redeeming_one_link_leaves_the_others_unused(fixture: &SignInLinkFixture) {
    let store = &*fixture.first;
    let links: Vec<NewSignInLink> = (1..=3).map(link).collect();
    for stored in &links {
        insert(store, stored).await;
    }

    let middle = redeem(store, 2, NOW).await;

    assert_eq!(middle, Some(granted(&links[1])));
    assert_eq!(redeem(store, 1, NOW).await, Some(granted(&links[0])));
    assert_eq!(redeem(store, 3, NOW).await, Some(granted(&links[2])));
}

pub async fn of_eight_concurrent_redeemers_on_two_instances_exactly_one_gets_the_link(
    fixture: &SignInLinkFixture,
) {
    let stored = link(1);
    insert(&*fixture.first, &stored).await;
    let token_hash = hash(1);

    let answers: Vec<Result<Option<RedeemedSignInLink>, StorageError>> =
        futures::future::join_all((0..8).map(|i| {
            let store = if i % 2 == 0 {
                &fixture.first
            } else {
                &fixture.second
            };
            store.redeem(&token_hash, NOW)
        }))
        .await;

    let winners: Vec<RedeemedSignInLink> = answers
        .into_iter()
        .filter_map(|answer| answer.expect("no redeemer fails"))
        .collect();
    assert_eq!(winners, vec![granted(&stored)]);
    assert_eq!(redeem(&*fixture.second, 1, NOW).await, None);
}

pub async fn subject_and_permissions_round_trip_exactly(fixture: &SignInLinkFixture) {
    let store = &*fixture.first;
    let awkward = NewSignInLink {
        subject: "Zoë \"the boss\" O'Neil, [\"admin\"] \\ 🎤".to_owned(),
        permissions: vec![
            "venues:write".to_owned(),
            "api_keys:read".to_owned(),
            "a,b".to_owned(),
            "\"quoted\" and \\".to_owned(),
            "api_keys:read".to_owned(),
            " spaced ".to_owned(),
            "ü".to_owned(),
        ],
        ..link(1)
    };
    let longest = NewSignInLink {
        subject: "é".repeat(255),
        ..link(2)
    };
    insert(store, &awkward).await;
    insert(store, &longest).await;

    let first = redeem(store, 1, NOW).await;
    let second = redeem(store, 2, NOW).await;

    assert_eq!(first, Some(granted(&awkward)));
    assert_eq!(second, Some(granted(&longest)));
}

pub async fn an_empty_permission_list_round_trips(fixture: &SignInLinkFixture) {
    let store = &*fixture.first;
    let empty = NewSignInLink {
        permissions: Vec::new(),
        ..link(1)
    };
    let one = NewSignInLink {
        permissions: vec!["audit:read".to_owned()],
        ..link(2)
    };
    insert(store, &empty).await;
    insert(store, &one).await;

    let first = redeem(store, 1, NOW).await.unwrap();
    let second = redeem(store, 2, NOW).await.unwrap();

    assert_eq!(first.permissions, Vec::<String>::new());
    assert_eq!(second.permissions, vec!["audit:read".to_owned()]);
}

pub async fn expiry_is_kept_to_the_microsecond_and_read_back_in_utc(fixture: &SignInLinkFixture) {
    let store = &*fixture.first;
    let in_paris = NewSignInLink {
        created_at: NOW.to_offset(offset!(+2)),
        expires_at: EXPIRES.to_offset(offset!(+2)),
        ..link(1)
    };
    insert(store, &in_paris).await;

    let redeemed = redeem(store, 1, NOW).await.unwrap();

    assert_eq!(redeemed.expires_at, EXPIRES);
    assert_eq!(redeemed.expires_at.offset(), UtcOffset::UTC);
    assert_eq!(redeemed.expires_at.microsecond(), 123_456);
}

pub async fn a_hash_stored_twice_is_a_conflict_and_the_first_link_stays(
    fixture: &SignInLinkFixture,
) {
    let stored = link(1);
    insert(&*fixture.first, &stored).await;
    let clash = NewSignInLink {
        subject: "someone else".to_owned(),
        ..link(1)
    };

    let unused = fixture.second.insert(clash.clone()).await;
    assert_eq!(
        redeem(&*fixture.first, 1, NOW).await,
        Some(granted(&stored))
    );
    let used = fixture.first.insert(clash).await;

    assert!(
        matches!(unused, Err(StorageError::Conflict("token_hash"))),
        "{unused:?}"
    );
    assert!(
        matches!(used, Err(StorageError::Conflict("token_hash"))),
        "{used:?}"
    );
    assert_eq!(redeem(&*fixture.first, 1, NOW).await, None);
}

pub async fn delete_expired_removes_used_and_unused_links_expired_before_the_cutoff(
    fixture: &SignInLinkFixture,
) {
    let store = &*fixture.first;
    let cutoff = EXPIRES;
    let expiring = |n: u8, expires_at: OffsetDateTime| NewSignInLink {
        created_at: expires_at - Duration::minutes(10),
        expires_at,
        ..link(n)
    };
    let long_gone = expiring(1, cutoff - Duration::hours(2));
    let used_and_gone = expiring(2, cutoff - MICRO);
    let at_cutoff = expiring(3, cutoff);
    let later = expiring(4, cutoff + Duration::hours(1));
    let used_later = expiring(5, cutoff + Duration::hours(1));
    for stored in [&long_gone, &used_and_gone, &at_cutoff, &later, &used_later] {
        insert(store, stored).await;
    }
    let used_at = cutoff - Duration::hours(3);
    assert!(redeem(store, 2, used_at).await.is_some());
    assert!(redeem(store, 5, used_at).await.is_some());

    let deleted = store.delete_expired(cutoff).await.unwrap();
    let again = store.delete_expired(cutoff).await.unwrap();

    assert_eq!(deleted, 2);
    assert_eq!(again, 0);
    // Gone: their hashes can be stored again.
    insert(store, &long_gone).await;
    insert(store, &used_and_gone).await;
    // Kept: the link expiring exactly at the cutoff and the later ones, as they were.
    assert_eq!(
        redeem(store, 3, cutoff - MICRO).await,
        Some(granted(&at_cutoff))
    );
    assert_eq!(redeem(store, 4, cutoff).await, Some(granted(&later)));
    assert_eq!(redeem(store, 5, cutoff).await, None, "still used");
    assert_eq!(
        store
            .delete_expired(cutoff + Duration::days(1))
            .await
            .unwrap(),
        5
    );
}

pub async fn delete_expired_on_an_empty_store_deletes_nothing(fixture: &SignInLinkFixture) {
    let deleted = fixture
        .first
        .delete_expired(datetime!(9999-12-31 23:59:59 UTC))
        .await
        .unwrap();

    assert_eq!(deleted, 0);
}
