//! Query fragments used by more than one `ApiKeyRepository` method. Built once with
//! `#[auto_type]`, they carry no backend and run on either connection.

use diesel::dsl::auto_type;
use diesel::prelude::*;

use crate::schema::api_keys;
use crate::types::{DbInstant, DbUuid};

/// The customer's key `id`, if it is theirs.
#[auto_type]
pub(crate) fn owned_key(customer: DbUuid, id: DbUuid) -> _ {
    api_keys::table
        .filter(api_keys::id.eq(id))
        .filter(api_keys::customer_id.eq(customer))
}

/// How many of the customer's keys, other than `except`, count toward the cap at `now`
/// (active, and not expired: a key is valid strictly before `expires_at`).
#[auto_type]
pub(crate) fn counted_keys(customer: DbUuid, except: DbUuid, now: DbInstant) -> _ {
    api_keys::table
        .filter(api_keys::customer_id.eq(customer))
        .filter(api_keys::id.ne(except))
        .filter(api_keys::active)
        .filter(
            api_keys::expires_at
                .is_null()
                .or(api_keys::expires_at.gt(now)),
        )
        .count()
}

/// Ids of keys other than `except` whose current or retired secret hashes to one of
/// `hashes`. Storing `except` with those hashes would make `find_by_hash` ambiguous; the
/// unique constraints catch a clash within one column, this also catches a new key's
/// hash that equals another key's retired one.
#[auto_type]
pub(crate) fn identity_clashes(except: DbUuid, hashes: Vec<String>) -> _ {
    let current: Vec<String> = hashes.clone();
    api_keys::table
        .filter(api_keys::id.ne(except))
        .filter(
            api_keys::key_hash
                .eq_any(current)
                .or(api_keys::retired_key_hash.eq_any(hashes)),
        )
        .select(api_keys::id)
}
