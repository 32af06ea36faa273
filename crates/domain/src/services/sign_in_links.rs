//! `SignInLinkService`: one-time sign-in links for the customer dashboard (SPEC §15),
//! issued by `keyward dashboard-link` and redeemed by the dashboard's `/dashboard/link`.
//!
//! A link's token is `kwl_` and 43 base62 characters (32 CSPRNG bytes, the body of an
//! API key): URL-safe as it is, and told apart from an API key (`<prefix>_…`, 49
//! characters after the `_`) at a glance. Only its SHA-256 is stored. Redeeming hashes the
//! presented token and lets the store mark the link used in the same statement that
//! checks it (ADR 0062), so a link works once even with several instances on one
//! database; a token that is not of that shape is refused without a lookup.

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::audit::MAX_ACTOR_ID_CHARS;
use crate::ids::CustomerId;
use crate::keys::secret::{BODY_LEN, base62_encode};
use crate::ports::{
    Clock, NewSignInLink, RandomUnavailable, RedeemedSignInLink, SecretGenerator,
    SignInLinkRepository, StorageError,
};

/// What every sign-in token starts with.
pub const SIGN_IN_TOKEN_PREFIX: &str = "kwl_";

/// Length of a sign-in token in bytes (all ASCII): the prefix and 43 base62 characters.
pub const SIGN_IN_TOKEN_LEN: usize = SIGN_IN_TOKEN_PREFIX.len() + BODY_LEN;

/// Shortest lifetime of a link: one second.
pub const MIN_SIGN_IN_LINK_TTL: Duration = Duration::SECOND;

/// Longest lifetime of a link: 24 hours. A link is a bearer credential in a terminal's
/// scroll-back or a chat message; it is meant to be used right away.
pub const MAX_SIGN_IN_LINK_TTL: Duration = Duration::DAY;

/// Lifetime of a link when the caller has no opinion: ten minutes.
pub const DEFAULT_SIGN_IN_LINK_TTL: Duration = Duration::minutes(10);

/// Longest subject, in characters: what the audit trail keeps of an actor id, since the
/// session acts as that subject.
pub const MAX_SIGN_IN_SUBJECT_CHARS: usize = MAX_ACTOR_ID_CHARS;

/// A sign-in token, shown once to whoever asked for the link. Its `Debug` shows only the
/// prefix; the string is wiped from memory when dropped.
#[derive(Clone)]
pub struct SignInToken(Zeroizing<String>);

impl SignInToken {
    /// The whole token. Call only to hand the link to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SignInToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignInToken({SIGN_IN_TOKEN_PREFIX}…)")
    }
}

/// A link just issued: its token (shown once) and when it stops working.
#[derive(Debug, Clone)]
pub struct IssuedSignInLink {
    pub token: SignInToken,
    /// The first instant at which the link no longer works (UTC, microseconds).
    pub expires_at: OffsetDateTime,
}

/// Why a link was not issued.
#[derive(Debug, thiserror::Error)]
pub enum SignInLinkError {
    #[error("a sign-in link lives between 1 second and 24 hours (86400 seconds)")]
    InvalidTtl,
    #[error("the subject must be 1 to {MAX_SIGN_IN_SUBJECT_CHARS} characters, without U+0000")]
    InvalidSubject,
    #[error("a permission name must not be empty or contain U+0000")]
    InvalidPermission,
    #[error(transparent)]
    Random(#[from] RandomUnavailable),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Issues and redeems one-time sign-in links. Cheap to clone.
#[derive(Clone)]
pub struct SignInLinkService {
    repo: Arc<dyn SignInLinkRepository>,
    clock: Arc<dyn Clock>,
    secrets: Arc<dyn SecretGenerator>,
}

impl fmt::Debug for SignInLinkService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignInLinkService")
            .field("repo", &self.repo)
            .finish_non_exhaustive()
    }
}

/// SHA-256 of the whole token string, as stored.
fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `token` has the shape of a sign-in token: the prefix, then exactly
/// [`BODY_LEN`] ASCII letters or digits.
fn is_well_formed(token: &str) -> bool {
    token
        .strip_prefix(SIGN_IN_TOKEN_PREFIX)
        .is_some_and(|body| {
            body.len() == BODY_LEN && body.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

impl SignInLinkService {
    pub fn new(
        repo: Arc<dyn SignInLinkRepository>,
        clock: Arc<dyn Clock>,
        secrets: Arc<dyn SecretGenerator>,
    ) -> Self {
        Self {
            repo,
            clock,
            secrets,
        }
    }

    /// Issues a link for `customer`'s dashboard acting as `subject` with `permissions`
    /// (stored as given; the caller checks the names), valid for `ttl` from now, once.
    /// Stores only the token's SHA-256.
    ///
    /// # Errors
    /// `InvalidTtl` unless 1 s ≤ `ttl` ≤ 24 h; `InvalidSubject` for an empty subject, one
    /// longer than [`MAX_SIGN_IN_SUBJECT_CHARS`] characters or holding U+0000;
    /// `InvalidPermission` for an empty name or one holding U+0000 (nothing is stored in
    /// these cases); `Random` when the OS has no randomness; `Storage` when the link
    /// cannot be stored.
    pub async fn issue(
        &self,
        customer: CustomerId,
        subject: &str,
        permissions: Vec<String>,
        ttl: Duration,
    ) -> Result<IssuedSignInLink, SignInLinkError> {
        if ttl < MIN_SIGN_IN_LINK_TTL || ttl > MAX_SIGN_IN_LINK_TTL {
            return Err(SignInLinkError::InvalidTtl);
        }
        let subject_chars = subject.chars().count();
        if subject_chars == 0 || subject_chars > MAX_SIGN_IN_SUBJECT_CHARS || subject.contains('\0')
        {
            return Err(SignInLinkError::InvalidSubject);
        }
        if permissions
            .iter()
            .any(|name| name.is_empty() || name.contains('\0'))
        {
            return Err(SignInLinkError::InvalidPermission);
        }
        let random = Zeroizing::new(self.secrets.secret_bytes()?);
        let body = Zeroizing::new(base62_encode(&*random, BODY_LEN));
        let mut token = Zeroizing::new(String::with_capacity(SIGN_IN_TOKEN_LEN));
        token.push_str(SIGN_IN_TOKEN_PREFIX);
        token.push_str(&body);
        let created_at = self.clock.now();
        let expires_at = created_at + ttl;
        self.repo
            .insert(NewSignInLink {
                token_hash: token_hash(&token),
                customer_id: customer,
                subject: subject.to_owned(),
                permissions,
                created_at,
                expires_at,
            })
            .await?;
        Ok(IssuedSignInLink {
            token: SignInToken(token),
            expires_at,
        })
    }

    /// Redeems a presented token: what the link grants if it exists, is unused and has not
    /// expired (it is used up by this call), else `None`. A token not of the shape
    /// `kwl_` + 43 base62 characters is `None` without a lookup.
    ///
    /// # Errors
    /// The store's error ([`SignInLinkRepository::redeem`]).
    pub async fn redeem(&self, token: &str) -> Result<Option<RedeemedSignInLink>, StorageError> {
        if !is_well_formed(token) {
            return Ok(None);
        }
        self.repo.redeem(&token_hash(token), self.clock.now()).await
    }

    /// Deletes the links (used or not) that expired more than `older_than` ago; returns
    /// how many.
    ///
    /// # Errors
    /// The store's error ([`SignInLinkRepository::delete_expired`]).
    pub async fn delete_expired(&self, older_than: Duration) -> Result<u64, StorageError> {
        self.repo
            .delete_expired(self.clock.now() - older_than)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_tokens_are_the_prefix_and_43_base62_characters() {
        let body = "a".repeat(BODY_LEN);
        assert!(is_well_formed(&format!("kwl_{body}")));
        assert!(!is_well_formed(&format!("kw_{body}")));
        assert!(!is_well_formed(&format!("kwl_{body}a")));
        assert!(!is_well_formed(&format!("kwl_{}", &body[1..])));
        assert!(!is_well_formed(&format!("kwl_{}-", &body[1..])));
        assert!(!is_well_formed(&format!("kwl_{}é", &body[2..])));
        assert!(!is_well_formed(""));
    }
}
