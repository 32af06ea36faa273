//! `keyward vault generate-key` and `keyward vault rotate-key`, run as the built binary
//! against a SQLite database the test fills through the vault service itself.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use keyward_domain::CustomerId;
use keyward_domain::audit::RequestContext;
use keyward_domain::ports::SystemClock;
use keyward_domain::services::{AuditTrail, CustomerCredentialInput, VaultService};
use keyward_domain::vault::{AesGcmCipher, CredentialOwner, MasterKey, Provider, SecretText};
use keyward_store_diesel::{DieselStore, PoolOptions};

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

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn generate(dir: &Path, name: &str) -> MasterKey {
    let output = keyward(dir, &["vault", "generate-key", "--out", name], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    MasterKey::from_hex(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
}

async fn store(url: &str) -> DieselStore {
    let store = DieselStore::connect(url, PoolOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

fn vault(store: &DieselStore, cipher: AesGcmCipher) -> VaultService {
    VaultService::new(
        Arc::new(store.clone()),
        Arc::new(cipher),
        Arc::new(SystemClock),
        AuditTrail::new(Arc::new(store.clone()), Arc::new(SystemClock)),
    )
}

/// The caller of every change in these tests.
fn ctx() -> RequestContext {
    RequestContext::system("test")
}

fn openai() -> Provider {
    Provider::new("openai").unwrap()
}

#[test]
fn generated_key_file_is_private_and_never_overwritten() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();

    generate(dir.path(), "keys/vault.key");
    let again = keyward(
        dir.path(),
        &["vault", "generate-key", "--out", "keys/vault.key"],
        &[],
    );

    let mode = std::fs::metadata(dir.path().join("keys/vault.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("refusing to overwrite"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_key_reencrypts_every_credential_and_the_new_key_alone_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let old_key = generate(dir.path(), "old.key");
    let new_key = generate(dir.path(), "new.key");
    let url = format!("sqlite://{}", dir.path().join("keyward.db").display());
    let store = store(&url).await;
    let before = vault(&store, AesGcmCipher::new(old_key));
    let mut customers = Vec::new();
    for index in 0..7 {
        let customer = CustomerId::generate();
        let input = CustomerCredentialInput {
            name: None,
            description: None,
            secret: SecretText::new(format!("byok-secret-{index:04}-abcdefgh")).unwrap(),
            active: true,
        };
        before
            .put_for_customer(&ctx(), customer, openai(), input)
            .await
            .unwrap();
        customers.push((customer, index));
    }

    let output = keyward(
        dir.path(),
        &[
            "vault",
            "rotate-key",
            "--new-key-file",
            "new.key",
            "--batch-size",
            "3",
        ],
        &[
            ("KEYWARD__DATABASE__URL", &url),
            ("KEYWARD__VAULT__MASTER_KEY_FILE", "old.key"),
        ],
    );

    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("re-encrypted 7 credential(s)"), "{stdout}");
    assert!(stdout.contains("rotation complete"), "{stdout}");
    assert!(text(&output.stderr).contains("re-encrypted 7/7"));
    let after = vault(&store, AesGcmCipher::new(new_key));
    for (customer, index) in customers {
        let revealed = after
            .reveal(&ctx(), CredentialOwner::Customer(customer), &openai())
            .await
            .unwrap();
        assert_eq!(
            revealed.secret.expose(),
            format!("byok-secret-{index:04}-abcdefgh")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_key_reports_credentials_no_configured_key_opens() {
    let dir = tempfile::tempdir().unwrap();
    let lost_key = generate(dir.path(), "lost.key");
    generate(dir.path(), "configured.key");
    generate(dir.path(), "new.key");
    let url = format!("sqlite://{}", dir.path().join("keyward.db").display());
    let store = store(&url).await;
    let input = CustomerCredentialInput {
        name: None,
        description: None,
        secret: SecretText::new("sealed-under-a-key-nobody-configured").unwrap(),
        active: true,
    };
    vault(&store, AesGcmCipher::new(lost_key))
        .put_for_customer(&ctx(), CustomerId::generate(), openai(), input)
        .await
        .unwrap();

    let output = keyward(
        dir.path(),
        &["vault", "rotate-key", "--new-key-file", "new.key"],
        &[
            ("KEYWARD__DATABASE__URL", &url),
            ("KEYWARD__VAULT__MASTER_KEY_FILE", "configured.key"),
        ],
    );

    assert!(!output.status.success());
    assert!(text(&output.stdout).contains("could not decrypt credential"));
    assert!(text(&output.stderr).contains("rotation incomplete: 1 credential(s)"));
}

#[test]
fn rotate_key_without_a_configured_key_explains_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "new.key");

    let output = keyward(
        dir.path(),
        &["vault", "rotate-key", "--new-key-file", "new.key"],
        &[],
    );

    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("vault.master_key"));
}

#[test]
fn malformed_master_key_is_refused_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "new.key");

    let output = keyward(
        dir.path(),
        &["vault", "rotate-key", "--new-key-file", "new.key"],
        &[("KEYWARD__VAULT__MASTER_KEY", "not-a-hex-key")],
    );

    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("vault.master_key: must be exactly 64 hexadecimal characters"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-a-hex-key"), "{stderr}");
}

#[test]
fn serve_refuses_to_start_with_a_malformed_master_key_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vault.key"), "0123-not-a-key\n").unwrap();

    let output = keyward(
        dir.path(),
        &["serve"],
        &[
            ("KEYWARD__SERVER__PORT", "0"),
            ("KEYWARD__VAULT__MASTER_KEY_FILE", "vault.key"),
        ],
    );

    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(
            "keyward: vault.master_key_file: vault.key: must be exactly 64 hexadecimal characters"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("0123-not-a-key"), "{stderr}");
}
