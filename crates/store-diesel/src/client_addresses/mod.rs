//! `ClientAddressRepository` on Diesel: the addresses each key was used from, in
//! `key_client_addresses`, one row per key and address (the primary key). A batch is
//! merged here ([`merge`]) and written in one write transaction by the per-backend SQL of
//! [`sql`]; what comes back is turned into [`NewClientAddress`]es inside the transaction,
//! so a row that cannot be read back rolls the batch back instead of half-reporting it.
//! ADR 0058.

mod sql;

use std::collections::BTreeMap;

use async_trait::async_trait;
use keyward_domain::KeyId;
use keyward_domain::ports::{
    ClientAddressRepository, ClientSighting, NewClientAddress, StorageError, truncate_to_micros,
};
use keyward_domain::usage::ClientAddress;
use time::OffsetDateTime;

use self::sql::{ClientAddressSql, Inserted};
use crate::DieselStore;
use crate::conn::{TxError, with_connection, write_transaction};
use crate::error::storage_error;

/// One `(key, address)` of a batch, its sightings merged: the earliest and latest time
/// any of them names (to the microsecond), so `first <= last` always holds, as the
/// table's CHECK wants.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Merged {
    key: KeyId,
    /// The address as stored (`ClientAddress`'s `Display`).
    address: String,
    first: OffsetDateTime,
    last: OffsetDateTime,
}

/// `sightings` with each `(key, address)` once, in `(key, address)` order.
fn merge(sightings: &[ClientSighting]) -> Vec<Merged> {
    let mut merged: BTreeMap<(KeyId, ClientAddress), (OffsetDateTime, OffsetDateTime)> =
        BTreeMap::new();
    for sighting in sightings {
        let (a, b) = (
            truncate_to_micros(sighting.first_at),
            truncate_to_micros(sighting.last_at),
        );
        let (first, last) = (a.min(b), a.max(b));
        merged
            .entry((sighting.key, sighting.address))
            .and_modify(|(seen_first, seen_last)| {
                *seen_first = (*seen_first).min(first);
                *seen_last = (*seen_last).max(last);
            })
            .or_insert((first, last));
    }
    merged
        .into_iter()
        .map(|((key, address), (first, last))| Merged {
            key,
            address: address.to_string(),
            first,
            last,
        })
        .collect()
}

/// A stored address that is not a [`ClientAddress`] as written, which only a hand edit
/// of the table could cause.
#[derive(Debug, thiserror::Error)]
#[error("stored key_client_addresses row of key {key} has an unreadable address {address:?}")]
struct CorruptAddress {
    key: KeyId,
    address: String,
}

/// A row this call inserted, as the port reports it.
fn to_new_address(row: &Inserted) -> Result<NewClientAddress, CorruptAddress> {
    let key = KeyId::from_uuid(row.key.0);
    let address = row
        .address
        .parse::<ClientAddress>()
        .map_err(|_| CorruptAddress {
            key,
            address: row.address.chars().take(64).collect(),
        })?;
    Ok(NewClientAddress {
        key,
        address,
        at: row.first_seen_at.0,
        key_created_at: row.key_created_at.0,
        known_before: u64::try_from(row.known_before).unwrap_or(0),
    })
}

fn transaction_error(err: TxError<CorruptAddress>) -> StorageError {
    match err {
        TxError::Database(err) => storage_error(err),
        TxError::Refused(corrupt) => StorageError::other(corrupt),
    }
}

#[async_trait]
impl ClientAddressRepository for DieselStore {
    async fn record_client_addresses(
        &self,
        sightings: &[ClientSighting],
    ) -> Result<Vec<NewClientAddress>, StorageError> {
        let rows = merge(sightings);
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        write_transaction!(self.pools, |conn| {
            let inserted = conn.record_addresses(&rows).await?;
            inserted
                .iter()
                .map(to_new_address)
                .collect::<Result<Vec<_>, _>>()
                .map_err(TxError::Refused)
        })
        .map_err(transaction_error)
    }

    async fn delete_client_addresses_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<u64, StorageError> {
        with_connection!(self.pools, |conn| conn.delete_seen_before(cutoff).await)
            .map_err(storage_error)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::types::{DbInstant, DbUuid};

    fn sighting(
        key: KeyId,
        address: &str,
        first_at: OffsetDateTime,
        last_at: OffsetDateTime,
    ) -> ClientSighting {
        ClientSighting {
            key,
            address: address.parse().unwrap(),
            first_at,
            last_at,
        }
    }

    #[test]
    fn merge_spans_each_pair_once_in_key_and_address_order() {
        let (a, b) = (
            KeyId::from_uuid(uuid::Uuid::from_u128(1)),
            KeyId::from_uuid(uuid::Uuid::from_u128(2)),
        );
        let t = |minute: u8| {
            datetime!(2026-06-01 10:00 UTC)
                .replace_minute(minute)
                .unwrap()
        };
        let merged = merge(&[
            sighting(b, "192.0.2.1", t(5), t(6)),
            sighting(a, "2001:db8::/64", t(1), t(2)),
            sighting(b, "192.0.2.1", t(3), t(4)),
            sighting(a, "192.0.2.9", t(9), t(7)),
            sighting(
                b,
                "192.0.2.1",
                t(8),
                t(8) + time::Duration::nanoseconds(999),
            ),
        ]);
        let row = |key, address: &str, first, last| Merged {
            key,
            address: address.to_owned(),
            first,
            last,
        };
        assert_eq!(
            merged,
            vec![
                row(a, "192.0.2.9", t(7), t(9)),
                row(a, "2001:db8::/64", t(1), t(2)),
                row(b, "192.0.2.1", t(3), t(8)),
            ]
        );
    }

    #[test]
    fn an_unreadable_stored_address_is_an_error_not_a_panic() {
        let at = datetime!(2026-06-01 10:00 UTC);
        let row = Inserted {
            key: DbUuid(uuid::Uuid::from_u128(7)),
            address: "not an address".to_owned(),
            first_seen_at: DbInstant(at),
            key_created_at: DbInstant(at),
            known_before: 0,
        };

        let err = transaction_error(TxError::Refused(to_new_address(&row).unwrap_err()));

        assert!(matches!(err, StorageError::Other(_)), "{err:?}");
    }
}
