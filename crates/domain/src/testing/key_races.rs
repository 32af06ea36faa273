//! Races between `ApiKeyService` changes to one key (SPEC §6: concurrent rotate, revoke
//! and patch behave as if run one after another), over a real repository.
//!
//! Each scenario lines its tasks up on a [`Barrier`] and runs them on the test's
//! multi-thread runtime. The repository is wrapped in [`Interleaving`], which yields to the
//! scheduler after every read and before every write: the service's read → change → write
//! then overlaps with the other tasks' even on a store whose calls never wait (the memory
//! adapter), so a lost update would show up there too, not only on the databases.
//!
//! ```ignore
//! async fn setup() -> Option<(std::sync::Arc<dyn ApiKeyRepository>, impl Sized)> { … }
//! keyward_domain::api_key_write_races!(setup);
//! ```

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::Barrier;
use tokio::task::JoinHandle;

use super::NOW;
use crate::audit::RequestContext;
use crate::ids::{CustomerId, KeyId};
use crate::keys::{ApiKey, KeyHash, KeyName, KeyVersion, PlainKey};
use crate::ports::{
    ActiveKeyCap, ApiKeyRepository, Clock, KeyFilter, KeyWriteError, LastUseMoved,
    OsSecretGenerator, Page, PageRequest, StorageError, UsageRecorder,
};
use crate::scope::{Scope, ScopeSet};
use crate::services::{
    ApiKeyError, ApiKeyService, GracePeriod, IssuedKey, KeyChanges, KeyPolicy, NewKey, VerifyError,
};
use crate::testing::recorded_audit::RecordedAudit;

/// Stamps out every race below as a multi-thread `#[tokio::test]` for an adapter; `setup`
/// is the same as for [`crate::api_key_repository_contract!`].
#[macro_export]
macro_rules! api_key_write_races {
    ($setup:path) => {
        $crate::__stamp_key_races!($setup;
            concurrent_rotations_leave_only_the_newest_two_secrets_valid,
            revoke_racing_rotate_leaves_the_key_revoked,
            revoke_racing_reactivation_leaves_the_key_revoked,
            rename_racing_rotate_keeps_both_changes,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __stamp_key_races {
    ($setup:path; $($scenario:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $scenario() {
                let Some((store, _guard)) = $setup().await else {
                    return;
                };
                $crate::testing::key_races::$scenario(store).await;
            }
        )*
    };
}

/// How many times each race is run, each time on a fresh key.
const ROUNDS: usize = 5;
/// Concurrent rotations of one key; at most `MAX_WRITE_ATTEMPTS`, so every one of them
/// must succeed.
const ROTATIONS: usize = 8;
const GRACE_SECONDS: i64 = 300;

/// A clock that always says [`NOW`]: grace periods neither start late nor run out.
struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        NOW
    }
}

/// Verification's usage notes are of no interest here.
struct NoUsage;

impl UsageRecorder for NoUsage {
    fn record(
        &self,
        _key: KeyId,
        _at: OffsetDateTime,
        _outcome: crate::usage::UseOutcome,
        _client: Option<crate::usage::ClientAddress>,
    ) {
    }
}

/// A repository that yields to the scheduler after each read and before each write, so
/// that concurrent services interleave between reading a key and writing it back.
struct Interleaving(Arc<dyn ApiKeyRepository>);

#[async_trait]
impl ApiKeyRepository for Interleaving {
    async fn insert(&self, key: &ApiKey, cap: ActiveKeyCap) -> Result<(), KeyWriteError> {
        self.0.insert(key, cap).await
    }

    async fn get(&self, customer: CustomerId, id: KeyId) -> Result<Option<ApiKey>, StorageError> {
        let read = self.0.get(customer, id).await;
        tokio::task::yield_now().await;
        read
    }

    async fn find_by_id(&self, id: KeyId) -> Result<Option<ApiKey>, StorageError> {
        self.0.find_by_id(id).await
    }

    async fn find_by_hash(&self, hash: KeyHash) -> Result<Option<ApiKey>, StorageError> {
        self.0.find_by_hash(hash).await
    }

    async fn list(
        &self,
        customer: CustomerId,
        filter: KeyFilter,
        page: PageRequest,
    ) -> Result<Page<ApiKey>, StorageError> {
        self.0.list(customer, filter, page).await
    }

    async fn update(&self, key: &ApiKey, cap: Option<ActiveKeyCap>) -> Result<(), KeyWriteError> {
        tokio::task::yield_now().await;
        self.0.update(key, cap).await
    }

    async fn delete(&self, customer: CustomerId, id: KeyId) -> Result<bool, StorageError> {
        self.0.delete(customer, id).await
    }

    async fn delete_expired_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<Vec<(CustomerId, KeyId)>, StorageError> {
        self.0.delete_expired_before(cutoff).await
    }

    async fn record_last_used(
        &self,
        uses: &[(KeyId, OffsetDateTime)],
    ) -> Result<Vec<LastUseMoved>, StorageError> {
        self.0.record_last_used(uses).await
    }
}

fn service(repo: &Arc<dyn ApiKeyRepository>) -> ApiKeyService {
    ApiKeyService::new(
        Arc::new(Interleaving(Arc::clone(repo))),
        Arc::new(FixedClock),
        Arc::new(OsSecretGenerator::default()),
        Arc::new(NoUsage),
        RecordedAudit::trail().0,
        KeyPolicy::default(),
    )
}

/// The caller of every raced change.
fn tester() -> RequestContext {
    RequestContext::system("test")
}

/// A fresh active key, never expiring, for a fresh customer.
async fn fresh_key(service: &ApiKeyService) -> IssuedKey {
    let request = NewKey {
        name: KeyName::new("Raced").unwrap(),
        description: None,
        scopes: ScopeSet::of(&[Scope::RequestsWrite]).unwrap(),
        expires_at: None,
        created_by: None,
    };
    service
        .create(&tester(), CustomerId::generate(), request)
        .await
        .unwrap()
}

/// Spawns `task` to start once every task on `barrier` is ready.
fn lined_up<T: Send + 'static>(
    barrier: &Arc<Barrier>,
    task: impl Future<Output = T> + Send + 'static,
) -> JoinHandle<T> {
    let barrier = Arc::clone(barrier);
    tokio::spawn(async move {
        barrier.wait().await;
        task.await
    })
}

async fn verifies(service: &ApiKeyService, secret: &PlainKey) -> bool {
    match service.verify(secret.expose()).await {
        Ok(_) => true,
        Err(VerifyError::Invalid) => false,
        Err(other) => panic!("verification failed unexpectedly: {other:?}"),
    }
}

async fn stored(repo: &Arc<dyn ApiKeyRepository>, key: &ApiKey) -> ApiKey {
    repo.get(key.customer_id(), key.id())
        .await
        .unwrap()
        .expect("the raced key still exists")
}

/// Eight rotations with a grace period at once: they are stored one after another, each
/// retiring the secret stored just before it, so afterwards exactly the newest secret and
/// the one before it verify — never the original.
pub async fn concurrent_rotations_leave_only_the_newest_two_secrets_valid(
    repo: Arc<dyn ApiKeyRepository>,
) {
    let service = service(&repo);
    let grace = GracePeriod::from_seconds(GRACE_SECONDS).unwrap();
    for round in 0..ROUNDS {
        // Arrange
        let original = fresh_key(&service).await;
        let (customer, id) = (original.key.customer_id(), original.key.id());
        let barrier = Arc::new(Barrier::new(ROTATIONS));

        // Act
        let rotations: Vec<_> = (0..ROTATIONS)
            .map(|_| {
                let service = service.clone();
                lined_up(&barrier, async move {
                    service.rotate(&tester(), customer, id, grace).await
                })
            })
            .collect();
        let mut issued = Vec::new();
        for rotation in rotations {
            let result = rotation.await.unwrap();
            issued.push(result.unwrap_or_else(|e| panic!("round {round}: rotation failed: {e:?}")));
        }

        // Assert: the stored secret and the one it retired verify, nothing else does.
        let now_stored = stored(&repo, &original.key).await;
        let newest = issued
            .iter()
            .find(|rotation| rotation.secret.hash() == now_stored.hash())
            .unwrap_or_else(|| panic!("round {round}: the stored secret was never returned"));
        assert!(
            !verifies(&service, &original.secret).await,
            "round {round}: the original secret still verifies"
        );
        let mut valid = Vec::new();
        for rotation in &issued {
            if verifies(&service, &rotation.secret).await {
                valid.push(rotation.secret.hash());
            }
        }
        let retired = now_stored.retired().map(|retired| retired.hash);
        assert_eq!(
            valid.len(),
            2,
            "round {round}: {} of {ROTATIONS} rotated secrets verify",
            valid.len()
        );
        assert!(valid.contains(&newest.secret.hash()), "round {round}");
        assert!(
            retired.is_some_and(|hash| valid.contains(&hash)),
            "round {round}"
        );

        // Assert: they were stored one after another, in version order, each retiring
        // the secret stored just before it; the last one is what is stored.
        issued.sort_by_key(|rotation| rotation.key.version());
        let mut previous = (KeyVersion::FIRST, original.secret.hash());
        for rotation in &issued {
            assert_eq!(rotation.key.version(), previous.0.next(), "round {round}");
            assert_eq!(rotation.key.hash(), rotation.secret.hash(), "round {round}");
            let retired = rotation
                .key
                .retired()
                .expect("a grace period was asked for");
            assert_eq!(retired.hash, previous.1, "round {round}");
            previous = (rotation.key.version(), rotation.secret.hash());
        }
        assert_eq!(
            issued.last().map(|rotation| &rotation.key),
            Some(&now_stored),
            "round {round}"
        );
    }
}

/// A revoke and a rotation with a grace period at once: whichever is stored first, the
/// key ends revoked and inactive and none of its secrets verifies.
pub async fn revoke_racing_rotate_leaves_the_key_revoked(repo: Arc<dyn ApiKeyRepository>) {
    let service = service(&repo);
    let grace = GracePeriod::from_seconds(GRACE_SECONDS).unwrap();
    for round in 0..ROUNDS {
        // Arrange
        let original = fresh_key(&service).await;
        let (customer, id) = (original.key.customer_id(), original.key.id());
        let barrier = Arc::new(Barrier::new(2));

        // Act
        let rotation = lined_up(&barrier, {
            let service = service.clone();
            async move { service.rotate(&tester(), customer, id, grace).await }
        });
        let revocation = lined_up(&barrier, {
            let service = service.clone();
            async move { service.revoke(&tester(), customer, id).await }
        });
        let rotation = rotation.await.unwrap();
        let revoked = revocation.await.unwrap().unwrap();

        // Assert
        let now_stored = stored(&repo, &original.key).await;
        assert!(!now_stored.is_active(), "round {round}: revoke was undone");
        assert!(now_stored.is_revoked(), "round {round}: revoke was undone");
        assert_eq!(now_stored.retired(), None, "round {round}");
        assert_eq!(
            now_stored, revoked,
            "round {round}: the revoke was stored last"
        );
        assert!(!verifies(&service, &original.secret).await, "round {round}");
        match rotation {
            Ok(rotated) => {
                assert!(rotated.key.version() < revoked.version(), "round {round}");
                assert!(!verifies(&service, &rotated.secret).await, "round {round}");
            }
            Err(ApiKeyError::NotRotatable) => {}
            Err(other) => panic!("round {round}: rotation failed: {other:?}"),
        }
    }
}

/// A revoke and a re-activation of a deactivated key at once: the re-activation either
/// comes first (and is then revoked) or is refused, never undoing the revoke.
pub async fn revoke_racing_reactivation_leaves_the_key_revoked(repo: Arc<dyn ApiKeyRepository>) {
    let service = service(&repo);
    let deactivate = KeyChanges {
        active: Some(false),
        ..KeyChanges::default()
    };
    for round in 0..ROUNDS {
        // Arrange
        let original = fresh_key(&service).await;
        let (customer, id) = (original.key.customer_id(), original.key.id());
        service
            .update(&tester(), customer, id, deactivate.clone())
            .await
            .unwrap();
        let barrier = Arc::new(Barrier::new(2));

        // Act
        let reactivation = lined_up(&barrier, {
            let service = service.clone();
            let changes = KeyChanges {
                active: Some(true),
                ..KeyChanges::default()
            };
            async move { service.update(&tester(), customer, id, changes).await }
        });
        let revocation = lined_up(&barrier, {
            let service = service.clone();
            async move { service.revoke(&tester(), customer, id).await }
        });
        let reactivation = reactivation.await.unwrap();
        let revoked = revocation.await.unwrap().unwrap();

        // Assert
        let now_stored = stored(&repo, &original.key).await;
        assert!(!now_stored.is_active(), "round {round}: revoke was undone");
        assert!(now_stored.is_revoked(), "round {round}: revoke was undone");
        assert_eq!(
            now_stored, revoked,
            "round {round}: the revoke was stored last"
        );
        assert!(!verifies(&service, &original.secret).await, "round {round}");
        match reactivation {
            Ok(reactivated) => assert!(reactivated.version() < revoked.version()),
            Err(ApiKeyError::Revoked) => {}
            Err(other) => panic!("round {round}: re-activation failed: {other:?}"),
        }
    }
}

/// A rename and a rotation without grace at once: both are kept — the new name and the
/// new secret — and the old secret no longer verifies.
pub async fn rename_racing_rotate_keeps_both_changes(repo: Arc<dyn ApiKeyRepository>) {
    let service = service(&repo);
    for round in 0..ROUNDS {
        // Arrange
        let original = fresh_key(&service).await;
        let (customer, id) = (original.key.customer_id(), original.key.id());
        let barrier = Arc::new(Barrier::new(2));
        let new_name = KeyName::new(format!("Renamed in round {round}")).unwrap();

        // Act
        let rotation = lined_up(&barrier, {
            let service = service.clone();
            async move {
                service
                    .rotate(&tester(), customer, id, GracePeriod::default())
                    .await
            }
        });
        let rename = lined_up(&barrier, {
            let service = service.clone();
            let changes = KeyChanges {
                name: Some(new_name.clone()),
                ..KeyChanges::default()
            };
            async move { service.update(&tester(), customer, id, changes).await }
        });
        let rotated = rotation.await.unwrap().unwrap();
        let renamed = rename.await.unwrap().unwrap();

        // Assert
        let now_stored = stored(&repo, &original.key).await;
        assert_eq!(now_stored.name(), &new_name, "round {round}: rename lost");
        assert_eq!(
            now_stored.hash(),
            rotated.secret.hash(),
            "round {round}: rotation lost"
        );
        assert_eq!(now_stored.version().get(), 3, "round {round}");
        let last = if rotated.key.version() > renamed.version() {
            &rotated.key
        } else {
            &renamed
        };
        assert_eq!(&now_stored, last, "round {round}");
        assert!(verifies(&service, &rotated.secret).await, "round {round}");
        assert!(!verifies(&service, &original.secret).await, "round {round}");
    }
}
