//! Resolves the vault's master keys from configuration (`vault.master_key` or
//! `vault.master_key_file`, and optionally the previous key during a rotation) into the
//! cipher the vault uses. Every error names the setting, never the value.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use keyward_domain::vault::{AesGcmCipher, InvalidMasterKey, MasterKey};
use zeroize::Zeroizing;

use crate::settings::{SettingsError, VaultSettings};

/// The configured keys: the one that encrypts, and an older one that still decrypts.
#[derive(Debug)]
pub struct VaultKeys {
    pub current: MasterKey,
    pub previous: Option<MasterKey>,
}

impl VaultKeys {
    /// The cipher the service uses: seals under `current`, opens under both.
    pub fn cipher(&self) -> AesGcmCipher {
        let cipher = AesGcmCipher::new(self.current.clone());
        match &self.previous {
            Some(previous) => cipher.with_previous(previous.clone()),
            None => cipher,
        }
    }
}

/// `None` when no master key is configured (the vault is then off).
///
/// # Errors
/// Both forms of one key set; a previous key without a current one; a value or file
/// that is not 64 hex characters; a file that cannot be read.
pub fn resolve(vault: &VaultSettings) -> Result<Option<VaultKeys>, SettingsError> {
    let current = one_key(
        vault.master_key.as_deref(),
        vault.master_key_file.as_deref(),
        ("vault.master_key", "vault.master_key_file"),
    )?;
    let previous = one_key(
        vault.previous_master_key.as_deref(),
        vault.previous_master_key_file.as_deref(),
        (
            "vault.previous_master_key",
            "vault.previous_master_key_file",
        ),
    )?;
    match (current, previous) {
        (Some(current), previous) => Ok(Some(VaultKeys { current, previous })),
        (None, None) => Ok(None),
        (None, Some(_)) => Err(SettingsError::Invalid {
            setting: "vault.previous_master_key",
            message: "needs vault.master_key or vault.master_key_file as well".into(),
        }),
    }
}

fn one_key(
    inline: Option<&str>,
    file: Option<&Path>,
    (inline_setting, file_setting): (&'static str, &'static str),
) -> Result<Option<MasterKey>, SettingsError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(SettingsError::Invalid {
            setting: inline_setting,
            message: format!("set either {inline_setting} or {file_setting}, not both"),
        }),
        (Some(hex), None) => parse(hex)
            .map(Some)
            .map_err(|reason| SettingsError::Invalid {
                setting: inline_setting,
                message: reason.to_string(),
            }),
        (None, Some(path)) => {
            read_key_file(path)
                .map(Some)
                .map_err(|message| SettingsError::Invalid {
                    setting: file_setting,
                    message,
                })
        }
        (None, None) => Ok(None),
    }
}

fn parse(hex: &str) -> Result<MasterKey, InvalidMasterKey> {
    MasterKey::from_hex(hex)
}

/// Reads a key file (64 hex characters, surrounding white space ignored). The error
/// names the path and the problem, never the content.
///
/// # Errors
/// The file cannot be read, or does not hold a valid key.
pub fn read_key_file(path: &Path) -> Result<MasterKey, String> {
    let content = Zeroizing::new(
        fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?,
    );
    if let Ok(metadata) = fs::metadata(path)
        && metadata.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            "the vault key file is readable by other users; chmod 600 it"
        );
    }
    parse(&content).map_err(|reason| format!("{}: {reason}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn settings() -> VaultSettings {
        VaultSettings::default()
    }

    #[test]
    fn no_key_means_no_vault() {
        assert!(resolve(&settings()).unwrap().is_none());
    }

    #[test]
    fn inline_key_is_used() {
        let vault = VaultSettings {
            master_key: Some("ab".repeat(32)),
            ..settings()
        };

        let keys = resolve(&vault).unwrap().unwrap();

        assert_eq!(
            keys.current.version(),
            MasterKey::from_hex(&"ab".repeat(32)).unwrap().version()
        );
    }

    #[test]
    fn malformed_inline_key_names_the_setting_not_the_value() {
        let vault = VaultSettings {
            master_key: Some("not-hex-secret-value".into()),
            ..settings()
        };

        let err = resolve(&vault).unwrap_err().to_string();

        assert!(err.starts_with("vault.master_key: "), "{err}");
        assert!(!err.contains("not-hex-secret-value"), "{err}");
    }

    #[test]
    fn key_file_with_a_trailing_newline_is_read() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "{}", "cd".repeat(32)).unwrap();
        let vault = VaultSettings {
            master_key_file: Some(file.path().to_owned()),
            ..settings()
        };

        assert!(resolve(&vault).unwrap().is_some());
    }

    #[test]
    fn malformed_key_file_names_the_setting_and_the_path() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "too-short").unwrap();
        let vault = VaultSettings {
            master_key_file: Some(file.path().to_owned()),
            ..settings()
        };

        let err = resolve(&vault).unwrap_err().to_string();

        assert!(err.starts_with("vault.master_key_file: "), "{err}");
        assert!(err.contains(&file.path().display().to_string()), "{err}");
        assert!(!err.contains("too-short"), "{err}");
    }

    #[test]
    fn missing_key_file_is_reported() {
        let vault = VaultSettings {
            master_key_file: Some("/nonexistent/keyward/vault.key".into()),
            ..settings()
        };

        let err = resolve(&vault).unwrap_err().to_string();

        assert!(
            err.starts_with("vault.master_key_file: /nonexistent"),
            "{err}"
        );
    }

    #[test]
    fn both_forms_at_once_are_refused() {
        let vault = VaultSettings {
            master_key: Some("ab".repeat(32)),
            master_key_file: Some("data/vault.key".into()),
            ..settings()
        };

        let err = resolve(&vault).unwrap_err().to_string();

        assert_eq!(
            err,
            "vault.master_key: set either vault.master_key or vault.master_key_file, not both"
        );
    }

    #[test]
    fn previous_key_alone_is_refused() {
        let vault = VaultSettings {
            previous_master_key: Some("ab".repeat(32)),
            ..settings()
        };

        assert!(resolve(&vault).is_err());
    }

    #[test]
    fn previous_key_opens_but_never_seals() {
        let vault = VaultSettings {
            master_key: Some("02".repeat(32)),
            previous_master_key: Some("01".repeat(32)),
            ..settings()
        };

        let cipher = resolve(&vault).unwrap().unwrap().cipher();

        let current = MasterKey::from_hex(&"02".repeat(32)).unwrap().version();
        let previous = MasterKey::from_hex(&"01".repeat(32)).unwrap().version();
        assert_eq!(cipher.versions(), vec![current, previous]);
    }
}
