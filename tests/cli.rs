//! The built `keyward` binary as an operator runs it: help texts, `keyward token`,
//! `keyward dashboard-link`, and configuration errors. Every run happens in a fresh
//! temporary directory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use keyward_http::auth::{JwtSecret, JwtSettings, JwtVerifier};

fn keyward(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
    command.current_dir(dir).args(args).env_remove("RUST_LOG");
    for (name, _) in std::env::vars() {
        if name.starts_with("KEYWARD__") || name == "KEYWARD_CONFIG" {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn help_lists_every_command_and_where_configuration_comes_from() {
    let dir = tempfile::tempdir().unwrap();

    let output = keyward(dir.path(), &["--help"], &[]);

    assert!(output.status.success());
    let help = stdout(&output);
    for command in ["serve", "migrate", "token", "dashboard-link", "keys"] {
        assert!(help.contains(command), "{command} missing:\n{help}");
    }
    assert!(help.contains("KEYWARD_CONFIG"), "{help}");
}

#[test]
fn serve_help_names_the_default_address_and_its_overrides() {
    let dir = tempfile::tempdir().unwrap();

    let output = keyward(dir.path(), &["serve", "--help"], &[]);

    assert!(output.status.success());
    let help = stdout(&output);
    for text in [
        "127.0.0.1:8080",
        "KEYWARD__SERVER__HOST",
        "KEYWARD__SERVER__PORT",
    ] {
        assert!(help.contains(text), "{text} missing:\n{help}");
    }
}

#[test]
fn token_help_explains_every_option() {
    let dir = tempfile::tempdir().unwrap();

    let output = keyward(dir.path(), &["token", "--help"], &[]);

    let help = stdout(&output);
    for option in ["--customer", "--permissions", "--admin", "--ttl"] {
        assert!(help.contains(option), "{option} missing:\n{help}");
    }
}

#[test]
fn token_is_signed_with_a_new_secret_file_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let customer = uuid::Uuid::new_v4().to_string();

    let output = keyward(
        dir.path(),
        &[
            "token",
            "--customer",
            &customer,
            "--permissions",
            "api_keys:read,api_keys:write",
            "--ttl",
            "120",
        ],
        &[],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    let token = stdout(&output).trim().to_owned();
    let secret = std::fs::read_to_string(dir.path().join("data/jwt.secret")).unwrap();
    let verifier = JwtVerifier::new(&JwtSettings {
        secret: JwtSecret::new(secret.trim().as_bytes().to_vec()),
        issuer: None,
        audience: None,
        leeway_seconds: keyward_http::auth::jwt::LEEWAY_SECONDS,
    });
    let claims = verifier.verify(&token).unwrap();
    assert_eq!(claims.active_context.unwrap().id.to_string(), customer);
    assert_eq!(claims.permissions, ["api_keys:read", "api_keys:write"]);
    assert!(claims.exp - claims.iat.unwrap() == 120);
    assert!(!stderr(&output).contains(&token));
}

#[test]
fn admin_token_uses_the_configured_secret_issuer_and_audience() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "a configured secret of more than 32 bytes";
    let customer = uuid::Uuid::new_v4().to_string();

    let output = keyward(
        dir.path(),
        &["token", "--customer", &customer, "--admin"],
        &[
            ("KEYWARD__AUTH__JWT_SECRET", secret),
            ("KEYWARD__AUTH__ISSUER", "https://id.example"),
            ("KEYWARD__AUTH__AUDIENCE", "keyward"),
        ],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    let verifier = JwtVerifier::new(&JwtSettings {
        secret: JwtSecret::new(secret.as_bytes().to_vec()),
        issuer: Some("https://id.example".into()),
        audience: Some("keyward".into()),
        leeway_seconds: keyward_http::auth::jwt::LEEWAY_SECONDS,
    });
    let claims = verifier.verify(stdout(&output).trim()).unwrap();
    assert_eq!(claims.active_context.unwrap().kind, "admin");
    assert!(!dir.path().join("data/jwt.secret").exists());
}

#[test]
fn unknown_permission_is_refused() {
    let dir = tempfile::tempdir().unwrap();

    let output = keyward(
        dir.path(),
        &[
            "token",
            "--customer",
            &uuid::Uuid::new_v4().to_string(),
            "--permissions",
            "api_keys:reed",
        ],
        &[],
    );

    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("unknown permission `api_keys:reed`"),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn bad_configuration_value_exits_non_zero_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let customer = uuid::Uuid::new_v4().to_string();

    let bad_prefix = keyward(
        dir.path(),
        &["token", "--customer", &customer],
        &[("KEYWARD__KEYS__PREFIX", "k_w")],
    );
    let bad_port = keyward(
        dir.path(),
        &["serve"],
        &[("KEYWARD__SERVER__PORT", "eighty")],
    );
    let bad_format = keyward(dir.path(), &["serve"], &[("KEYWARD__LOG__FORMAT", "xml")]);

    assert!(!bad_prefix.status.success());
    assert_eq!(
        stderr(&bad_prefix).trim(),
        "keyward: keys.prefix: must be 1 to 16 ASCII letters or digits"
    );
    assert!(!bad_port.status.success());
    assert!(
        stderr(&bad_port).contains("server.port"),
        "{}",
        stderr(&bad_port)
    );
    assert!(!bad_format.status.success());
    assert!(
        stderr(&bad_format).contains("log.format"),
        "{}",
        stderr(&bad_format)
    );
}

#[test]
fn unknown_log_level_exits_non_zero_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let customer = uuid::Uuid::new_v4().to_string();

    let output = keyward(
        dir.path(),
        &["token", "--customer", &customer],
        &[("KEYWARD__LOG__LEVEL", "nonsense")],
    );

    assert!(!output.status.success());
    assert!(stderr(&output).contains("log.level"), "{}", stderr(&output));
    assert!(stdout(&output).is_empty());
}

#[test]
fn levels_and_target_directives_are_accepted_as_log_level() {
    let dir = tempfile::tempdir().unwrap();
    let customer = uuid::Uuid::new_v4().to_string();

    for level in ["warn", "INFO", "info,keyward=debug", "off"] {
        let output = keyward(
            dir.path(),
            &["token", "--customer", &customer],
            &[("KEYWARD__LOG__LEVEL", level)],
        );

        assert!(output.status.success(), "{level}: {}", stderr(&output));
    }
}

#[test]
fn malformed_master_key_is_refused_before_the_database_is_opened() {
    let dir = tempfile::tempdir().unwrap();

    let output = keyward(
        dir.path(),
        &["serve"],
        &[
            ("KEYWARD__DATABASE__URL", "postgres://127.0.0.1:1/x"),
            ("KEYWARD__VAULT__MASTER_KEY", "zz"),
            ("KEYWARD__SERVER__PORT", "0"),
        ],
    );

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("vault.master_key"), "{message}");
    assert!(!message.to_lowercase().contains("database"), "{message}");
}

#[test]
fn configuration_file_named_by_keyward_config_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("custom.toml");
    std::fs::write(&file, "[keys]\nmax_per_customer = 0\n").unwrap();

    let output = keyward(
        dir.path(),
        &["token", "--customer", &uuid::Uuid::new_v4().to_string()],
        &[("KEYWARD_CONFIG", file.to_str().unwrap())],
    );

    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("keys.max_per_customer: must be at least 1"),
        "{}",
        stderr(&output)
    );
}

/// Runs `keyward migrate` in `dir`, creating the default SQLite database there.
fn migrated(dir: &Path) {
    let output = keyward(dir, &["migrate"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
}

/// The token of a printed link, after checking the line is
/// `{base}/dashboard/link?token=kwl_` + 43 base62 characters and nothing else.
fn token_of(output: &Output, base: &str) -> String {
    assert!(output.status.success(), "{}", stderr(output));
    let printed = stdout(output);
    let line = printed
        .strip_suffix('\n')
        .expect("one line ending in a newline");
    assert!(!line.contains('\n'), "more than one line: {printed:?}");
    let token = line
        .strip_prefix(&format!("{base}/dashboard/link?token="))
        .unwrap_or_else(|| panic!("not a link under {base}: {line}"));
    let body = token.strip_prefix("kwl_").expect("a kwl_ token");
    assert_eq!(body.len(), 43, "{token}");
    assert!(body.bytes().all(|b| b.is_ascii_alphanumeric()), "{token}");
    assert!(!stderr(output).contains(token), "the token reached stderr");
    token.to_owned()
}

#[test]
fn dashboard_link_help_explains_every_option() {
    let dir = tempfile::tempdir().unwrap();

    let output = keyward(dir.path(), &["dashboard-link", "--help"], &[]);

    assert!(output.status.success());
    let help = stdout(&output);
    for text in [
        "--customer",
        "--ttl",
        "--permissions",
        "--subject",
        "--base-url",
        "[default: 600]",
        "86400",
        "/dashboard/link?token=",
        "once",
        "reverse proxy",
    ] {
        assert!(help.contains(text), "{text} missing:\n{help}");
    }
}

#[test]
fn dashboard_link_prints_one_link_of_the_right_shape_and_says_until_when_it_works() {
    let dir = tempfile::tempdir().unwrap();
    migrated(dir.path());
    let customer = uuid::Uuid::new_v4().to_string();

    let default = keyward(
        dir.path(),
        &["dashboard-link", "--customer", &customer],
        &[("KEYWARD__SERVER__PORT", "9123")],
    );
    let behind_a_proxy = keyward(
        dir.path(),
        &[
            "dashboard-link",
            "--customer",
            &customer,
            "--ttl",
            "1",
            "--base-url",
            "https://keys.example.com/",
        ],
        &[],
    );

    let first = token_of(&default, "http://127.0.0.1:9123");
    let second = token_of(&behind_a_proxy, "https://keys.example.com");
    assert_ne!(first, second);
    assert!(
        stderr(&default).contains("valid once, for 600 seconds, until 20"),
        "{}",
        stderr(&default)
    );
    assert!(
        stderr(&behind_a_proxy).contains("valid once, for 1 second, until 20"),
        "{}",
        stderr(&behind_a_proxy)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printed_link_redeems_once_on_the_same_database() {
    use std::sync::Arc;

    use keyward_domain::CustomerId;
    use keyward_domain::ports::{OsSecretGenerator, SystemClock};
    use keyward_domain::services::SignInLinkService;
    use keyward_store_diesel::{DieselStore, PoolOptions};

    let dir = tempfile::tempdir().unwrap();
    migrated(dir.path());
    let customer = uuid::Uuid::new_v4();
    let output = keyward(
        dir.path(),
        &[
            "dashboard-link",
            "--customer",
            &customer.to_string(),
            "--permissions",
            "api_keys:read, audit:read",
            "--subject",
            "ops@example.com",
        ],
        &[],
    );
    let token = token_of(&output, "http://127.0.0.1:8080");
    let url = format!("sqlite://{}", dir.path().join("data/keyward.db").display());
    let store = DieselStore::connect(&url, PoolOptions::default())
        .await
        .unwrap();
    let links = SignInLinkService::new(
        Arc::new(store),
        Arc::new(SystemClock),
        Arc::new(OsSecretGenerator::default()),
    );

    let first = links.redeem(&token).await.unwrap();
    let second = links.redeem(&token).await.unwrap();

    let first = first.expect("the printed link works");
    assert_eq!(first.customer_id, CustomerId::from_uuid(customer));
    assert_eq!(first.subject, "ops@example.com");
    assert_eq!(first.permissions, ["api_keys:read", "audit:read"]);
    let lifetime = first.expires_at - time::OffsetDateTime::now_utc();
    assert!(
        lifetime > time::Duration::seconds(500) && lifetime <= time::Duration::seconds(600),
        "{lifetime}"
    );
    assert_eq!(second, None, "a link works once");
}

#[test]
fn dashboard_link_refuses_a_bad_customer_a_ttl_out_of_range_and_an_unknown_permission() {
    let dir = tempfile::tempdir().unwrap();
    migrated(dir.path());
    let customer = uuid::Uuid::new_v4().to_string();

    let bad_customer = keyward(
        dir.path(),
        &["dashboard-link", "--customer", "not-a-uuid"],
        &[],
    );
    let zero_ttl = keyward(
        dir.path(),
        &["dashboard-link", "--customer", &customer, "--ttl", "0"],
        &[],
    );
    let long_ttl = keyward(
        dir.path(),
        &["dashboard-link", "--customer", &customer, "--ttl", "86401"],
        &[],
    );
    let unknown_permission = keyward(
        dir.path(),
        &[
            "dashboard-link",
            "--customer",
            &customer,
            "--permissions",
            "api_keys:read,api_keys:reed",
        ],
        &[],
    );
    let bad_base_url = keyward(
        dir.path(),
        &[
            "dashboard-link",
            "--customer",
            &customer,
            "--base-url",
            "keys.example.com",
        ],
        &[],
    );

    // Command-line mistakes clap finds exit with 2, like every other command's.
    for (output, flag) in [
        (&bad_customer, "--customer"),
        (&zero_ttl, "--ttl"),
        (&long_ttl, "--ttl"),
    ] {
        assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
        assert!(stderr(output).contains(flag), "{}", stderr(output));
        assert!(stdout(output).is_empty());
    }
    // Checked after parsing, as `keyward token` checks permissions: status 1.
    assert_eq!(unknown_permission.status.code(), Some(1));
    assert_eq!(
        stderr(&unknown_permission).trim(),
        format!(
            "keyward: unknown permission `api_keys:reed`; known: {}",
            keyward_http::auth::permissions::ALL.join(", ")
        )
    );
    assert!(stdout(&unknown_permission).is_empty());
    assert_eq!(bad_base_url.status.code(), Some(1));
    assert!(
        stderr(&bad_base_url).contains("--base-url: `keys.example.com`"),
        "{}",
        stderr(&bad_base_url)
    );
    assert!(stdout(&bad_base_url).is_empty());
}

#[test]
fn dashboard_link_never_creates_a_database() {
    let dir = tempfile::tempdir().unwrap();

    let output = keyward(
        dir.path(),
        &[
            "dashboard-link",
            "--customer",
            &uuid::Uuid::new_v4().to_string(),
        ],
        &[],
    );

    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no database at"),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&output).is_empty());
    assert!(!dir.path().join("data/keyward.db").exists());
}
