//! JWTs of the customer API (SPEC §4): HS256 only, `exp` required, `iss`/`aud` checked
//! when configured. The signer lives here too so `keyward token` and the tests mint
//! exactly the claims the verifier reads.

use std::fmt;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Clock skew tolerated on `exp`, in seconds.
pub const LEEWAY_SECONDS: u64 = 30;

/// The shared HS256 secret. Never printed.
#[derive(Clone)]
pub struct JwtSecret(Vec<u8>);

impl JwtSecret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret(<redacted>)")
    }
}

/// What the verifier checks besides the signature.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub secret: JwtSecret,
    /// `auth.issuer`: when set, `iss` must be present and equal.
    pub issuer: Option<String>,
    /// `auth.audience`: when set, `aud` must be present and contain it.
    pub audience: Option<String>,
}

/// The `activeContext` claim: on whose behalf the caller acts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveContext {
    /// `customer` or `admin`; anything else grants nothing.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Uuid,
}

impl ActiveContext {
    pub const CUSTOMER: &'static str = "customer";
    pub const ADMIN: &'static str = "admin";

    pub fn customer(id: Uuid) -> Self {
        Self {
            kind: Self::CUSTOMER.to_owned(),
            id,
        }
    }

    pub fn admin(id: Uuid) -> Self {
        Self {
            kind: Self::ADMIN.to_owned(),
            id,
        }
    }
}

/// `aud` may be one string or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The claims keyward reads (and `keyward token` writes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(
        rename = "activeContext",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub active_context: Option<ActiveContext>,
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
}

/// Why a token was refused. The variants only choose the wording of the 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejected {
    #[error("token expired")]
    Expired,
    #[error("token invalid")]
    Invalid,
}

/// Verifies bearer tokens.
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("issuer", &self.validation.iss)
            .field("audience", &self.validation.aud)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    pub fn new(settings: &JwtSettings) -> Self {
        // `Validation::new` pins the accepted algorithms to exactly this one, so a token
        // whose header says `none`, `HS512` or `RS256` is refused before any other check.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        let mut required = vec!["exp"];
        if let Some(issuer) = &settings.issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        if let Some(audience) = &settings.audience {
            validation.set_audience(&[audience]);
            required.push("aud");
        } else {
            // Without a configured audience an `aud` claim cannot be checked; the
            // library would otherwise refuse every token that carries one.
            validation.validate_aud = false;
        }
        validation.set_required_spec_claims(&required);
        Self {
            key: DecodingKey::from_secret(&settings.secret.0),
            validation,
        }
    }

    /// # Errors
    /// `Expired` when `exp` has passed; `Invalid` for anything else wrong with the token.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenRejected> {
        jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => TokenRejected::Expired,
                _ => TokenRejected::Invalid,
            })
    }
}

/// Signs tokens with the same secret (development tokens and tests).
pub struct JwtSigner {
    key: EncodingKey,
}

impl fmt::Debug for JwtSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSigner(<redacted>)")
    }
}

/// Signing failed (the claims could not be serialised).
#[derive(Debug, thiserror::Error)]
#[error("could not sign the token")]
pub struct SignError(#[source] jsonwebtoken::errors::Error);

impl JwtSigner {
    pub fn new(secret: &JwtSecret) -> Self {
        Self {
            key: EncodingKey::from_secret(&secret.0),
        }
    }

    /// # Errors
    /// `SignError` if the claims cannot be encoded.
    pub fn sign(&self, claims: &Claims) -> Result<String, SignError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.key).map_err(SignError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> JwtSettings {
        JwtSettings {
            secret: JwtSecret::new(b"0123456789abcdef0123456789abcdef".to_vec()),
            issuer: None,
            audience: None,
        }
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    fn claims(exp: u64) -> Claims {
        Claims {
            sub: "user-1".into(),
            exp,
            iat: Some(now()),
            active_context: Some(ActiveContext::customer(Uuid::nil())),
            permissions: vec!["api_keys:read".into()],
            iss: None,
            aud: None,
        }
    }

    #[test]
    fn signed_token_verifies_to_the_same_claims() {
        let settings = settings();
        let original = claims(now() + 60);

        let token = JwtSigner::new(&settings.secret).sign(&original).unwrap();

        assert_eq!(JwtVerifier::new(&settings).verify(&token), Ok(original));
    }

    #[test]
    fn expired_token_is_refused_as_expired() {
        let settings = settings();
        let token = JwtSigner::new(&settings.secret)
            .sign(&claims(now() - 3600))
            .unwrap();

        assert_eq!(
            JwtVerifier::new(&settings).verify(&token),
            Err(TokenRejected::Expired)
        );
    }

    #[test]
    fn token_signed_with_another_secret_is_invalid() {
        let token = JwtSigner::new(&JwtSecret::new(
            b"another secret, 32 bytes long!!!".to_vec(),
        ))
        .sign(&claims(now() + 60))
        .unwrap();

        assert_eq!(
            JwtVerifier::new(&settings()).verify(&token),
            Err(TokenRejected::Invalid)
        );
    }

    #[test]
    fn other_hmac_algorithm_with_the_right_secret_is_invalid() {
        let settings = settings();
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims(now() + 60),
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();

        assert_eq!(
            JwtVerifier::new(&settings).verify(&token),
            Err(TokenRejected::Invalid)
        );
    }

    #[test]
    fn configured_issuer_and_audience_are_required() {
        let mut settings = settings();
        settings.issuer = Some("https://id.example".into());
        settings.audience = Some("keyward".into());
        let signer = JwtSigner::new(&settings.secret);
        let verifier = JwtVerifier::new(&settings);
        let mut good = claims(now() + 60);
        good.iss = Some("https://id.example".into());
        good.aud = Some(Audience::Many(vec!["other".into(), "keyward".into()]));

        let missing = signer.sign(&claims(now() + 60)).unwrap();
        let wrong_issuer = signer
            .sign(&Claims {
                iss: Some("https://evil.example".into()),
                ..good.clone()
            })
            .unwrap();

        assert_eq!(
            verifier.verify(&signer.sign(&good).unwrap()),
            Ok(good.clone())
        );
        assert_eq!(verifier.verify(&missing), Err(TokenRejected::Invalid));
        assert_eq!(verifier.verify(&wrong_issuer), Err(TokenRejected::Invalid));
    }

    #[test]
    fn secrets_are_not_printed() {
        let settings = settings();

        assert!(!format!("{settings:?}").contains("0123456789abcdef"));
        assert!(!format!("{:?}", JwtSigner::new(&settings.secret)).contains("0123"));
    }
}
