//! `keyward migrate` and `keyward keys cleanup` run as an operator would, on a SQLite
//! file prepared through the store itself.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use keyward_domain::CustomerId;
use keyward_domain::ports::{ActiveKeyCap, ApiKeyRepository};
use keyward_domain::testing::api_keys::sample_key;
use keyward_store_diesel::{DieselStore, PoolOptions};
use time::{Duration, OffsetDateTime};

fn keyward(dir: &Path, database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keyward"))
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("KEYWARD_CONFIG")
        .env("KEYWARD__DATABASE__URL", database_url)
        .env("KEYWARD__LOG__LEVEL", "warn")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_reports_what_it_applied_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keyward.db").display());

    let first = keyward(dir.path(), &url, &["migrate"]);
    let second = keyward(dir.path(), &url, &["migrate"]);

    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let first = String::from_utf8(first.stdout).unwrap();
    assert!(
        first.starts_with("applied ") && !first.starts_with("applied 0 "),
        "{first}"
    );
    assert_eq!(
        String::from_utf8(second.stdout).unwrap().trim(),
        "applied 0 migration(s) to the SQLite database"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_deletes_only_keys_expired_longer_than_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keyward.db").display());
    let store = DieselStore::connect(&url, PoolOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let now = OffsetDateTime::now_utc();
    let customer = CustomerId::generate();
    // sample_key expires 30 days after it was created.
    let long_expired = sample_key(customer, now - Duration::days(100));
    let recently_expired = sample_key(customer, now - Duration::days(40));
    let current = sample_key(customer, now);
    let cap = ActiveKeyCap { max: 100, now };
    for key in [&long_expired, &recently_expired, &current] {
        store.insert(key, cap).await.unwrap();
    }

    let output = keyward(dir.path(), &url, &["keys", "cleanup"]);

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        "deleted 1 API key(s) expired more than 30 day(s) ago"
    );
    assert!(
        store
            .get(customer, long_expired.id())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get(customer, recently_expired.id())
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.get(customer, current.id()).await.unwrap().is_some());
}
