//! `CredentialRepository` in memory.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use async_trait::async_trait;
use keyward_domain::ports::{
    CredentialFilter, CredentialRepository, Page, PageRequest, SecretWrite, StorageError,
};
use keyward_domain::vault::{
    CredentialOwner, CredentialParts, KeyVersion, Provider, SealedSecret, ServiceCredential,
};
use keyward_domain::{CredentialId, CustomerId};
use time::OffsetDateTime;

use crate::MemoryStore;

/// Rows keyed by id; a `BTreeMap` so rotation can walk them in id order.
#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: BTreeMap<CredentialId, ServiceCredential>,
}

impl Table {
    fn owned(&self, owner: CredentialOwner) -> impl Iterator<Item = &ServiceCredential> {
        self.rows.values().filter(move |c| c.owner() == owner)
    }

    fn get_owned(&self, owner: CredentialOwner, id: CredentialId) -> Option<&ServiceCredential> {
        self.rows.get(&id).filter(|c| c.owner() == owner)
    }

    fn replace(&mut self, id: CredentialId, change: impl FnOnce(&mut CredentialParts)) {
        if let Some(row) = self.rows.get_mut(&id) {
            let mut parts = row.clone().into_parts();
            change(&mut parts);
            *row = ServiceCredential::from_parts(parts);
        }
    }
}

/// Most recently updated first, then greater id first.
fn recency(credential: &ServiceCredential) -> Reverse<(OffsetDateTime, CredentialId)> {
    Reverse((credential.updated_at(), credential.id()))
}

#[async_trait]
impl CredentialRepository for MemoryStore {
    async fn insert(&self, credential: &ServiceCredential) -> Result<(), StorageError> {
        let mut state = self.state();
        let table = &mut state.credentials;
        if table.rows.contains_key(&credential.id()) {
            return Err(StorageError::Conflict("id"));
        }
        if let CredentialOwner::Customer(_) = credential.owner()
            && table
                .owned(credential.owner())
                .any(|c| c.provider() == credential.provider())
        {
            return Err(StorageError::Conflict("provider"));
        }
        table.rows.insert(credential.id(), credential.clone());
        Ok(())
    }

    async fn get(
        &self,
        owner: CredentialOwner,
        id: CredentialId,
    ) -> Result<Option<ServiceCredential>, StorageError> {
        Ok(self.state().credentials.get_owned(owner, id).cloned())
    }

    async fn get_customer_credential(
        &self,
        customer: CustomerId,
        provider: &Provider,
    ) -> Result<Option<ServiceCredential>, StorageError> {
        Ok(self
            .state()
            .credentials
            .owned(CredentialOwner::Customer(customer))
            .find(|c| c.provider() == provider)
            .cloned())
    }

    async fn find_active(
        &self,
        owner: CredentialOwner,
        provider: &Provider,
    ) -> Result<Option<ServiceCredential>, StorageError> {
        Ok(self
            .state()
            .credentials
            .owned(owner)
            .filter(|c| c.provider() == provider && c.is_active())
            .min_by_key(|c| recency(c))
            .cloned())
    }

    async fn list(
        &self,
        owner: CredentialOwner,
        filter: &CredentialFilter,
        page: PageRequest,
    ) -> Result<Page<ServiceCredential>, StorageError> {
        let state = self.state();
        let mut matching: Vec<&ServiceCredential> = state
            .credentials
            .owned(owner)
            .filter(|c| filter.provider.as_ref().is_none_or(|p| c.provider() == p))
            .filter(|c| filter.active.is_none_or(|active| c.is_active() == active))
            .collect();
        matching.sort_by_key(|c| (c.provider().clone(), recency(c)));
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

    async fn update(
        &self,
        credential: &ServiceCredential,
        secret: SecretWrite,
    ) -> Result<bool, StorageError> {
        let mut state = self.state();
        let table = &mut state.credentials;
        if table
            .get_owned(credential.owner(), credential.id())
            .is_none()
        {
            return Ok(false);
        }
        let new = credential.parts().clone();
        table.replace(credential.id(), |stored| {
            stored.name = new.name;
            stored.description = new.description;
            stored.active = new.active;
            stored.updated_at = new.updated_at;
            if secret == SecretWrite::Replace {
                stored.sealed = new.sealed;
                stored.masked_secret = new.masked_secret;
            }
        });
        Ok(true)
    }

    async fn delete(&self, owner: CredentialOwner, id: CredentialId) -> Result<bool, StorageError> {
        let mut state = self.state();
        let table = &mut state.credentials;
        if table.get_owned(owner, id).is_none() {
            return Ok(false);
        }
        table.rows.remove(&id);
        Ok(true)
    }

    async fn record_last_used(
        &self,
        id: CredentialId,
        at: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let mut state = self.state();
        let table = &mut state.credentials;
        let moves = table
            .rows
            .get(&id)
            .is_some_and(|c| c.last_used_at().is_none_or(|seen| seen < at));
        if moves {
            table.replace(id, |stored| stored.last_used_at = Some(at));
        }
        Ok(moves)
    }

    async fn list_sealed_under_other_versions(
        &self,
        target: KeyVersion,
        after: Option<CredentialId>,
        limit: u32,
    ) -> Result<Vec<ServiceCredential>, StorageError> {
        let state = self.state();
        let rows = &state.credentials.rows;
        let from = match after {
            Some(after) => {
                rows.range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
            }
            None => rows.range(..),
        };
        Ok(from
            .map(|(_, c)| c)
            .filter(|c| c.sealed().key_version() != target)
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn count_sealed_under_other_versions(
        &self,
        target: KeyVersion,
    ) -> Result<u64, StorageError> {
        Ok(self
            .state()
            .credentials
            .rows
            .values()
            .filter(|c| c.sealed().key_version() != target)
            .count() as u64)
    }

    async fn replace_sealed(
        &self,
        id: CredentialId,
        expected: &SealedSecret,
        replacement: &SealedSecret,
    ) -> Result<bool, StorageError> {
        let mut state = self.state();
        let table = &mut state.credentials;
        let matches = table.rows.get(&id).is_some_and(|c| {
            let stored = c.sealed();
            stored.key_version() == expected.key_version() && stored.nonce() == expected.nonce()
        });
        if matches {
            table.replace(id, |stored| stored.sealed = replacement.clone());
        }
        Ok(matches)
    }
}
