//! Where the customer API's HS256 secret comes from (SPEC §4): `auth.jwt_secret` when
//! set, otherwise the file `auth.jwt_secret_file`, created on first use with 32 random
//! bytes (hex) and mode 0600 so a fresh install works without any setup. `keyward serve`
//! and `keyward token` share this, so tokens minted locally are accepted.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use keyward_http::auth::{JwtSecret, JwtSettings};
use ring::rand::{SecureRandom, SystemRandom};

use crate::settings::{AuthSettings, SettingsError};

const SETTING_FILE: &str = "auth.jwt_secret_file";
/// HS256 wants at least as many secret bytes as the hash has.
const RECOMMENDED_MIN_BYTES: usize = 32;

/// The verifier settings, with the secret resolved (and its file created if needed).
///
/// # Errors
/// The secret file cannot be read or created, or it is empty.
pub fn resolve(auth: &AuthSettings) -> Result<JwtSettings, SettingsError> {
    let secret = match &auth.jwt_secret {
        Some(secret) => JwtSecret::new(secret.as_bytes().to_vec()),
        None => read_or_create(&auth.jwt_secret_file)?,
    };
    if secret.len() < RECOMMENDED_MIN_BYTES {
        tracing::warn!(
            bytes = secret.len(),
            "the JWT secret is shorter than {RECOMMENDED_MIN_BYTES} bytes; use a longer one"
        );
    }
    Ok(JwtSettings {
        secret,
        issuer: auth.issuer.clone(),
        audience: auth.audience.clone(),
        leeway_seconds: auth.leeway_seconds,
    })
}

fn invalid(path: &Path, what: impl std::fmt::Display) -> SettingsError {
    SettingsError::Invalid {
        setting: SETTING_FILE,
        message: format!("{}: {what}", path.display()),
    }
}

fn read_or_create(path: &Path) -> Result<JwtSecret, SettingsError> {
    match fs::read_to_string(path) {
        Ok(content) => secret_from_file(path, &content),
        Err(err) if err.kind() == ErrorKind::NotFound => create(path),
        Err(err) => Err(invalid(path, err)),
    }
}

fn secret_from_file(path: &Path, content: &str) -> Result<JwtSecret, SettingsError> {
    let secret = content.trim();
    if secret.is_empty() {
        return Err(invalid(path, "the file is empty"));
    }
    if let Ok(metadata) = fs::metadata(path)
        && metadata.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            "the JWT secret file is readable by other users; chmod 600 it"
        );
    }
    Ok(JwtSecret::new(secret.as_bytes().to_vec()))
}

fn create(path: &Path) -> Result<JwtSecret, SettingsError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|err| invalid(path, err))?;
    }
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| invalid(path, "the operating system's random source failed"))?;
    let secret = hex::encode(bytes);
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match file {
        Ok(mut file) => {
            writeln!(file, "{secret}").map_err(|err| invalid(path, err))?;
            tracing::info!(path = %path.display(), "created a new JWT secret file");
            Ok(JwtSecret::new(secret.into_bytes()))
        }
        // Another process created it first: use theirs.
        Err(err) if err.kind() == ErrorKind::AlreadyExists => {
            let content = fs::read_to_string(path).map_err(|err| invalid(path, err))?;
            secret_from_file(path, &content)
        }
        Err(err) => Err(invalid(path, err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(file: &Path) -> AuthSettings {
        AuthSettings {
            jwt_secret: None,
            jwt_secret_file: file.to_owned(),
            issuer: None,
            audience: None,
            leeway_seconds: 30,
            failed_per_minute: 60,
        }
    }

    #[test]
    fn missing_file_is_created_private_with_64_hex_characters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/jwt.secret");

        resolve(&auth(&path)).unwrap();

        let content = fs::read_to_string(&path).unwrap();
        assert_eq!(content.trim().len(), 64);
        assert!(content.trim().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn second_resolve_reads_the_same_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt.secret");
        let signer_secret = resolve(&auth(&path)).unwrap().secret;

        let verifier = keyward_http::auth::JwtVerifier::new(&resolve(&auth(&path)).unwrap());
        let token = keyward_http::auth::JwtSigner::new(&signer_secret)
            .sign(&keyward_http::auth::Claims {
                sub: "u".into(),
                exp: jsonwebtoken::get_current_timestamp() + 60,
                nbf: None,
                iat: None,
                active_context: None,
                permissions: vec![],
                iss: None,
                aud: None,
            })
            .unwrap();

        assert!(verifier.verify(&token).is_ok());
    }

    #[test]
    fn empty_file_is_an_error_naming_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt.secret");
        fs::write(&path, "\n").unwrap();

        let err = resolve(&auth(&path)).unwrap_err();

        assert!(
            err.to_string().starts_with("auth.jwt_secret_file: "),
            "{err}"
        );
    }

    #[test]
    fn configured_secret_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt.secret");
        let mut settings = auth(&path);
        settings.jwt_secret = Some("a configured secret of 32 bytes!".into());

        resolve(&settings).unwrap();

        assert!(!path.exists());
    }
}
