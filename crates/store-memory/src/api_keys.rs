//! `ApiKeyRepository` in memory.

use std::collections::HashMap;

use async_trait::async_trait;
use keyward_domain::keys::{ApiKey, ApiKeyParts, KeyHash};
use keyward_domain::ports::{
    ActiveKeyCap, ApiKeyRepository, Change, KeyFilter, KeyWriteError, LastUseMoved, Page,
    PageRequest, StorageError, truncate_to_micros,
};
use keyward_domain::{CustomerId, KeyId};
use time::OffsetDateTime;

use crate::MemoryStore;

#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: HashMap<KeyId, ApiKey>,
}

impl Table {
    /// The key with `id`, of any customer.
    pub(crate) fn get(&self, id: KeyId) -> Option<&ApiKey> {
        self.rows.get(&id)
    }

    fn counted_except(&self, customer: CustomerId, except: KeyId, now: OffsetDateTime) -> usize {
        self.rows
            .values()
            .filter(|k| k.customer_id() == customer && k.id() != except)
            .filter(|k| k.counts_toward_cap(now))
            .count()
    }

    fn hash_taken(&self, hash: KeyHash, except: KeyId) -> bool {
        self.rows.values().any(|k| {
            k.id() != except && (k.hash() == hash || k.retired().is_some_and(|r| r.hash == hash))
        })
    }

    fn check_cap(&self, key: &ApiKey, cap: ActiveKeyCap) -> Result<(), KeyWriteError> {
        let others = self.counted_except(key.customer_id(), key.id(), cap.now);
        if key.counts_toward_cap(cap.now) && others >= cap.max as usize {
            return Err(KeyWriteError::LimitReached);
        }
        Ok(())
    }
}

#[async_trait]
impl ApiKeyRepository for MemoryStore {
    async fn insert(&self, key: &ApiKey, cap: ActiveKeyCap) -> Result<(), KeyWriteError> {
        let mut state = self.state();
        let table = &mut state.api_keys;
        if table.rows.contains_key(&key.id()) || table.hash_taken(key.hash(), key.id()) {
            return Err(StorageError::Conflict("key_hash").into());
        }
        table.check_cap(key, cap)?;
        table.rows.insert(key.id(), key.clone());
        state.changes.push(Change::Key {
            id: key.id(),
            version: Some(key.version()),
        });
        Ok(())
    }

    async fn get(&self, customer: CustomerId, id: KeyId) -> Result<Option<ApiKey>, StorageError> {
        Ok(self
            .state()
            .api_keys
            .rows
            .get(&id)
            .filter(|k| k.customer_id() == customer)
            .cloned())
    }

    async fn find_by_id(&self, id: KeyId) -> Result<Option<ApiKey>, StorageError> {
        Ok(self.state().api_keys.rows.get(&id).cloned())
    }

    async fn find_by_hash(&self, hash: KeyHash) -> Result<Option<ApiKey>, StorageError> {
        Ok(self
            .state()
            .api_keys
            .rows
            .values()
            .find(|k| k.hash() == hash || k.retired().is_some_and(|r| r.hash == hash))
            .cloned())
    }

    async fn list(
        &self,
        customer: CustomerId,
        filter: KeyFilter,
        page: PageRequest,
    ) -> Result<Page<ApiKey>, StorageError> {
        let state = self.state();
        let mut matching: Vec<&ApiKey> = state
            .api_keys
            .rows
            .values()
            .filter(|k| k.customer_id() == customer)
            .filter(|k| filter.active.is_none_or(|active| k.is_active() == active))
            .collect();
        matching.sort_by(|a, b| {
            (b.created_at(), b.id().as_uuid()).cmp(&(a.created_at(), a.id().as_uuid()))
        });
        let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        Ok(Page {
            total: matching.len() as u64,
            items: matching
                .into_iter()
                .skip(offset)
                .take(page.limit() as usize)
                .cloned()
                .collect(),
            request: page,
        })
    }

    async fn update(&self, key: &ApiKey, cap: Option<ActiveKeyCap>) -> Result<(), KeyWriteError> {
        let mut state = self.state();
        let table = &mut state.api_keys;
        let Some(stored) = table
            .rows
            .get(&key.id())
            .filter(|k| k.customer_id() == key.customer_id())
        else {
            return Err(KeyWriteError::NotFound);
        };
        // Compare-and-swap: the check and the write below happen under the one lock.
        if stored.version() != key.version() {
            return Err(KeyWriteError::Stale);
        }
        let kept = stored.parts().clone();
        if table.hash_taken(key.hash(), key.id()) {
            return Err(StorageError::Conflict("key_hash").into());
        }
        if let Some(cap) = cap {
            table.check_cap(key, cap)?;
        }
        let updated = ApiKey::from_parts(ApiKeyParts {
            created_at: kept.created_at,
            created_by: kept.created_by,
            last_used_at: kept.last_used_at,
            version: key.version().next(),
            ..key.parts().clone()
        });
        table.rows.insert(key.id(), updated);
        state.changes.push(Change::Key {
            id: key.id(),
            version: Some(key.version().next()),
        });
        Ok(())
    }

    async fn delete(&self, customer: CustomerId, id: KeyId) -> Result<bool, StorageError> {
        let mut state = self.state();
        let rows = &mut state.api_keys.rows;
        if rows.get(&id).is_some_and(|k| k.customer_id() == customer) {
            rows.remove(&id);
            state.usage.remove_key(id);
            state.alerts.remove_key(id);
            state.client_addresses.remove_key(id);
            state.changes.push(Change::Key { id, version: None });
            return Ok(true);
        }
        Ok(false)
    }

    async fn delete_expired_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<Vec<(CustomerId, KeyId)>, StorageError> {
        let mut state = self.state();
        let expired: Vec<(CustomerId, KeyId)> = state
            .api_keys
            .rows
            .values()
            .filter(|k| k.expires_at().is_some_and(|expiry| expiry < cutoff))
            .map(|k| (k.customer_id(), k.id()))
            .collect();
        for (_, id) in &expired {
            state.api_keys.rows.remove(id);
            state.usage.remove_key(*id);
            state.alerts.remove_key(*id);
            state.client_addresses.remove_key(*id);
            state.changes.push(Change::Key {
                id: *id,
                version: None,
            });
        }
        Ok(expired)
    }

    async fn record_last_used(
        &self,
        uses: &[(KeyId, OffsetDateTime)],
    ) -> Result<Vec<LastUseMoved>, StorageError> {
        let mut latest: HashMap<KeyId, OffsetDateTime> = HashMap::new();
        for (id, at) in uses {
            let at = truncate_to_micros(*at);
            latest
                .entry(*id)
                .and_modify(|seen| *seen = (*seen).max(at))
                .or_insert(at);
        }
        let mut state = self.state();
        let mut moved = Vec::new();
        for (id, at) in latest {
            if let Some(key) = state.api_keys.rows.get_mut(&id)
                && key.last_used_at().is_none_or(|seen| seen < at)
            {
                moved.push(LastUseMoved {
                    key: id,
                    at,
                    previous: key.last_used_at(),
                    created_at: key.created_at(),
                });
                let mut parts = key.clone().into_parts();
                parts.last_used_at = Some(at);
                *key = ApiKey::from_parts(parts);
            }
        }
        Ok(moved)
    }
}
