//! Contract scenarios for [`CredentialRepository`].
//!
//! Storage never sees plaintext, so these scenarios use made-up sealed bytes: what they
//! check is that every adapter keeps, finds, orders and swaps them identically.

use time::Duration;

use super::NOW;
use crate::ids::{CredentialId, CustomerId};
use crate::ports::{
    CredentialFilter, CredentialRepository, PageRequest, SecretWrite, StorageError,
};
use crate::vault::{
    CredentialDescription, CredentialName, CredentialOwner, CredentialParts, KeyVersion,
    MaskedSecret, NONCE_LEN, Provider, SealedSecret, ServiceCredential,
};

/// Stamps out every scenario below for an adapter; see the module docs of `testing`.
#[macro_export]
macro_rules! credential_repository_contract {
    ($setup:path) => {
        $crate::__stamp_contract!($setup, credentials;
            inserted_credential_reads_back_unchanged,
            credential_of_another_owner_is_invisible_to_get,
            customer_holds_at_most_one_credential_per_provider,
            platform_may_hold_several_credentials_per_provider,
            duplicate_id_is_a_conflict,
            customer_credential_is_found_by_provider_for_that_customer_only,
            find_active_picks_the_most_recently_updated_active_credential,
            find_active_ignores_disabled_and_foreign_credentials,
            list_orders_by_provider_then_most_recently_updated_with_paging,
            list_filters_by_provider_and_active_flag,
            list_never_shows_another_owners_credentials,
            update_keeping_the_secret_changes_metadata_only,
            update_replacing_the_secret_stores_the_new_sealed_secret,
            update_of_missing_or_foreign_credential_changes_nothing,
            delete_removes_only_the_owners_credential,
            last_used_moves_forward_only,
            rotation_listing_walks_other_key_versions_in_id_order,
            rotation_count_covers_every_owner,
            replace_sealed_swaps_only_the_expected_secret,
        );
    };
}

/// The key version most scenarios seal under.
pub const OLD_VERSION: KeyVersion = KeyVersion::new(0x0000_0001);
/// The version a rotation moves to.
pub const NEW_VERSION: KeyVersion = KeyVersion::new(0xfeed_beef);

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    for chunk in bytes.chunks_mut(16) {
        let fresh = uuid::Uuid::new_v4();
        chunk.copy_from_slice(&fresh.as_bytes()[..chunk.len()]);
    }
    bytes
}

/// Made-up sealed bytes under `version`, unique per call.
pub fn sample_sealed(version: KeyVersion) -> SealedSecret {
    let nonce: [u8; NONCE_LEN] = random_bytes();
    let ciphertext: [u8; 40] = random_bytes();
    SealedSecret::new(version, nonce, ciphertext.to_vec())
}

/// A credential of `owner` for `provider`, created and updated at `at`.
pub fn sample_credential(
    owner: CredentialOwner,
    provider: &str,
    at: time::OffsetDateTime,
) -> ServiceCredential {
    ServiceCredential::from_parts(CredentialParts {
        id: CredentialId::generate(),
        owner,
        provider: Provider::new(provider).unwrap(),
        name: CredentialName::new("Production — «main» account").unwrap(),
        description: Some(CredentialDescription::new("Used by the recommendations job").unwrap()),
        masked_secret: MaskedSecret::from_stored("sk-…abcd".to_owned()),
        sealed: sample_sealed(OLD_VERSION),
        active: true,
        last_used_at: None,
        created_at: at,
        updated_at: at,
    })
}

fn customer() -> CredentialOwner {
    CredentialOwner::Customer(CustomerId::generate())
}

fn with(
    credential: &ServiceCredential,
    change: impl FnOnce(&mut CredentialParts),
) -> ServiceCredential {
    let mut parts = credential.clone().into_parts();
    change(&mut parts);
    ServiceCredential::from_parts(parts)
}

async fn insert(repo: &dyn CredentialRepository, credential: &ServiceCredential) {
    repo.insert(credential).await.unwrap();
}

async fn stored(
    repo: &dyn CredentialRepository,
    credential: &ServiceCredential,
) -> Option<ServiceCredential> {
    repo.get(credential.owner(), credential.id()).await.unwrap()
}

pub async fn inserted_credential_reads_back_unchanged(repo: &dyn CredentialRepository) {
    let platform = sample_credential(CredentialOwner::Platform, "openai", NOW);
    let byok = with(&sample_credential(customer(), "spotify", NOW), |p| {
        p.description = None;
        p.active = false;
    });
    insert(repo, &platform).await;
    insert(repo, &byok).await;

    assert_eq!(stored(repo, &platform).await, Some(platform));
    assert_eq!(stored(repo, &byok).await, Some(byok));
}

pub async fn credential_of_another_owner_is_invisible_to_get(repo: &dyn CredentialRepository) {
    let mine = sample_credential(customer(), "openai", NOW);
    let platform = sample_credential(CredentialOwner::Platform, "openai", NOW);
    insert(repo, &mine).await;
    insert(repo, &platform).await;

    assert_eq!(repo.get(customer(), mine.id()).await.unwrap(), None);
    assert_eq!(
        repo.get(CredentialOwner::Platform, mine.id())
            .await
            .unwrap(),
        None
    );
    assert_eq!(repo.get(mine.owner(), platform.id()).await.unwrap(), None);
    assert_eq!(
        repo.get(mine.owner(), CredentialId::generate())
            .await
            .unwrap(),
        None
    );
}

pub async fn customer_holds_at_most_one_credential_per_provider(repo: &dyn CredentialRepository) {
    let first = sample_credential(customer(), "openai", NOW);
    insert(repo, &first).await;

    let second = sample_credential(first.owner(), "openai", NOW);
    let err = repo.insert(&second).await.unwrap_err();

    assert!(
        matches!(err, StorageError::Conflict("provider")),
        "got {err:?}"
    );
    assert_eq!(stored(repo, &second).await, None);
    // Another provider, or another customer, is fine.
    insert(repo, &sample_credential(first.owner(), "anthropic", NOW)).await;
    insert(repo, &sample_credential(customer(), "openai", NOW)).await;
}

pub async fn platform_may_hold_several_credentials_per_provider(repo: &dyn CredentialRepository) {
    let first = sample_credential(CredentialOwner::Platform, "openai", NOW);
    let second = sample_credential(CredentialOwner::Platform, "openai", NOW);

    insert(repo, &first).await;
    insert(repo, &second).await;

    assert_eq!(stored(repo, &second).await, Some(second));
}

pub async fn duplicate_id_is_a_conflict(repo: &dyn CredentialRepository) {
    let original = sample_credential(CredentialOwner::Platform, "openai", NOW);
    insert(repo, &original).await;
    let twin = with(
        &sample_credential(CredentialOwner::Platform, "spotify", NOW),
        |p| {
            p.id = original.id();
        },
    );

    let err = repo.insert(&twin).await.unwrap_err();

    assert!(matches!(err, StorageError::Conflict("id")), "got {err:?}");
    assert_eq!(stored(repo, &original).await, Some(original));
}

pub async fn customer_credential_is_found_by_provider_for_that_customer_only(
    repo: &dyn CredentialRepository,
) {
    let mine = with(&sample_credential(customer(), "openai", NOW), |p| {
        p.active = false;
    });
    insert(repo, &mine).await;
    insert(
        repo,
        &sample_credential(CredentialOwner::Platform, "anthropic", NOW),
    )
    .await;
    let CredentialOwner::Customer(me) = mine.owner() else {
        unreachable!("sample owner is a customer")
    };
    let openai = Provider::new("openai").unwrap();

    assert_eq!(
        repo.get_customer_credential(me, &openai).await.unwrap(),
        Some(mine)
    );
    assert_eq!(
        repo.get_customer_credential(CustomerId::generate(), &openai)
            .await
            .unwrap(),
        None
    );
    let anthropic = Provider::new("anthropic").unwrap();
    assert_eq!(
        repo.get_customer_credential(me, &anthropic).await.unwrap(),
        None
    );
}

pub async fn find_active_picks_the_most_recently_updated_active_credential(
    repo: &dyn CredentialRepository,
) {
    let platform = CredentialOwner::Platform;
    let older = with(&sample_credential(platform, "openai", NOW), |p| {
        p.updated_at = NOW + Duration::minutes(1);
    });
    let newer = with(&sample_credential(platform, "openai", NOW), |p| {
        p.updated_at = NOW + Duration::minutes(5);
    });
    let newest_but_disabled = with(&sample_credential(platform, "openai", NOW), |p| {
        p.updated_at = NOW + Duration::minutes(9);
        p.active = false;
    });
    let other_provider = with(&sample_credential(platform, "openaix", NOW), |p| {
        p.updated_at = NOW + Duration::minutes(9);
    });
    for credential in [&older, &newer, &newest_but_disabled, &other_provider] {
        insert(repo, credential).await;
    }
    let openai = Provider::new("openai").unwrap();

    assert_eq!(
        repo.find_active(platform, &openai).await.unwrap(),
        Some(newer.clone())
    );

    // On equal update times, the greater id wins.
    let tie = with(&sample_credential(platform, "openai", NOW), |p| {
        p.updated_at = newer.updated_at();
    });
    insert(repo, &tie).await;
    let expected = if tie.id() > newer.id() { tie } else { newer };
    assert_eq!(
        repo.find_active(platform, &openai).await.unwrap(),
        Some(expected)
    );
}

pub async fn find_active_ignores_disabled_and_foreign_credentials(repo: &dyn CredentialRepository) {
    let disabled = with(&sample_credential(customer(), "openai", NOW), |p| {
        p.active = false;
    });
    let someone_elses = sample_credential(customer(), "openai", NOW);
    insert(repo, &disabled).await;
    insert(repo, &someone_elses).await;
    let openai = Provider::new("openai").unwrap();

    assert_eq!(
        repo.find_active(disabled.owner(), &openai).await.unwrap(),
        None
    );
    assert_eq!(
        repo.find_active(CredentialOwner::Platform, &openai)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        repo.find_active(someone_elses.owner(), &openai)
            .await
            .unwrap(),
        Some(someone_elses)
    );
}

pub async fn list_orders_by_provider_then_most_recently_updated_with_paging(
    repo: &dyn CredentialRepository,
) {
    let owner = customer();
    let at = |minutes| NOW + Duration::minutes(minutes);
    // A customer has one per provider; the platform ordering within a provider is
    // covered by `find_active`, and by the platform listing below.
    let anthropic = with(&sample_credential(owner, "anthropic", NOW), |p| {
        p.updated_at = at(1);
    });
    let openai = with(&sample_credential(owner, "openai", NOW), |p| {
        p.updated_at = at(9);
    });
    let spotify = with(&sample_credential(owner, "spotify", NOW), |p| {
        p.updated_at = at(5);
    });
    for credential in [&spotify, &openai, &anthropic] {
        insert(repo, credential).await;
    }
    let list = |page, limit| async move {
        let filter = CredentialFilter::default();
        repo.list(owner, &filter, PageRequest::new(page, limit).unwrap())
            .await
            .unwrap()
    };

    let first = list(1, 2).await;
    assert_eq!((first.items, first.total), (vec![anthropic, openai], 3));
    let second = list(2, 2).await;
    assert_eq!((second.items, second.total), (vec![spotify], 3));
    assert!(list(3, 2).await.items.is_empty());

    let platform = CredentialOwner::Platform;
    let stale = with(&sample_credential(platform, "openai", NOW), |p| {
        p.updated_at = at(1);
    });
    let fresh = with(&sample_credential(platform, "openai", NOW), |p| {
        p.updated_at = at(2);
    });
    let early = with(&sample_credential(platform, "anthropic", NOW), |p| {
        p.updated_at = at(0);
    });
    for credential in [&stale, &fresh, &early] {
        insert(repo, credential).await;
    }
    let all = repo
        .list(
            platform,
            &CredentialFilter::default(),
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(all.items, vec![early, fresh, stale]);
}

pub async fn list_filters_by_provider_and_active_flag(repo: &dyn CredentialRepository) {
    let platform = CredentialOwner::Platform;
    let live = sample_credential(platform, "openai", NOW);
    let retired = with(&sample_credential(platform, "openai", NOW), |p| {
        p.active = false;
    });
    let music = sample_credential(platform, "spotify", NOW);
    for credential in [&live, &retired, &music] {
        insert(repo, credential).await;
    }
    let page = PageRequest::default();
    let openai = Some(Provider::new("openai").unwrap());

    let by_provider = CredentialFilter {
        provider: openai.clone(),
        active: None,
    };
    let listed = repo.list(platform, &by_provider, page).await.unwrap();
    assert_eq!(listed.total, 2);
    assert!(
        listed
            .items
            .iter()
            .all(|c| c.provider().as_str() == "openai")
    );

    let live_openai = CredentialFilter {
        provider: openai,
        active: Some(true),
    };
    let listed = repo.list(platform, &live_openai, page).await.unwrap();
    assert_eq!((listed.items, listed.total), (vec![live], 1));

    let disabled = CredentialFilter {
        provider: None,
        active: Some(false),
    };
    let listed = repo.list(platform, &disabled, page).await.unwrap();
    assert_eq!((listed.items, listed.total), (vec![retired], 1));
}

pub async fn list_never_shows_another_owners_credentials(repo: &dyn CredentialRepository) {
    let mine = sample_credential(customer(), "openai", NOW);
    let theirs = sample_credential(customer(), "openai", NOW);
    let platform = sample_credential(CredentialOwner::Platform, "openai", NOW);
    for credential in [&mine, &theirs, &platform] {
        insert(repo, credential).await;
    }
    let filter = CredentialFilter::default();
    let page = PageRequest::default();

    let listed = repo.list(mine.owner(), &filter, page).await.unwrap();
    assert_eq!((listed.items, listed.total), (vec![mine], 1));
    let listed = repo
        .list(CredentialOwner::Platform, &filter, page)
        .await
        .unwrap();
    assert!(
        listed
            .items
            .iter()
            .all(|c| c.owner() == CredentialOwner::Platform)
    );
    assert!(listed.items.contains(&platform));
}

pub async fn update_keeping_the_secret_changes_metadata_only(repo: &dyn CredentialRepository) {
    let original = sample_credential(CredentialOwner::Platform, "openai", NOW);
    insert(repo, &original).await;
    let used_at = NOW + Duration::minutes(3);
    repo.record_last_used(original.id(), used_at).await.unwrap();
    let later = NOW + Duration::hours(1);
    let changed = with(&original, |p| {
        p.name = CredentialName::new("Renamed").unwrap();
        p.description = None;
        p.active = false;
        p.updated_at = later;
        // Not written with `SecretWrite::Keep`:
        p.sealed = sample_sealed(NEW_VERSION);
        p.masked_secret = MaskedSecret::from_stored("…zzzz".to_owned());
        // Never written by an update:
        p.provider = Provider::new("anthropic").unwrap();
        p.created_at = later;
        p.last_used_at = None;
    });

    assert!(repo.update(&changed, SecretWrite::Keep).await.unwrap());

    let expected = with(&original, |p| {
        p.name = CredentialName::new("Renamed").unwrap();
        p.description = None;
        p.active = false;
        p.updated_at = later;
        p.last_used_at = Some(used_at);
    });
    assert_eq!(stored(repo, &original).await, Some(expected));
}

pub async fn update_replacing_the_secret_stores_the_new_sealed_secret(
    repo: &dyn CredentialRepository,
) {
    let original = sample_credential(customer(), "openai", NOW);
    insert(repo, &original).await;
    let later = NOW + Duration::hours(1);
    let changed = with(&original, |p| {
        p.sealed = sample_sealed(NEW_VERSION);
        p.masked_secret = MaskedSecret::from_stored("sk-…wxyz".to_owned());
        p.updated_at = later;
    });

    assert!(repo.update(&changed, SecretWrite::Replace).await.unwrap());

    assert_eq!(stored(repo, &original).await, Some(changed));
}

pub async fn update_of_missing_or_foreign_credential_changes_nothing(
    repo: &dyn CredentialRepository,
) {
    let missing = sample_credential(CredentialOwner::Platform, "openai", NOW);
    assert!(!repo.update(&missing, SecretWrite::Replace).await.unwrap());

    let mine = sample_credential(customer(), "openai", NOW);
    insert(repo, &mine).await;
    let hijacked = with(&mine, |p| {
        p.owner = CredentialOwner::Platform;
        p.name = CredentialName::new("Hijacked").unwrap();
        p.sealed = sample_sealed(OLD_VERSION);
    });
    assert!(!repo.update(&hijacked, SecretWrite::Replace).await.unwrap());
    assert_eq!(stored(repo, &mine).await, Some(mine));
}

pub async fn delete_removes_only_the_owners_credential(repo: &dyn CredentialRepository) {
    let mine = sample_credential(customer(), "openai", NOW);
    insert(repo, &mine).await;

    assert!(!repo.delete(customer(), mine.id()).await.unwrap());
    assert!(
        !repo
            .delete(CredentialOwner::Platform, mine.id())
            .await
            .unwrap()
    );
    assert!(stored(repo, &mine).await.is_some());

    assert!(repo.delete(mine.owner(), mine.id()).await.unwrap());
    assert_eq!(stored(repo, &mine).await, None);
    assert!(!repo.delete(mine.owner(), mine.id()).await.unwrap());
    // The provider is free again for that customer.
    insert(repo, &sample_credential(mine.owner(), "openai", NOW)).await;
}

pub async fn last_used_moves_forward_only(repo: &dyn CredentialRepository) {
    let credential = sample_credential(CredentialOwner::Platform, "openai", NOW);
    insert(repo, &credential).await;
    let (earlier, later) = (NOW + Duration::minutes(1), NOW + Duration::minutes(2));

    assert!(repo.record_last_used(credential.id(), later).await.unwrap());
    assert!(
        !repo
            .record_last_used(credential.id(), earlier)
            .await
            .unwrap()
    );
    assert!(
        !repo
            .record_last_used(CredentialId::generate(), later)
            .await
            .unwrap()
    );

    let last_used = stored(repo, &credential).await.unwrap().last_used_at();
    assert_eq!(last_used, Some(later));
}

pub async fn rotation_listing_walks_other_key_versions_in_id_order(
    repo: &dyn CredentialRepository,
) {
    let mut old: Vec<ServiceCredential> = Vec::new();
    for (index, owner) in [CredentialOwner::Platform, customer(), customer()]
        .into_iter()
        .enumerate()
    {
        let provider = ["openai", "spotify", "anthropic"][index];
        let credential = sample_credential(owner, provider, NOW);
        insert(repo, &credential).await;
        old.push(credential);
    }
    let done = with(&sample_credential(customer(), "openai", NOW), |p| {
        p.sealed = sample_sealed(NEW_VERSION);
    });
    insert(repo, &done).await;
    old.sort_by_key(ServiceCredential::id);
    // Other scenarios may share the store; keep only this scenario's records.
    let ours = |batch: Vec<ServiceCredential>| -> Vec<ServiceCredential> {
        batch
            .into_iter()
            .filter(|c| old.contains(c) || c == &done)
            .collect()
    };

    let everything = repo
        .list_sealed_under_other_versions(NEW_VERSION, None, 1000)
        .await
        .unwrap();
    assert!(everything.windows(2).all(|w| w[0].id() < w[1].id()));
    assert_eq!(ours(everything), old);

    let first = repo
        .list_sealed_under_other_versions(NEW_VERSION, None, 1)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    let after_first = repo
        .list_sealed_under_other_versions(NEW_VERSION, Some(old[0].id()), 1000)
        .await
        .unwrap();
    assert!(after_first.iter().all(|c| c.id() > old[0].id()));
    assert_eq!(ours(after_first), old[1..].to_vec());
}

pub async fn rotation_count_covers_every_owner(repo: &dyn CredentialRepository) {
    let target = KeyVersion::new(u32::from_be_bytes(random_bytes()));
    let before = repo
        .count_sealed_under_other_versions(target)
        .await
        .unwrap();
    insert(
        repo,
        &sample_credential(CredentialOwner::Platform, "openai", NOW),
    )
    .await;
    insert(repo, &sample_credential(customer(), "openai", NOW)).await;
    let done = with(&sample_credential(customer(), "openai", NOW), |p| {
        p.sealed = sample_sealed(target);
    });
    insert(repo, &done).await;

    let after = repo
        .count_sealed_under_other_versions(target)
        .await
        .unwrap();

    assert_eq!(after - before, 2);
}

pub async fn replace_sealed_swaps_only_the_expected_secret(repo: &dyn CredentialRepository) {
    let original = sample_credential(customer(), "openai", NOW);
    insert(repo, &original).await;
    let replacement = sample_sealed(NEW_VERSION);

    let stale = sample_sealed(OLD_VERSION);
    assert!(
        !repo
            .replace_sealed(original.id(), &stale, &replacement)
            .await
            .unwrap()
    );
    let other_version = SealedSecret::new(
        NEW_VERSION,
        *original.sealed().nonce(),
        original.sealed().ciphertext().to_vec(),
    );
    assert!(
        !repo
            .replace_sealed(original.id(), &other_version, &replacement)
            .await
            .unwrap()
    );
    assert!(
        !repo
            .replace_sealed(CredentialId::generate(), original.sealed(), &replacement)
            .await
            .unwrap()
    );
    assert_eq!(stored(repo, &original).await, Some(original.clone()));

    assert!(
        repo.replace_sealed(original.id(), original.sealed(), &replacement)
            .await
            .unwrap()
    );

    let expected = with(&original, |p| p.sealed = replacement.clone());
    assert_eq!(stored(repo, &original).await, Some(expected));
    // The old sealed secret is no longer what is stored, so a second swap fails.
    assert!(
        !repo
            .replace_sealed(original.id(), original.sealed(), &replacement)
            .await
            .unwrap()
    );
}
