//! `keyward vault generate-key` and `keyward vault rotate-key` (docs/VAULT.md).
//!
//! `rotate-key` re-encrypts every service credential under a new master key, in
//! batches, with the configured key (and `vault.previous_master_key`, if set) still
//! accepted for reading until it finishes. It is resumable: Ctrl-C stops it after the
//! current batch, and running it again picks up the records still to do. Progress goes
//! to stderr, the summary to stdout.

use std::fs::OpenOptions;
use std::io::{ErrorKind, IsTerminal, Write};
use std::num::NonZeroU32;
use std::ops::ControlFlow;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use keyward_domain::ports::{CredentialRepository, OsSecretGenerator};
use keyward_domain::services::{KeyRotation, RotationError, RotationProgress, RotationReport};
use keyward_domain::vault::{AesGcmCipher, MasterKey};

use crate::cli::{GenerateKeyArgs, RotateKeyArgs};
use crate::error::AppError;
use crate::settings::Settings;
use crate::vault_keys::{self, read_key_file};

/// # Errors
/// The file exists already, or cannot be written.
pub fn generate_key(args: &GenerateKeyArgs) -> Result<(), AppError> {
    let (key, hex) = MasterKey::generate(&OsSecretGenerator::default())
        .map_err(|err| AppError::Usage(err.to_string()))?;
    let path = &args.out;
    let failed = |err: std::io::Error| AppError::Usage(format!("{}: {err}", path.display()));
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|err| match err.kind() {
            ErrorKind::AlreadyExists => AppError::Usage(format!(
                "{}: exists already; refusing to overwrite a key",
                path.display()
            )),
            _ => failed(err),
        })?;
    writeln!(file, "{}", hex.as_str()).map_err(failed)?;
    println!(
        "wrote a new vault master key (version {}) to {} (mode 0600)",
        key.version(),
        path.display()
    );
    Ok(())
}

/// # Errors
/// No configured master key, an unreadable new key file, a storage failure, or a
/// rotation that did not complete (records left under another key).
pub async fn rotate_key(
    args: &RotateKeyArgs,
    settings: &Settings,
    store: Arc<dyn CredentialRepository>,
) -> Result<(), AppError> {
    let configured = vault_keys::resolve(&settings.vault)?.ok_or_else(|| {
        AppError::Usage(
            "vault.master_key or vault.master_key_file must name the key the credentials are \
             encrypted with now"
                .into(),
        )
    })?;
    let new_key = read_key_file(&args.new_key_file)
        .map_err(|reason| AppError::Usage(format!("--new-key-file {reason}")))?;
    let mut cipher = AesGcmCipher::new(new_key).with_previous(configured.current);
    if let Some(previous) = configured.previous {
        cipher = cipher.with_previous(previous);
    }
    let batch_size = NonZeroU32::new(args.batch_size).unwrap_or(NonZeroU32::MIN);
    let rotation = KeyRotation::new(store, Arc::new(cipher), batch_size);
    let interrupted = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(stop_on_ctrl_c(interrupted.clone()));
    let mut progress = ProgressLine::new(std::io::stderr().is_terminal());
    let report = rotation
        .run(&mut |counts: &RotationProgress| {
            progress.show(counts);
            if interrupted.load(Ordering::Relaxed) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .await;
    watcher.abort();
    progress.finish();
    let report = report.map_err(|err| match err {
        RotationError::Storage(storage) => AppError::Storage(storage),
        RotationError::Seal(cause) => AppError::Usage(format!("re-encryption failed: {cause}")),
    })?;
    summarize(&report, &args.new_key_file)
}

async fn stop_on_ctrl_c(interrupted: Arc<AtomicBool>) {
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!("\ninterrupt received: stopping after the current batch");
        interrupted.store(true, Ordering::Relaxed);
    }
}

/// Prints the summary; an incomplete rotation is an error so scripts notice.
fn summarize(report: &RotationReport, new_key_file: &Path) -> Result<(), AppError> {
    let counts = report.progress;
    println!(
        "re-encrypted {} credential(s) under key version {} ({} to do at the start)",
        counts.resealed, report.target, counts.pending_at_start
    );
    for (id, reason) in &report.unreadable {
        println!("could not decrypt credential {id}: {reason}");
    }
    if report.is_complete() {
        println!(
            "rotation complete: every credential is encrypted under key version {}.\n\
             Now set vault.master_key_file = {} (or vault.master_key to its content), remove \
             vault.previous_master_key(_file), and restart keyward. Keep the old key as long \
             as you keep database backups made before this rotation.",
            report.target,
            new_key_file.display()
        );
        return Ok(());
    }
    let advice = if report.interrupted {
        "interrupted; run the same command again to resume"
    } else if report.unreadable.is_empty() {
        "credentials kept changing under an instance still encrypting with the old key; \
         switch the instances to the new key (with the old one as vault.previous_master_key) \
         and run the command again"
    } else {
        "some credentials are encrypted under a key that is not configured; add it as \
         vault.previous_master_key and run the command again. Do not retire the old key"
    };
    Err(AppError::Usage(format!(
        "rotation incomplete: {} credential(s) still under another key: {advice}",
        report.remaining
    )))
}

/// The progress counter on stderr: rewritten in place on a terminal, one line per
/// batch otherwise (logs, CI).
struct ProgressLine {
    terminal: bool,
    shown: bool,
}

impl ProgressLine {
    fn new(terminal: bool) -> Self {
        Self {
            terminal,
            shown: false,
        }
    }

    fn show(&mut self, counts: &RotationProgress) {
        let line = format!(
            "re-encrypted {}/{} credential(s){}",
            counts.resealed,
            counts.pending_at_start,
            if counts.unreadable > 0 {
                format!(", {} unreadable", counts.unreadable)
            } else {
                String::new()
            }
        );
        if self.terminal {
            eprint!("\r{line}");
        } else {
            eprintln!("{line}");
        }
        self.shown = true;
    }

    fn finish(&self) {
        if self.terminal && self.shown {
            eprintln!();
        }
    }
}
