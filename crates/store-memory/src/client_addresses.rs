//! `ClientAddressRepository` in memory: the first and last time each `(key, address)` was
//! seen. A batch is recorded under the store's one lock, which is what makes "new" exact:
//! no other call comes between counting a key's addresses and adding to them. Deleting a
//! key removes its addresses (`api_keys.rs` calls [`Table::remove_key`]).

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use async_trait::async_trait;
use keyward_domain::KeyId;
use keyward_domain::keys::ApiKey;
use keyward_domain::ports::{
    ClientAddressRepository, ClientSighting, MAX_ADDRESSES_PER_KEY, NewClientAddress, StorageError,
    truncate_to_micros,
};
use keyward_domain::usage::ClientAddress;
use time::{OffsetDateTime, UtcOffset};

use crate::MemoryStore;

#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: BTreeMap<(KeyId, ClientAddress), Seen>,
}

/// The first and last time a key was seen used from an address.
#[derive(Debug, Clone, Copy)]
struct Seen {
    first: OffsetDateTime,
    last: OffsetDateTime,
}

impl Table {
    /// Forgets every address of `key` (the key is being deleted).
    pub(crate) fn remove_key(&mut self, key: KeyId) {
        self.rows.retain(|(id, _), _| *id != key);
    }

    fn count_of(&self, key: KeyId) -> u64 {
        self.rows
            .range((key, ClientAddress::V4(Ipv4Addr::UNSPECIFIED))..)
            .take_while(|((id, _), _)| *id == key)
            .count() as u64
    }
}

/// As the SQL stores keep it: UTC, to the microsecond.
fn stored(at: OffsetDateTime) -> OffsetDateTime {
    truncate_to_micros(at).to_offset(UtcOffset::UTC)
}

/// `sightings` with each `(key, address)` once, spanning the earliest and latest time
/// any of them names (so `first <= last`, as the SQL stores' CHECK wants).
fn merge(sightings: &[ClientSighting]) -> BTreeMap<(KeyId, ClientAddress), Seen> {
    let mut merged: BTreeMap<(KeyId, ClientAddress), Seen> = BTreeMap::new();
    for sighting in sightings {
        let (a, b) = (stored(sighting.first_at), stored(sighting.last_at));
        let seen = Seen {
            first: a.min(b),
            last: a.max(b),
        };
        merged
            .entry((sighting.key, sighting.address))
            .and_modify(|known| {
                known.first = known.first.min(seen.first);
                known.last = known.last.max(seen.last);
            })
            .or_insert(seen);
    }
    merged
}

#[async_trait]
impl ClientAddressRepository for MemoryStore {
    async fn record_client_addresses(
        &self,
        sightings: &[ClientSighting],
    ) -> Result<Vec<NewClientAddress>, StorageError> {
        let merged = merge(sightings);
        let mut state = self.state();
        // Counted before anything of this batch is added.
        let mut known: HashMap<KeyId, u64> = HashMap::new();
        for (key, _) in merged.keys() {
            if !known.contains_key(key) {
                known.insert(*key, state.client_addresses.count_of(*key));
            }
        }
        let mut new = Vec::new();
        for ((key, address), seen) in merged {
            let Some(key_created_at) = state.api_keys.get(key).map(ApiKey::created_at) else {
                continue;
            };
            if let Some(known) = state.client_addresses.rows.get_mut(&(key, address)) {
                known.last = known.last.max(seen.last);
                continue;
            }
            if known.get(&key).copied().unwrap_or(0) >= MAX_ADDRESSES_PER_KEY {
                continue;
            }
            state.client_addresses.rows.insert((key, address), seen);
            new.push(NewClientAddress {
                key,
                address,
                at: seen.first,
                key_created_at: stored(key_created_at),
                known_before: known.get(&key).copied().unwrap_or(0),
            });
        }
        Ok(new)
    }

    async fn delete_client_addresses_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<u64, StorageError> {
        // The SQL stores compare to the microsecond too.
        let cutoff = truncate_to_micros(cutoff);
        let mut state = self.state();
        let before = state.client_addresses.rows.len();
        state
            .client_addresses
            .rows
            .retain(|_, seen| seen.last >= cutoff);
        Ok((before - state.client_addresses.rows.len()) as u64)
    }
}
