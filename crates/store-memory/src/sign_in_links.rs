//! `SignInLinkRepository` in memory: links by the hash of their token. A redeem checks
//! and marks a link under the store's one lock, so of concurrent redeemers only one finds
//! it unused — what the SQL stores get from one `UPDATE … WHERE used_at IS NULL`.

use std::collections::HashMap;

use async_trait::async_trait;
use keyward_domain::ports::{
    NewSignInLink, RedeemedSignInLink, SignInLinkRepository, StorageError, truncate_to_micros,
};
use time::{OffsetDateTime, UtcOffset};

use crate::MemoryStore;

/// The rule a clashing hash is reported as, as the SQL stores' primary key does.
const HASH_RULE: &str = "token_hash";

#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: HashMap<[u8; 32], Row>,
}

#[derive(Debug)]
struct Row {
    link: NewSignInLink,
    used_at: Option<OffsetDateTime>,
}

/// As the SQL stores keep it: UTC, to the microsecond.
fn stored(at: OffsetDateTime) -> OffsetDateTime {
    truncate_to_micros(at).to_offset(UtcOffset::UTC)
}

#[async_trait]
impl SignInLinkRepository for MemoryStore {
    async fn insert(&self, link: NewSignInLink) -> Result<(), StorageError> {
        let mut state = self.state();
        if state.sign_in_links.rows.contains_key(&link.token_hash) {
            return Err(StorageError::Conflict(HASH_RULE));
        }
        let link = NewSignInLink {
            created_at: stored(link.created_at),
            expires_at: stored(link.expires_at),
            ..link
        };
        state.sign_in_links.rows.insert(
            link.token_hash,
            Row {
                link,
                used_at: None,
            },
        );
        Ok(())
    }

    async fn redeem(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<RedeemedSignInLink>, StorageError> {
        let now = stored(now);
        let mut state = self.state();
        let Some(row) = state
            .sign_in_links
            .rows
            .get_mut(token_hash)
            .filter(|row| row.used_at.is_none() && row.link.expires_at > now)
        else {
            return Ok(None);
        };
        row.used_at = Some(now);
        Ok(Some(RedeemedSignInLink {
            customer_id: row.link.customer_id,
            subject: row.link.subject.clone(),
            permissions: row.link.permissions.clone(),
            expires_at: row.link.expires_at,
        }))
    }

    async fn delete_expired(&self, before: OffsetDateTime) -> Result<u64, StorageError> {
        let before = stored(before);
        let mut state = self.state();
        let rows = &mut state.sign_in_links.rows;
        let count = rows.len();
        rows.retain(|_, row| row.link.expires_at >= before);
        Ok((count - rows.len()) as u64)
    }
}
