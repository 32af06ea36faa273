//! JWTs of the customer API (SPEC §4): HS256 only, `exp` required, `nbf` honoured,
//! `iss`/`aud` checked when configured. The signer lives here too so `keyward token` and
//! the tests mint exactly the claims the verifier reads.
//!
//! `exp`, `nbf` and `iat` are NumericDates (RFC 7519 §2): any JSON number of seconds,
//! fractional ones included (several identity services write `1795976755.5`). The
//! `jsonwebtoken` crate only reads whole numbers, so it checks the signature, the
//! algorithm, `iss` and `aud`, and the dates are checked here.

use std::fmt;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Default clock skew tolerated on `exp` and `nbf`, in seconds (`auth.leeway_seconds`).
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

    /// The secret's bytes, for keys derived from it (the dashboard's CSRF key).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
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
    /// `auth.leeway_seconds`: clock skew tolerated on `exp` and `nbf`.
    pub leeway_seconds: u64,
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

/// The claims keyward reads (and `keyward token` writes). Dates are whole seconds since
/// the Unix epoch: a fractional NumericDate is read rounded down (a date before 1970 as
/// 0), and written as an integer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// Expiration time (RFC 7519 §4.1.4); required.
    #[serde(deserialize_with = "numeric_date")]
    pub exp: u64,
    /// Not before (RFC 7519 §4.1.5).
    #[serde(
        default,
        deserialize_with = "optional_numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<u64>,
    /// Issued at (RFC 7519 §4.1.6); informational.
    #[serde(
        default,
        deserialize_with = "optional_numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
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

/// A NumericDate (RFC 7519 §2) as whole seconds: an integer, or a finite fraction
/// rounded down; one before the epoch is 0.
fn numeric_date<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    struct NumericDate;

    impl serde::de::Visitor<'_> for NumericDate {
        type Value = u64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a NumericDate (a number of seconds since 1970-01-01T00:00:00Z)")
        }

        fn visit_u64<E>(self, seconds: u64) -> Result<u64, E> {
            Ok(seconds)
        }

        fn visit_i64<E>(self, seconds: i64) -> Result<u64, E> {
            Ok(u64::try_from(seconds).unwrap_or(0))
        }

        fn visit_f64<E: serde::de::Error>(self, seconds: f64) -> Result<u64, E> {
            if !seconds.is_finite() {
                return Err(E::custom("a NumericDate must be a finite number"));
            }
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "floor of a finite number; `as` saturates at 0 and u64::MAX"
            )]
            let whole = seconds.floor() as u64;
            Ok(whole)
        }
    }

    deserializer.deserialize_any(NumericDate)
}

/// An optional NumericDate: absent (by `#[serde(default)]`) or `null` is `None`.
fn optional_numeric_date<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    /// A NumericDate as a type, so `Option` can wrap it.
    struct Date(u64);

    impl<'de> Deserialize<'de> for Date {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            numeric_date(deserializer).map(Date)
        }
    }

    Ok(Option::<Date>::deserialize(deserializer)?.map(|Date(seconds)| seconds))
}

/// Why a token was refused. `Expired` and `NotYetValid` choose the wording of the 401;
/// `Invalid` says why for the debug log (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejected {
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("token invalid: {0}")]
    Invalid(String),
}

impl From<jsonwebtoken::errors::Error> for TokenRejected {
    fn from(err: jsonwebtoken::errors::Error) -> Self {
        let reason = match err.kind() {
            ErrorKind::InvalidToken => "not a JWT (three base64url parts)".to_owned(),
            ErrorKind::InvalidSignature => "signature does not match auth.jwt_secret".to_owned(),
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                "algorithm is not HS256".to_owned()
            }
            ErrorKind::MissingRequiredClaim(claim) => format!("claim `{claim}` is missing"),
            ErrorKind::InvalidIssuer => "`iss` is not auth.issuer".to_owned(),
            ErrorKind::InvalidAudience => "`aud` does not name auth.audience".to_owned(),
            ErrorKind::Base64(_) => "a part is not base64url".to_owned(),
            ErrorKind::Utf8(_) => "header or claims are not UTF-8".to_owned(),
            // Only serde's category and position: its message can quote the header or
            // a claim, which is client text (and the header is read before the
            // signature is checked).
            ErrorKind::Json(inner) => format!(
                "header or claims do not have the expected shape ({:?} error at column {})",
                inner.classify(),
                inner.column()
            ),
            other => format!("{other:?}"),
        };
        Self::Invalid(reason)
    }
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
        // The library reads dates as whole numbers only; `verify` checks them instead,
        // and `exp` is required by `Claims` itself.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = settings.leeway_seconds;
        let mut required = Vec::new();
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

    /// Verifies `token` at the current time. Every refusal is logged at debug with its
    /// reason (never the token).
    ///
    /// # Errors
    /// `Expired` when `exp` is more than the leeway in the past, `NotYetValid` when `nbf`
    /// is more than the leeway in the future, `Invalid` for anything else.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenRejected> {
        self.verify_at(token, jsonwebtoken::get_current_timestamp())
            .inspect_err(|rejected| tracing::debug!(reason = %rejected, "bearer token refused"))
    }

    /// [`Self::verify`] at `now` (seconds since the epoch).
    fn verify_at(&self, token: &str, now: u64) -> Result<Claims, TokenRejected> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)?.claims;
        let leeway = self.validation.leeway;
        if claims.exp.saturating_add(leeway) < now {
            return Err(TokenRejected::Expired);
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(leeway))
        {
            return Err(TokenRejected::NotYetValid);
        }
        Ok(claims)
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
            leeway_seconds: LEEWAY_SECONDS,
        }
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    fn claims(exp: u64) -> Claims {
        Claims {
            sub: "user-1".into(),
            exp,
            nbf: None,
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

        assert!(matches!(
            JwtVerifier::new(&settings()).verify(&token),
            Err(TokenRejected::Invalid(_))
        ));
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

        assert!(matches!(
            JwtVerifier::new(&settings).verify(&token),
            Err(TokenRejected::Invalid(_))
        ));
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
        assert!(matches!(
            verifier.verify(&missing),
            Err(TokenRejected::Invalid(_))
        ));
        assert!(matches!(
            verifier.verify(&wrong_issuer),
            Err(TokenRejected::Invalid(_))
        ));
    }

    #[test]
    fn secrets_are_not_printed() {
        let settings = settings();

        assert!(!format!("{settings:?}").contains("0123456789abcdef"));
        assert!(!format!("{:?}", JwtSigner::new(&settings.secret)).contains("0123"));
    }

    /// Signs raw claims (dates written the way a foreign identity service may).
    fn sign_json(claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap()
    }

    #[test]
    fn fractional_numeric_dates_are_accepted() {
        let verifier = JwtVerifier::new(&settings());
        // 2100-01-01T00:00:00Z, written as RFC 7519 allows.
        let later = 4_102_444_800;
        for exp in [
            serde_json::json!(4_102_444_800.5),
            serde_json::json!(4_102_444_800.0),
        ] {
            let token = sign_json(&serde_json::json!({
                "sub": "user-1", "exp": exp, "iat": 1_795_976_755.25, "nbf": 1.5,
            }));

            let claims = verifier.verify(&token).unwrap();

            assert_eq!(
                (claims.exp, claims.iat, claims.nbf),
                (later, Some(1_795_976_755), Some(1))
            );
        }
    }

    #[test]
    fn nbf_beyond_the_leeway_is_not_yet_valid() {
        let verifier = JwtVerifier::new(&settings());
        let at = |nbf: u64| {
            verifier.verify_at(
                &sign_json(&serde_json::json!({"sub": "u", "exp": 10_000, "nbf": nbf})),
                1_000,
            )
        };

        assert_eq!(at(1_031).unwrap_err(), TokenRejected::NotYetValid);
        assert!(at(1_030).is_ok(), "inside the 30 s leeway");
        assert!(at(999).is_ok());
    }

    #[test]
    fn exp_is_judged_with_the_configured_leeway() {
        let mut strict = settings();
        strict.leeway_seconds = 0;
        let token = sign_json(&serde_json::json!({"sub": "u", "exp": 1_000}));

        assert_eq!(
            JwtVerifier::new(&strict).verify_at(&token, 1_001),
            Err(TokenRejected::Expired)
        );
        assert!(
            JwtVerifier::new(&settings())
                .verify_at(&token, 1_030)
                .is_ok()
        );
        assert_eq!(
            JwtVerifier::new(&settings()).verify_at(&token, 1_031),
            Err(TokenRejected::Expired)
        );
    }

    #[test]
    fn dates_that_are_not_numbers_and_a_missing_exp_are_invalid_with_a_reason() {
        let verifier = JwtVerifier::new(&settings());

        let text = verifier.verify(&sign_json(&serde_json::json!({"sub": "u", "exp": "soon"})));
        let missing = verifier.verify(&sign_json(&serde_json::json!({"sub": "u"})));

        let Err(TokenRejected::Invalid(text)) = text else {
            panic!("{text:?}");
        };
        let Err(TokenRejected::Invalid(missing)) = missing else {
            panic!("{missing:?}");
        };
        assert!(text.contains("Data error"), "{text}");
        assert!(missing.contains("Data error"), "{missing}");
    }

    #[test]
    fn null_optional_dates_are_absent() {
        let token = sign_json(
            &serde_json::json!({"sub": "u", "exp": 4_102_444_800_u64, "nbf": null, "iat": null}),
        );

        let claims = JwtVerifier::new(&settings()).verify(&token).unwrap();

        assert_eq!((claims.nbf, claims.iat), (None, None));
    }

    #[test]
    fn a_shape_error_is_described_without_quoting_the_token() {
        let token = sign_json(
            &serde_json::json!({"sub": "u", "exp": 4_102_444_800_u64, "permissions": "not-a-list\nforged line"}),
        );

        let Err(TokenRejected::Invalid(reason)) = JwtVerifier::new(&settings()).verify(&token)
        else {
            panic!("a string is not a list of permissions");
        };

        assert!(reason.contains("Data error at column"), "{reason}");
        assert!(!reason.contains("not-a-list"), "{reason}");
    }
}
