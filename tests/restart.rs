//! The built binary over a real SQLite file: buffered key usage survives a graceful
//! restart (SIGTERM → final flush), and an unreachable database stops start-up with one
//! line that names the host but not the password.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use keyward_http::auth::{ActiveContext, Claims, JwtSecret, JwtSigner};
use serde_json::{Value, json};

const SECRET: &str = "restart test secret, thirty-two bytes or more";

/// A running `keyward serve` and the address it announced.
struct Running {
    child: Child,
    address: String,
    lines: mpsc::Receiver<String>,
}

fn command(dir: &Path, database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
    command
        .current_dir(dir)
        .arg("serve")
        .env_remove("RUST_LOG")
        .env_remove("KEYWARD_CONFIG")
        .env("KEYWARD__SERVER__PORT", "0")
        .env("KEYWARD__SERVER__WORKERS", "1")
        .env("KEYWARD__DATABASE__URL", database_url)
        .env("KEYWARD__AUTH__JWT_SECRET", SECRET)
        .env("KEYWARD__LOG__FORMAT", "json")
        .env("KEYWARD__USAGE__FLUSH_INTERVAL_SECONDS", "3600")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn start(dir: &Path, database_url: &str) -> Running {
    let mut child = command(dir, database_url).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let mut announced = None;
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(60)) {
        let Ok(event) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if event["message"] == "keyward is listening" {
            announced = event["address"].as_str().map(str::to_owned);
            break;
        }
    }
    let Some(address) = announced else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("keyward did not announce its address");
    };
    Running {
        child,
        address,
        lines,
    }
}

/// A test that fails half-way must not leave a server running.
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// SIGTERM, as a service manager would send it; waits for a clean exit.
    fn terminate(mut self) -> Vec<String> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "keyward exited with {exit}");
        // The reader thread ends at end-of-file, after the last line.
        self.lines.iter().collect()
    }
}

fn token(customer: uuid::Uuid) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    JwtSigner::new(&JwtSecret::new(SECRET.as_bytes().to_vec()))
        .sign(&Claims {
            sub: "restart-test".into(),
            exp: now + 600,
            nbf: None,
            iat: Some(now),
            active_context: Some(ActiveContext::customer(customer)),
            permissions: vec!["api_keys:read".into(), "api_keys:write".into()],
            iss: None,
            aud: None,
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_used_at_and_usage_counts_survive_a_graceful_restart() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("keyward.db").display());
    let client = reqwest::Client::new();
    let customer = uuid::Uuid::new_v4();
    let bearer = token(customer);
    let first = start(dir.path(), &database_url);
    let created: Value = client
        .post(format!("{}/v1/customer/api-keys", first.address))
        .bearer_auth(&bearer)
        .json(&json!({"name": "restart", "scopes": ["venues:read"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let validated = client
        .get(format!("{}/v1/validate", first.address))
        .header("X-API-Key", created["key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(validated.status(), reqwest::StatusCode::OK);
    let denied = client
        .get(format!("{}/v1/validate?scope=songdb:read", first.address))
        .header("X-API-Key", created["key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), reqwest::StatusCode::FORBIDDEN);

    let shutdown_log = first.terminate();
    let second = start(dir.path(), &database_url);
    let reread: Value = client
        .get(format!(
            "{}/v1/customer/api-keys/{}",
            second.address,
            created["id"].as_str().unwrap()
        ))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let usage: Value = client
        .get(format!(
            "{}/v1/customer/api-keys/{}/usage",
            second.address,
            created["id"].as_str().unwrap()
        ))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    second.terminate();

    assert!(
        shutdown_log
            .iter()
            .any(|line| line.contains("keyward stopped")),
        "{shutdown_log:?}"
    );
    assert!(reread["lastUsedAt"].is_string(), "{reread}");
    assert!(reread["lastUsedAt"].as_str() >= created["createdAt"].as_str());
    // Flushed only by the stop (the interval is an hour): one verified, one denied.
    assert_eq!(
        usage["total"],
        json!({"verified": 1, "denied": 1}),
        "{usage}"
    );
}

#[test]
fn unreachable_database_is_one_line_naming_the_host_without_the_password() {
    let dir = tempfile::tempdir().unwrap();

    let output = command(dir.path(), "postgres://keyward:hunter2@127.0.0.1:1/keyward")
        .env("KEYWARD__DATABASE__CONNECT_TIMEOUT_SECONDS", "2")
        .env("KEYWARD__LOG__LEVEL", "off")
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("keyward: "), "{stderr}");
    assert!(stderr.contains("127.0.0.1"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
