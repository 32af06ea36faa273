//! `keyward keys create | list | revoke` (SPEC §14) run as an operator runs them: the real
//! binary on the database of a running app, on SQLite and PostgreSQL. What the CLI does
//! must be what the API sees — the key it prints verifies, the key it revokes stops
//! verifying within 1 s (SPEC §7) — and it follows the API's rules.

use std::process::{Command, Output};

use reqwest::StatusCode;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::instances::until_validate_answers;
use crate::support::{Backend, Customer, TestApp, spawn_app, spawn_app_with};

/// Runs `keyward keys <args>` on `app`'s database with `env` added; logs at debug so a
/// secret that reached a log line would be seen.
fn keys(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_keyward"))
        .current_dir(dir.path())
        .arg("keys")
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("KEYWARD_CONFIG")
        .env(
            "KEYWARD__DATABASE__URL",
            app.database_url.as_deref().unwrap(),
        )
        .env("KEYWARD__LOG__LEVEL", "debug")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The line the command printed last on stderr (after its log lines) when it failed.
fn failure(output: &Output) -> String {
    assert!(!output.status.success(), "unexpected success");
    assert!(output.stdout.is_empty(), "{:?}", output.stdout);
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    stderr.lines().last().unwrap_or_default().to_owned()
}

fn customer_uuid(customer: &Customer) -> String {
    customer.id.to_string()
}

async fn diesel_app(backend: Backend) -> Option<TestApp> {
    spawn_app(backend).await
}

macro_rules! on_both_databases {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(crate::support::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(crate::support::Backend::Postgres).await;
                }
            )*
        }
    };
}

on_both_databases!(
    a_key_created_listed_and_revoked_from_the_cli_is_what_the_service_sees,
    create_prints_only_the_key_on_stdout_and_never_logs_it,
    create_follows_the_api_rules,
    create_stops_at_the_cap,
    create_applies_the_default_lifetime,
    revoking_an_unknown_id_names_it,
    a_key_that_cannot_be_printed_is_taken_back,
    cli_changes_and_the_cleanup_are_audited_as_the_system,
);

async fn a_key_created_listed_and_revoked_from_the_cli_is_what_the_service_sees(backend: Backend) {
    let Some(app) = diesel_app(backend).await else {
        return;
    };
    let customer = Customer::new();
    let uuid = customer_uuid(&customer);

    let created: Value = serde_json::from_str(&stdout(&keys(
        &app,
        &[
            "create",
            "--customer",
            &uuid,
            "--name",
            "Lobby tablet",
            "--scopes",
            "songdb:read,requests:write",
            "--description",
            "made by the operator",
            "--json",
        ],
        &[],
    )))
    .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["key"].as_str().unwrap().to_owned();
    assert_eq!(created["name"], "Lobby tablet");
    assert_eq!(created["description"], "made by the operator");
    assert_eq!(created["active"], true);
    assert_eq!(created["expiresAt"], Value::Null);
    // The service verifies it (and from now on answers it from its cache).
    for _ in 0..2 {
        assert_eq!(app.validate(&secret).await.status(), StatusCode::OK);
    }
    // The customer sees it through the API, created by the CLI.
    let through_api: Value = app
        .get(&format!("/v1/customer/api-keys/{id}"), &customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(through_api["scopes"], created["scopes"]);

    let listed: Value = serde_json::from_str(&stdout(&keys(
        &app,
        &["list", "--customer", &uuid, "--json"],
        &[],
    )))
    .unwrap();
    let data = listed["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{listed}");
    assert_eq!(data[0]["id"], id.as_str());
    assert!(
        data[0].get("key").is_none(),
        "a listing never shows the key"
    );
    let table = stdout(&keys(&app, &["list", "--customer", &uuid], &[]));
    let row = table.lines().nth(1).unwrap();
    assert!(
        row.starts_with(&id) && row.contains("Lobby tablet"),
        "{table}"
    );
    assert!(row.contains("active"), "{table}");
    assert!(!table.contains(&secret));

    let revoked = stdout(&keys(&app, &["revoke", &id], &[]));
    assert_eq!(
        revoked.trim(),
        format!("revoked API key {id} (Lobby tablet) of customer {uuid}")
    );
    // SPEC §7: another process's revoke is seen within 1 s, cached answer or not.
    until_validate_answers(&app, &secret, StatusCode::UNAUTHORIZED).await;
    let again = stdout(&keys(&app, &["revoke", &id], &[]));
    assert_eq!(
        again.trim(),
        format!("API key {id} (Lobby tablet) was already revoked")
    );
    let table = stdout(&keys(&app, &["list", "--customer", &uuid], &[]));
    assert!(table.lines().nth(1).unwrap().contains("revoked"), "{table}");
    // Another customer's listing is empty.
    let other = stdout(&keys(
        &app,
        &["list", "--customer", &Uuid::new_v4().to_string()],
        &[],
    ));
    assert_eq!(other, "no API keys\n");
}

async fn create_prints_only_the_key_on_stdout_and_never_logs_it(backend: Backend) {
    let Some(app) = diesel_app(backend).await else {
        return;
    };
    let customer = Customer::new();

    let output = keys(
        &app,
        &[
            "create",
            "--customer",
            &customer_uuid(&customer),
            "--name",
            "Kiosk",
            "--scopes",
            "songdb:read",
        ],
        &[],
    );

    let printed = stdout(&output);
    let secret = printed.strip_suffix('\n').unwrap();
    assert!(!secret.contains('\n'), "{printed}");
    assert!(secret.starts_with("kw_"), "{printed}");
    assert_eq!(app.validate(secret).await.status(), StatusCode::OK);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("shown only this once"), "{stderr}");
    assert!(!stderr.contains(secret), "the key reached stderr: {stderr}");
}

async fn create_follows_the_api_rules(backend: Backend) {
    let Some(app) = diesel_app(backend).await else {
        return;
    };
    let uuid = customer_uuid(&Customer::new());
    let create = |extra: &[&str]| {
        let mut args = vec!["create", "--customer", uuid.as_str()];
        args.extend_from_slice(extra);
        failure(&keys(&app, &args, &[]))
    };

    let unknown = create(&["--name", "A", "--scopes", "songdb:read,nope,bad"]);
    let long_name = "n".repeat(101);
    let too_long = create(&["--name", &long_name, "--scopes", "songdb:read"]);
    let past = create(&[
        "--name",
        "A",
        "--scopes",
        "songdb:read",
        "--expires-at",
        "2001-01-01T00:00:00Z",
    ]);
    let garbled = create(&[
        "--name",
        "A",
        "--scopes",
        "songdb:read",
        "--expires-at",
        "tomorrow",
    ]);

    assert_eq!(unknown.trim(), "keyward: Invalid scopes: nope, bad");
    assert_eq!(
        too_long.trim(),
        "keyward: --name: must be 1 to 100 characters"
    );
    assert_eq!(past.trim(), "keyward: --expires-at: must be in the future");
    assert!(
        garbled.starts_with("keyward: --expires-at: must be an RFC 3339 timestamp"),
        "{garbled}"
    );
    let listed = stdout(&keys(&app, &["list", "--customer", &uuid], &[]));
    assert_eq!(listed, "no API keys\n", "nothing was created");
}

async fn create_stops_at_the_cap(backend: Backend) {
    let Some(app) = diesel_app(backend).await else {
        return;
    };
    let uuid = customer_uuid(&Customer::new());
    let args = [
        "create",
        "--customer",
        uuid.as_str(),
        "--name",
        "One",
        "--scopes",
        "venues:read",
    ];
    let cap = [("KEYWARD__KEYS__MAX_PER_CUSTOMER", "1")];

    stdout(&keys(&app, &args, &cap));
    let refused = failure(&keys(&app, &args, &cap));

    assert_eq!(
        refused.trim(),
        "keyward: maximum of 1 active API key reached"
    );
}

async fn create_applies_the_default_lifetime(backend: Backend) {
    let Some(app) = diesel_app(backend).await else {
        return;
    };
    let uuid = customer_uuid(&Customer::new());

    let created: Value = serde_json::from_str(&stdout(&keys(
        &app,
        &[
            "create",
            "--customer",
            &uuid,
            "--name",
            "Week",
            "--scopes",
            "venues:read",
            "--json",
        ],
        &[("KEYWARD__KEYS__DEFAULT_TTL_DAYS", "7")],
    )))
    .unwrap();

    let at =
        |field: &str| OffsetDateTime::parse(created[field].as_str().unwrap(), &Rfc3339).unwrap();
    assert_eq!(at("expiresAt") - at("createdAt"), time::Duration::days(7));
}

async fn revoking_an_unknown_id_names_it(backend: Backend) {
    let Some(app) = diesel_app(backend).await else {
        return;
    };
    let id = Uuid::new_v4().to_string();

    let refused = failure(&keys(&app, &["revoke", &id], &[]));
    let not_a_uuid = keys(&app, &["revoke", "kw_123"], &[]);

    assert_eq!(
        refused.trim(),
        format!("keyward: no API key has the id {id}")
    );
    assert!(!not_a_uuid.status.success());
    let stderr = String::from_utf8(not_a_uuid.stderr).unwrap();
    assert!(
        stderr.contains("invalid value 'kw_123' for '<ID>'"),
        "{stderr}"
    );
}

async fn a_key_that_cannot_be_printed_is_taken_back(backend: Backend) {
    let Some(app) = diesel_app(backend).await else {
        return;
    };
    let uuid = customer_uuid(&Customer::new());
    let dir = tempfile::tempdir().unwrap();

    // /dev/full: every write fails with ENOSPC, as a closed pipe or a full disk would.
    let output = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .current_dir(dir.path())
        .args([
            "keys",
            "create",
            "--customer",
            &uuid,
            "--name",
            "Unseen",
            "--scopes",
            "venues:read",
        ])
        .env_remove("RUST_LOG")
        .env_remove("KEYWARD_CONFIG")
        .env(
            "KEYWARD__DATABASE__URL",
            app.database_url.as_deref().unwrap(),
        )
        .env("KEYWARD__LOG__LEVEL", "warn")
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("cannot write to stdout")
            && stderr.contains("the new key was deleted again"),
        "{stderr}"
    );
    assert!(!stderr.contains("kw_"), "{stderr}");
    let listed = stdout(&keys(&app, &["list", "--customer", &uuid], &[]));
    assert_eq!(listed, "no API keys\n");
}

/// Run where no database is, the CLI says so instead of creating an empty one that no
/// server reads (SQLite only: a PostgreSQL URL names a server).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_never_creates_a_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let customer = Uuid::new_v4().to_string();

    for args in [
        vec!["list", "--customer", customer.as_str()],
        vec![
            "create",
            "--customer",
            customer.as_str(),
            "--name",
            "Lost",
            "--scopes",
            "venues:read",
        ],
        vec!["revoke", customer.as_str()],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .current_dir(dir.path())
            .arg("keys")
            .args(&args)
            .env_remove("RUST_LOG")
            .env_remove("KEYWARD_CONFIG")
            .env_remove("KEYWARD__DATABASE__URL")
            .output()
            .unwrap();

        let last = failure(&output);
        let expected = dir.path().join("data/keyward.db");
        assert!(
            last.starts_with(&format!("keyward: no database at {}", expected.display())),
            "{args:?}: {last}"
        );
        assert!(!expected.exists(), "{args:?} created the database");
    }
}

/// The API's own default lifetime, on every backend: SPEC §6 `keys.default_ttl_days`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_applies_the_default_lifetime_too() {
    for backend in [Backend::Memory, Backend::Sqlite, Backend::Postgres] {
        let Some(app) =
            spawn_app_with(backend, |settings| settings.keys.default_ttl_days = 30).await
        else {
            continue;
        };
        let customer = Customer::new();
        let without = app
            .create_key(
                &customer,
                serde_json::json!({"name": "Default", "scopes": ["venues:read"]}),
            )
            .await;
        let explicit = app
            .create_key(
                &customer,
                serde_json::json!({
                    "name": "Explicit",
                    "scopes": ["venues:read"],
                    "expiresAt": "2099-01-01T00:00:00Z"
                }),
            )
            .await;

        let at = |key: &Value, field: &str| {
            OffsetDateTime::parse(key[field].as_str().unwrap(), &Rfc3339).unwrap()
        };
        assert_eq!(
            at(&without, "expiresAt") - at(&without, "createdAt"),
            time::Duration::days(30),
            "{backend:?}"
        );
        assert_eq!(explicit["expiresAt"], "2099-01-01T00:00:00Z", "{backend:?}");
    }
}

/// SPEC §12: what the CLI changes is audited like what the API changes, with the actor
/// `{type: "system", id: "cli"}` (or `cleanup`) and no address.
async fn cli_changes_and_the_cleanup_are_audited_as_the_system(backend: Backend) {
    let Some(app) = diesel_app(backend).await else {
        return;
    };
    let customer = Customer::with_permissions(&["api_keys:read", "audit:read"]);
    let uuid = customer_uuid(&customer);
    let created: Value = serde_json::from_str(&stdout(&keys(
        &app,
        &[
            "create",
            "--customer",
            &uuid,
            "--name",
            "Kiosk",
            "--scopes",
            "songdb:read",
            "--json",
        ],
        &[],
    )))
    .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    stdout(&keys(&app, &["revoke", &id], &[]));
    // A key that expired 70 days ago (sample keys expire 30 days after creation).
    let now = OffsetDateTime::now_utc();
    let expired = keyward_domain::testing::api_keys::sample_key(
        keyward_domain::CustomerId::from_uuid(customer.id),
        now - time::Duration::days(100),
    );
    app.keys
        .insert(
            &expired,
            keyward_domain::ports::ActiveKeyCap { max: 100, now },
        )
        .await
        .unwrap();
    stdout(&keys(&app, &["cleanup"], &[]));

    let page: Value = app
        .get("/v1/customer/audit-events", &customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let events = page["data"].as_array().unwrap();
    let summary: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|event| {
            (
                event["action"].as_str().unwrap(),
                event["actor"]["id"].as_str().unwrap(),
                event["targetId"].as_str().unwrap(),
            )
        })
        .collect();
    let expired_id = expired.id().to_string();
    assert_eq!(
        summary,
        [
            ("api_key.deleted", "cleanup", expired_id.as_str()),
            ("api_key.revoked", "cli", id.as_str()),
            ("api_key.created", "cli", id.as_str()),
        ],
        "{page}"
    );
    for event in events {
        assert_eq!(event["actor"]["type"], "system");
        assert_eq!(event["ip"], Value::Null);
    }
    assert_eq!(
        events[0]["details"],
        serde_json::json!({"reason": "expired"})
    );
}
