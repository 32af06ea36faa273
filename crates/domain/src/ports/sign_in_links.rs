//! The storage port for one-time dashboard sign-in links (SPEC §15: "a one-time link
//! printed by `keyward dashboard-link --customer <uuid>`").
//!
//! A link stands for a customer session that has not been handed out yet: who it is for
//! (customer, subject, permissions) and until when it may be redeemed. Only the SHA-256
//! of the link's token is stored, so reading the table gives no working link. Redeeming
//! is the one write that matters: it must succeed once, whichever of several keyward
//! instances on one database gets the request, so the store marks the link used in the
//! same statement that checks it is unused (ADR 0062).

use std::fmt;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::ids::CustomerId;
use crate::ports::storage::StorageError;

/// A link to store: everything a redeemed link hands back, and the hash it is found by.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSignInLink {
    /// SHA-256 of the whole token string (32 bytes); the primary key.
    pub token_hash: [u8; 32],
    pub customer_id: CustomerId,
    /// The user id the session acts as (a JWT `sub`): 1 to 255 characters, no U+0000.
    pub subject: String,
    /// Customer-API permission names granted to the session, in order; may be empty.
    /// Each without U+0000.
    pub permissions: Vec<String>,
    /// When the link was issued (UTC; stored to the microsecond).
    pub created_at: OffsetDateTime,
    /// The first instant at which the link no longer works (UTC; stored to the
    /// microsecond). After `created_at`.
    pub expires_at: OffsetDateTime,
}

/// The hash is not secret by itself, but is never printed either (house rule: no hashes
/// in logs).
impl fmt::Debug for NewSignInLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSignInLink")
            .field("customer_id", &self.customer_id)
            .field("subject", &self.subject)
            .field("permissions", &self.permissions)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What a link that was just redeemed grants: exactly what was stored with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeemedSignInLink {
    pub customer_id: CustomerId,
    pub subject: String,
    /// As stored, same order, duplicates kept; empty if stored empty.
    pub permissions: Vec<String>,
    /// When the link would have expired (UTC, to the microsecond); a session started from
    /// it may use this as an upper bound for its own lifetime.
    pub expires_at: OffsetDateTime,
}

/// One-time sign-in links, shared by every instance on the database. Links are never
/// updated except by [`redeem`](SignInLinkRepository::redeem), and deleted only by
/// [`delete_expired`](SignInLinkRepository::delete_expired).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SignInLinkRepository: Send + Sync + fmt::Debug {
    /// Stores a new, unused link.
    ///
    /// # Errors
    /// `Conflict("token_hash")` when a link with the same hash is stored already (used or
    /// not); nothing is changed then. `Unavailable`/`Other` on backend failure, or
    /// `Other` when a value breaks the limits documented on [`NewSignInLink`].
    async fn insert(&self, link: NewSignInLink) -> Result<(), StorageError>;

    /// Redeems the link stored under `token_hash`: if it exists, has not been redeemed
    /// and `expires_at > now`, marks it used (at `now`) and returns what it grants, all in
    /// one atomic step. Otherwise (unknown, used, expired — `expires_at <= now`) returns
    /// `None` and changes nothing. Of any number of concurrent calls for one link, on one
    /// instance or several sharing the database, exactly one gets `Some`.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure (the link may or may not have been used
    /// then: a lost answer cannot tell), `Other` when the stored row cannot be read back.
    async fn redeem(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<RedeemedSignInLink>, StorageError>;

    /// Deletes every link, used or not, whose `expires_at` is before `before` (strictly);
    /// returns how many.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure; nothing is deleted then.
    async fn delete_expired(&self, before: OffsetDateTime) -> Result<u64, StorageError>;
}
