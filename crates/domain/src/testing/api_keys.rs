//! Contract scenarios for [`ApiKeyRepository`].

use time::{Duration, OffsetDateTime};

use super::NOW;
use crate::ids::{CustomerId, KeyId};
use crate::keys::{
    ApiKey, ApiKeyParts, Description, KeyName, KeyPrefix, KeyVersion, PlainKey, RetiredSecret,
};
use crate::ports::{
    ActiveKeyCap, ApiKeyRepository, KeyFilter, KeyWriteError, LastUseMoved, PageRequest,
    StorageError,
};
use crate::scope::{Scope, ScopeSet};

/// Stamps out every scenario below for an adapter; see the module docs of `testing`.
#[macro_export]
macro_rules! api_key_repository_contract {
    ($setup:path) => {
        $crate::__stamp_contract!($setup, api_keys;
            inserted_key_reads_back_unchanged,
            key_of_another_customer_is_invisible_to_get,
            find_by_id_finds_a_key_of_any_customer,
            duplicate_hash_is_a_conflict,
            insert_beyond_cap_is_refused,
            inactive_and_expired_keys_do_not_count_toward_cap,
            find_by_hash_matches_current_and_retired_secrets,
            list_is_newest_first_with_paging_and_total,
            list_filters_by_active_flag,
            list_never_shows_another_customers_keys,
            update_replaces_mutable_fields_only,
            update_of_missing_or_foreign_key_is_not_found,
            update_with_cap_refuses_reactivation_beyond_limit,
            delete_removes_only_the_customers_own_key,
            delete_expired_before_removes_only_keys_expired_before_cutoff,
            last_used_moves_forward_only,
            last_used_batch_ignores_unknown_ids_and_empty_batches,
            last_used_batch_takes_each_keys_latest_time_and_returns_its_previous_use,
            concurrent_last_used_writes_see_a_keys_old_value_once,
            a_last_used_batch_of_over_a_thousand_keys_moves_each_once,
            insert_stores_the_first_version,
            update_bumps_the_version_by_one,
            update_with_a_stale_version_is_refused_and_changes_nothing,
            last_used_leaves_the_version_alone,
        );
    };
}

const GENEROUS: u32 = 1_000;

fn cap(max: u32) -> ActiveKeyCap {
    ActiveKeyCap { max, now: NOW }
}

/// A key for `customer` with a fresh random secret, created at `created_at`.
/// Stores `key` with a cap no scenario reaches (1,000 active keys), for the contracts of
/// ports that are about keys (alerts, client addresses); returns it.
///
/// # Panics
/// When the store refuses the key: the scenario cannot go on.
pub async fn insert_uncapped(keys: &dyn ApiKeyRepository, key: ApiKey) -> ApiKey {
    keys.insert(
        &key,
        ActiveKeyCap {
            max: 1_000,
            now: NOW,
        },
    )
    .await
    .unwrap();
    key
}

/// `key` stored again under the same id (a fresh secret, created at `NOW`), after it was
/// deleted: what a store must not mistake for the key that had the id before.
///
/// # Panics
/// When the store refuses the key.
pub async fn reborn(keys: &dyn ApiKeyRepository, key: &ApiKey) -> ApiKey {
    let mut parts = sample_key(key.customer_id(), NOW).into_parts();
    parts.id = key.id();
    insert_uncapped(keys, ApiKey::from_parts(parts)).await
}

pub fn sample_key(customer: CustomerId, created_at: OffsetDateTime) -> ApiKey {
    let mut random = [0u8; 32];
    random[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    random[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let secret = PlainKey::from_random(&KeyPrefix::default(), &random);
    ApiKey::from_parts(ApiKeyParts {
        id: KeyId::generate(),
        customer_id: customer,
        name: KeyName::new("Front desk tablet").unwrap(),
        description: Some(Description::new("Überall — «quotes» 'n' stuff").unwrap()),
        display_prefix: secret.display_prefix(),
        hash: secret.hash(),
        scopes: ScopeSet::of(&[Scope::RequestsWrite, Scope::SongdbRead]).unwrap(),
        active: true,
        expires_at: Some(created_at + Duration::days(30)),
        last_used_at: None,
        created_at,
        updated_at: created_at,
        created_by: Some("user-42".to_owned()),
        retired: None,
        revoked_at: None,
        version: KeyVersion::FIRST,
    })
}

fn with(key: &ApiKey, change: impl FnOnce(&mut ApiKeyParts)) -> ApiKey {
    let mut parts = key.clone().into_parts();
    change(&mut parts);
    ApiKey::from_parts(parts)
}

async fn insert(repo: &dyn ApiKeyRepository, key: &ApiKey) {
    repo.insert(key, cap(GENEROUS)).await.unwrap();
}

/// The stored copy of `key`, which must exist.
async fn stored_copy(repo: &dyn ApiKeyRepository, key: &ApiKey) -> ApiKey {
    repo.get(key.customer_id(), key.id())
        .await
        .unwrap()
        .expect("the key is stored")
}

pub async fn inserted_key_reads_back_unchanged(repo: &dyn ApiKeyRepository) {
    let customer = CustomerId::generate();
    let key = sample_key(customer, NOW);
    insert(repo, &key).await;
    assert_eq!(
        repo.get(customer, key.id()).await.unwrap(),
        Some(key.clone())
    );

    let bare = with(&sample_key(customer, NOW), |p| {
        p.description = None;
        p.expires_at = None;
        p.created_by = None;
    });
    insert(repo, &bare).await;
    assert_eq!(repo.get(customer, bare.id()).await.unwrap(), Some(bare));
}

pub async fn key_of_another_customer_is_invisible_to_get(repo: &dyn ApiKeyRepository) {
    let key = sample_key(CustomerId::generate(), NOW);
    insert(repo, &key).await;
    assert_eq!(
        repo.get(CustomerId::generate(), key.id()).await.unwrap(),
        None
    );
    assert_eq!(
        repo.get(key.customer_id(), KeyId::generate())
            .await
            .unwrap(),
        None
    );
}

pub async fn find_by_id_finds_a_key_of_any_customer(repo: &dyn ApiKeyRepository) {
    let first = sample_key(CustomerId::generate(), NOW);
    let second = sample_key(CustomerId::generate(), NOW);
    insert(repo, &first).await;
    insert(repo, &second).await;

    assert_eq!(repo.find_by_id(second.id()).await.unwrap(), Some(second));
    assert_eq!(repo.find_by_id(first.id()).await.unwrap(), Some(first));
    assert_eq!(repo.find_by_id(KeyId::generate()).await.unwrap(), None);
}

pub async fn duplicate_hash_is_a_conflict(repo: &dyn ApiKeyRepository) {
    let key = sample_key(CustomerId::generate(), NOW);
    insert(repo, &key).await;
    let twin = with(&sample_key(key.customer_id(), NOW), |p| p.hash = key.hash());
    let err = repo.insert(&twin, cap(GENEROUS)).await.unwrap_err();
    assert!(
        matches!(err, KeyWriteError::Storage(StorageError::Conflict(_))),
        "expected a conflict, got {err:?}"
    );
}

pub async fn insert_beyond_cap_is_refused(repo: &dyn ApiKeyRepository) {
    let customer = CustomerId::generate();
    for _ in 0..2 {
        repo.insert(&sample_key(customer, NOW), cap(2))
            .await
            .unwrap();
    }
    let err = repo
        .insert(&sample_key(customer, NOW), cap(2))
        .await
        .unwrap_err();
    assert!(matches!(err, KeyWriteError::LimitReached), "got {err:?}");
    // Another customer is not affected by the first one's keys.
    repo.insert(&sample_key(CustomerId::generate(), NOW), cap(2))
        .await
        .unwrap();
}

pub async fn inactive_and_expired_keys_do_not_count_toward_cap(repo: &dyn ApiKeyRepository) {
    let customer = CustomerId::generate();
    let inactive = with(&sample_key(customer, NOW), |p| {
        p.active = false;
    });
    let expired = with(&sample_key(customer, NOW - Duration::days(2)), |p| {
        p.expires_at = Some(NOW - Duration::days(1));
    });
    let expiring_now = with(&sample_key(customer, NOW - Duration::days(2)), |p| {
        p.expires_at = Some(NOW);
    });
    for key in [&inactive, &expired, &expiring_now] {
        insert(repo, key).await;
    }
    repo.insert(&sample_key(customer, NOW), cap(1))
        .await
        .unwrap();
    // An inactive key may always be stored, even at the cap.
    let another_inactive = with(&sample_key(customer, NOW), |p| {
        p.active = false;
    });
    repo.insert(&another_inactive, cap(1)).await.unwrap();
}

pub async fn find_by_hash_matches_current_and_retired_secrets(repo: &dyn ApiKeyRepository) {
    let old = sample_key(CustomerId::generate(), NOW);
    let new_hash = sample_key(old.customer_id(), NOW).hash();
    let rotated = with(&old, |p| {
        p.retired = Some(RetiredSecret {
            hash: old.hash(),
            valid_until: NOW + Duration::hours(1),
        });
        p.hash = new_hash;
    });
    insert(repo, &rotated).await;
    assert_eq!(
        repo.find_by_hash(new_hash).await.unwrap(),
        Some(rotated.clone())
    );
    assert_eq!(repo.find_by_hash(old.hash()).await.unwrap(), Some(rotated));
    let stranger = sample_key(CustomerId::generate(), NOW).hash();
    assert_eq!(repo.find_by_hash(stranger).await.unwrap(), None);
}

pub async fn list_is_newest_first_with_paging_and_total(repo: &dyn ApiKeyRepository) {
    let customer = CustomerId::generate();
    let mut keys = Vec::new();
    for minutes in 0..5 {
        let key = sample_key(customer, NOW + Duration::minutes(minutes));
        insert(repo, &key).await;
        keys.push(key);
    }
    keys.reverse();

    let first = repo
        .list(
            customer,
            KeyFilter::default(),
            PageRequest::new(1, 2).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(first.total, 5);
    assert_eq!(first.total_pages(), 3);
    assert_eq!(first.items, keys[..2].to_vec());

    let last = repo
        .list(
            customer,
            KeyFilter::default(),
            PageRequest::new(3, 2).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(last.items, keys[4..].to_vec());

    let beyond = repo
        .list(
            customer,
            KeyFilter::default(),
            PageRequest::new(4, 2).unwrap(),
        )
        .await
        .unwrap();
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 5);
}

pub async fn list_filters_by_active_flag(repo: &dyn ApiKeyRepository) {
    let customer = CustomerId::generate();
    let active = sample_key(customer, NOW);
    let inactive = with(&sample_key(customer, NOW + Duration::seconds(1)), |p| {
        p.active = false;
    });
    insert(repo, &active).await;
    insert(repo, &inactive).await;
    let page = PageRequest::default();

    let only_active = repo
        .list(customer, KeyFilter { active: Some(true) }, page)
        .await
        .unwrap();
    assert_eq!(
        (only_active.items, only_active.total),
        (vec![active.clone()], 1)
    );

    let only_inactive = repo
        .list(
            customer,
            KeyFilter {
                active: Some(false),
            },
            page,
        )
        .await
        .unwrap();
    assert_eq!(
        (only_inactive.items, only_inactive.total),
        (vec![inactive.clone()], 1)
    );

    let all = repo
        .list(customer, KeyFilter::default(), page)
        .await
        .unwrap();
    assert_eq!(all.items, vec![inactive, active]);
}

pub async fn list_never_shows_another_customers_keys(repo: &dyn ApiKeyRepository) {
    let mine = sample_key(CustomerId::generate(), NOW);
    insert(repo, &mine).await;
    insert(repo, &sample_key(CustomerId::generate(), NOW)).await;
    let page = repo
        .list(
            mine.customer_id(),
            KeyFilter::default(),
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!((page.items, page.total), (vec![mine], 1));
}

pub async fn update_replaces_mutable_fields_only(repo: &dyn ApiKeyRepository) {
    let key = sample_key(CustomerId::generate(), NOW);
    insert(repo, &key).await;
    let used_at = NOW + Duration::minutes(5);
    repo.record_last_used(&[(key.id(), used_at)]).await.unwrap();

    let replacement = sample_key(key.customer_id(), NOW);
    let later = NOW + Duration::hours(1);
    let changed = with(&key, |p| {
        p.name = KeyName::new("Renamed").unwrap();
        p.description = None;
        p.display_prefix = replacement.display_prefix().clone();
        p.hash = replacement.hash();
        p.scopes = ScopeSet::of(&[Scope::VenuesRead]).unwrap();
        p.active = false;
        p.expires_at = None;
        p.updated_at = later;
        p.revoked_at = Some(later);
        p.retired = Some(RetiredSecret {
            hash: key.hash(),
            valid_until: later,
        });
        // Fields the contract says are kept as stored:
        p.created_at = later;
        p.created_by = Some("someone-else".to_owned());
        p.last_used_at = None;
    });
    repo.update(&changed, None).await.unwrap();

    let expected = with(&changed, |p| {
        p.created_at = NOW;
        p.created_by = Some("user-42".to_owned());
        p.last_used_at = Some(used_at);
        p.version = KeyVersion::FIRST.next();
    });
    assert_eq!(
        repo.get(key.customer_id(), key.id()).await.unwrap(),
        Some(expected)
    );
}

pub async fn update_of_missing_or_foreign_key_is_not_found(repo: &dyn ApiKeyRepository) {
    let key = sample_key(CustomerId::generate(), NOW);
    let err = repo.update(&key, None).await.unwrap_err();
    assert!(matches!(err, KeyWriteError::NotFound), "got {err:?}");

    insert(repo, &key).await;
    let foreign = with(&key, |p| {
        p.customer_id = CustomerId::generate();
        p.name = KeyName::new("Hijacked").unwrap();
    });
    let err = repo.update(&foreign, None).await.unwrap_err();
    assert!(matches!(err, KeyWriteError::NotFound), "got {err:?}");
    assert_eq!(
        repo.get(key.customer_id(), key.id()).await.unwrap(),
        Some(key)
    );
}

pub async fn update_with_cap_refuses_reactivation_beyond_limit(repo: &dyn ApiKeyRepository) {
    let customer = CustomerId::generate();
    insert(repo, &sample_key(customer, NOW)).await;
    let dormant = with(&sample_key(customer, NOW), |p| {
        p.active = false;
    });
    insert(repo, &dormant).await;

    let revived = with(&dormant, |p| p.active = true);
    let err = repo.update(&revived, Some(cap(1))).await.unwrap_err();
    assert!(matches!(err, KeyWriteError::LimitReached), "got {err:?}");
    assert_eq!(
        repo.get(customer, dormant.id()).await.unwrap(),
        Some(dormant)
    );

    repo.update(&revived, Some(cap(2))).await.unwrap();
    let stored = repo.get(customer, revived.id()).await.unwrap().unwrap();
    assert!(stored.is_active());
    // The refused write did not count as one.
    assert_eq!(stored.version(), KeyVersion::FIRST.next());
}

pub async fn delete_removes_only_the_customers_own_key(repo: &dyn ApiKeyRepository) {
    let key = sample_key(CustomerId::generate(), NOW);
    insert(repo, &key).await;
    assert!(!repo.delete(CustomerId::generate(), key.id()).await.unwrap());
    assert!(
        repo.get(key.customer_id(), key.id())
            .await
            .unwrap()
            .is_some()
    );
    assert!(repo.delete(key.customer_id(), key.id()).await.unwrap());
    assert_eq!(repo.get(key.customer_id(), key.id()).await.unwrap(), None);
    assert_eq!(repo.find_by_hash(key.hash()).await.unwrap(), None);
    assert!(!repo.delete(key.customer_id(), key.id()).await.unwrap());
}

pub async fn delete_expired_before_removes_only_keys_expired_before_cutoff(
    repo: &dyn ApiKeyRepository,
) {
    let customer = CustomerId::generate();
    let other_customer = CustomerId::generate();
    let cutoff = NOW - Duration::days(30);
    let expiring_at = |customer, expires_at| {
        with(&sample_key(customer, NOW - Duration::days(90)), |p| {
            p.expires_at = expires_at;
        })
    };
    let long_gone = expiring_at(customer, Some(cutoff - Duration::days(20)));
    let just_gone = expiring_at(customer, Some(cutoff - Duration::microseconds(1)));
    let theirs_gone = expiring_at(other_customer, Some(cutoff - Duration::seconds(1)));
    let at_cutoff = expiring_at(customer, Some(cutoff));
    let later = expiring_at(other_customer, Some(NOW));
    let never = expiring_at(customer, None);
    for key in [
        &long_gone,
        &just_gone,
        &theirs_gone,
        &at_cutoff,
        &later,
        &never,
    ] {
        insert(repo, key).await;
    }

    let mut deleted = repo.delete_expired_before(cutoff).await.unwrap();

    deleted.sort_unstable();
    let mut expected: Vec<(CustomerId, KeyId)> = [&long_gone, &just_gone, &theirs_gone]
        .into_iter()
        .map(|key| (key.customer_id(), key.id()))
        .collect();
    expected.sort_unstable();
    assert_eq!(deleted, expected, "each deleted key once, with its owner");
    for gone in [&long_gone, &just_gone, &theirs_gone] {
        assert_eq!(repo.find_by_id(gone.id()).await.unwrap(), None);
    }
    for kept in [&at_cutoff, &later, &never] {
        assert!(repo.find_by_id(kept.id()).await.unwrap().is_some());
    }
    assert_eq!(repo.delete_expired_before(cutoff).await.unwrap(), vec![]);
}

pub async fn last_used_moves_forward_only(repo: &dyn ApiKeyRepository) {
    let a = sample_key(CustomerId::generate(), NOW);
    let b = sample_key(a.customer_id(), NOW);
    insert(repo, &a).await;
    insert(repo, &b).await;
    let t1 = NOW + Duration::minutes(1);
    let t2 = NOW + Duration::minutes(2);

    // Neither had been used: each comes back with no previous use and its creation.
    let first = sorted_moves(
        repo.record_last_used(&[(a.id(), t2), (b.id(), t1)])
            .await
            .unwrap(),
    );
    assert_eq!(
        first,
        sorted_moves(vec![
            LastUseMoved {
                key: a.id(),
                at: t2,
                previous: None,
                created_at: NOW,
            },
            LastUseMoved {
                key: b.id(),
                at: t1,
                previous: None,
                created_at: NOW,
            },
        ])
    );
    // a does not move back to t1; b moves on from t1, which it returns.
    assert_eq!(
        repo.record_last_used(&[(a.id(), t1), (b.id(), t2)])
            .await
            .unwrap(),
        vec![LastUseMoved {
            key: b.id(),
            at: t2,
            previous: Some(t1),
            created_at: NOW,
        }]
    );

    let last_used = |key: &ApiKey| {
        let id = key.id();
        let customer = key.customer_id();
        async move {
            repo.get(customer, id)
                .await
                .unwrap()
                .unwrap()
                .last_used_at()
        }
    };
    assert_eq!(last_used(&a).await, Some(t2));
    assert_eq!(last_used(&b).await, Some(t2));
}

/// A key named twice in one batch moves once, to the later time, and comes back once with
/// the use before the batch; times are returned as stored (microseconds).
pub async fn last_used_batch_takes_each_keys_latest_time_and_returns_its_previous_use(
    repo: &dyn ApiKeyRepository,
) {
    let key = sample_key(CustomerId::generate(), NOW);
    insert(repo, &key).await;
    let earlier = NOW + Duration::days(1);
    repo.record_last_used(&[(key.id(), earlier)]).await.unwrap();
    let later = NOW + Duration::days(40) + Duration::nanoseconds(1_234_567);
    let moved = repo
        .record_last_used(&[
            (key.id(), NOW + Duration::days(2)),
            (key.id(), later),
            (key.id(), NOW + Duration::days(3)),
        ])
        .await
        .unwrap();
    assert_eq!(
        moved,
        vec![LastUseMoved {
            key: key.id(),
            at: NOW + Duration::days(40) + Duration::microseconds(1_234),
            previous: Some(earlier),
            created_at: NOW,
        }]
    );
    assert_eq!(moved[0].idle_since(), earlier);
}

/// Flushes racing on one never-used key (instances, or a flush overlapping the shutdown
/// flush): exactly one of them is told the key had never been used, so one
/// `dormant_key_used` judgement is made on the old value, not several.
pub async fn concurrent_last_used_writes_see_a_keys_old_value_once(repo: &dyn ApiKeyRepository) {
    const FLUSHES: i64 = 8;
    let key = sample_key(CustomerId::generate(), NOW);
    insert(repo, &key).await;
    let results = futures::future::join_all((1..=FLUSHES).map(|minute| {
        let uses = [(key.id(), NOW + Duration::minutes(minute))];
        async move { repo.record_last_used(&uses).await.unwrap() }
    }))
    .await;

    let moved: Vec<LastUseMoved> = results.into_iter().flatten().collect();
    let never_used = moved.iter().filter(|use_| use_.previous.is_none()).count();
    assert_eq!(never_used, 1, "{moved:?}");
    // Each move starts from a time another one set, or from nothing.
    for use_ in &moved {
        if let Some(previous) = use_.previous {
            assert!(previous < use_.at, "{use_:?}");
            assert!(
                moved.iter().any(|other| other.at == previous),
                "{use_:?} moved from a time no write set: {moved:?}"
            );
        }
    }
    assert_eq!(
        stored_copy(repo, &key).await.last_used_at(),
        Some(NOW + Duration::minutes(FLUSHES))
    );
}

/// A batch larger than the SQL stores' statements take at once (SQLite's 500 pairs),
/// one key named twice: every key moves once, to its latest time.
pub async fn a_last_used_batch_of_over_a_thousand_keys_moves_each_once(
    repo: &dyn ApiKeyRepository,
) {
    const KEYS: usize = 1_001;
    let mut keys = Vec::with_capacity(KEYS);
    for _ in 0..KEYS {
        // A customer each: one customer's active keys are capped.
        let key = sample_key(CustomerId::generate(), NOW);
        insert(repo, &key).await;
        keys.push(key.id());
    }
    let mut uses: Vec<(KeyId, OffsetDateTime)> = keys
        .iter()
        .map(|id| (*id, NOW + Duration::minutes(1)))
        .collect();
    // The last key again, later, in the first chunk.
    uses.insert(0, (keys[KEYS - 1], NOW + Duration::minutes(2)));

    let moved = repo.record_last_used(&uses).await.unwrap();

    assert_eq!(moved.len(), KEYS);
    let mut ids: Vec<KeyId> = moved.iter().map(|use_| use_.key).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), KEYS, "each key once");
    for use_ in &moved {
        let expected = if use_.key == keys[KEYS - 1] { 2 } else { 1 };
        assert_eq!(use_.at, NOW + Duration::minutes(expected), "{use_:?}");
        assert_eq!(use_.previous, None);
    }
    assert!(
        repo.record_last_used(&uses).await.unwrap().is_empty(),
        "nothing moves again"
    );
}

fn sorted_moves(mut moved: Vec<LastUseMoved>) -> Vec<LastUseMoved> {
    moved.sort_by_key(|use_| use_.key);
    moved
}

pub async fn last_used_batch_ignores_unknown_ids_and_empty_batches(repo: &dyn ApiKeyRepository) {
    let key = sample_key(CustomerId::generate(), NOW);
    insert(repo, &key).await;
    assert_eq!(repo.record_last_used(&[]).await.unwrap(), vec![]);
    let t = NOW + Duration::minutes(3);
    let moved = repo
        .record_last_used(&[(KeyId::generate(), t), (key.id(), t)])
        .await
        .unwrap();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0].key, key.id());
    assert_eq!(
        repo.get(key.customer_id(), key.id())
            .await
            .unwrap()
            .unwrap()
            .last_used_at(),
        Some(t)
    );
}

pub async fn insert_stores_the_first_version(repo: &dyn ApiKeyRepository) {
    let key = sample_key(CustomerId::generate(), NOW);
    assert_eq!(key.version(), KeyVersion::FIRST);
    insert(repo, &key).await;
    let stored = stored_copy(repo, &key).await;
    assert_eq!(stored.version(), KeyVersion::FIRST);
    let found = repo.find_by_hash(key.hash()).await.unwrap().unwrap();
    assert_eq!(found.version(), KeyVersion::FIRST);
}

pub async fn update_bumps_the_version_by_one(repo: &dyn ApiKeyRepository) {
    let key = sample_key(CustomerId::generate(), NOW);
    insert(repo, &key).await;

    let renamed = with(&key, |p| p.name = KeyName::new("Renamed").unwrap());
    repo.update(&renamed, None).await.unwrap();
    let first_write = stored_copy(repo, &key).await;
    assert_eq!(first_write.version(), KeyVersion::new(2).unwrap());
    assert_eq!(first_write.name().as_str(), "Renamed");

    // The next write names the version it read; an unchanged copy is a write too.
    repo.update(&first_write, None).await.unwrap();
    let second_write = stored_copy(repo, &key).await;
    assert_eq!(second_write.version(), KeyVersion::new(3).unwrap());
    let listed = repo
        .list(
            key.customer_id(),
            KeyFilter::default(),
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(listed.items, vec![second_write]);
}

pub async fn update_with_a_stale_version_is_refused_and_changes_nothing(
    repo: &dyn ApiKeyRepository,
) {
    let key = sample_key(CustomerId::generate(), NOW);
    insert(repo, &key).await;
    // Two writers read version 1; the first one stores its change.
    let first = with(&key, |p| p.name = KeyName::new("First writer").unwrap());
    let second = with(&key, |p| {
        p.name = KeyName::new("Second writer").unwrap();
        p.active = false;
        p.revoked_at = Some(NOW);
    });
    repo.update(&first, None).await.unwrap();
    let after_first = stored_copy(repo, &key).await;

    let err = repo.update(&second, None).await.unwrap_err();
    assert!(matches!(err, KeyWriteError::Stale), "got {err:?}");
    let err = repo.update(&second, Some(cap(GENEROUS))).await.unwrap_err();
    assert!(matches!(err, KeyWriteError::Stale), "got {err:?}");
    // A version from the future is just as stale.
    let ahead = with(&second, |p| p.version = KeyVersion::new(7).unwrap());
    let err = repo.update(&ahead, None).await.unwrap_err();
    assert!(matches!(err, KeyWriteError::Stale), "got {err:?}");

    assert_eq!(
        repo.get(key.customer_id(), key.id()).await.unwrap(),
        Some(after_first.clone())
    );
    assert_eq!(after_first.name().as_str(), "First writer");
    assert_eq!(after_first.version(), KeyVersion::FIRST.next());

    // A missing key is still `NotFound`, whatever version the write names.
    let missing = with(&sample_key(key.customer_id(), NOW), |p| {
        p.version = KeyVersion::new(2).unwrap();
    });
    let err = repo.update(&missing, None).await.unwrap_err();
    assert!(matches!(err, KeyWriteError::NotFound), "got {err:?}");
}

pub async fn last_used_leaves_the_version_alone(repo: &dyn ApiKeyRepository) {
    let key = sample_key(CustomerId::generate(), NOW);
    insert(repo, &key).await;
    assert_eq!(
        repo.record_last_used(&[(key.id(), NOW + Duration::minutes(1))])
            .await
            .unwrap()
            .len(),
        1
    );
    let stored = stored_copy(repo, &key).await;
    assert_eq!(stored.version(), KeyVersion::FIRST);
    // A change read before the use was recorded is not stale because of it.
    let renamed = with(&key, |p| p.name = KeyName::new("Renamed").unwrap());
    repo.update(&renamed, None).await.unwrap();
    let stored = stored_copy(repo, &key).await;
    assert_eq!(stored.version(), KeyVersion::FIRST.next());
    assert_eq!(stored.last_used_at(), Some(NOW + Duration::minutes(1)));
}
