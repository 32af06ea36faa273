//! Per-customer state on the `customers` row: the OpenKJ serial and the last request id.
//!
//! The repositories of venues, song books and requests call these helpers inside their
//! own write transactions: lock and read the customer's state first (one round trip),
//! change what they change, then save the state back — so a change and the serial bump
//! announcing it commit together (ADR 0030), and the time the row stays locked is a few
//! statements, which is what bounds one customer's write throughput. The wrap-around rules come from the
//! domain (`Serial::next`, `RequestId::successor`), not from SQL.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use keyward_domain::CustomerId;
use keyward_domain::ports::{SerialRepository, StorageError, truncate_to_micros};
use keyward_domain::requests::RequestId;
use keyward_domain::serial::Serial;
use time::OffsetDateTime;

use crate::DieselStore;
use crate::conn::{SqliteConnection, TxError, with_connection, write_transaction};
use crate::error::storage_error;
use crate::schema::customers;
use crate::types::{DbInstant, DbUuid};

/// A stored value that breaks a domain rule, reported as a deserialisation failure
/// (so it surfaces as `StorageError::Other`), naming only the column.
#[derive(Debug, thiserror::Error)]
#[error("stored value of `{0}` is invalid")]
pub(crate) struct CorruptColumn(pub(crate) &'static str);

pub(crate) fn corrupt(column: &'static str) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(Box::new(CorruptColumn(column)))
}

/// Now, for the bookkeeping `customers.created_at` of a customer first seen by a write
/// that carries no time of its own (a song upload, a seeded serial).
pub(crate) fn now() -> DbInstant {
    DbInstant(truncate_to_micros(OffsetDateTime::now_utc()))
}

/// A customer's OpenKJ state as read under its row lock; the caller changes it with the
/// domain's rules and writes it back with [`CustomerRows::save_state`] before committing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CustomerState {
    pub(crate) serial: Serial,
    /// 0 while no request id was handed out.
    last_request_id: i32,
}

impl CustomerState {
    /// Moves the serial on by one (wrapping to 1) and returns the new value.
    pub(crate) fn bump(&mut self) -> Serial {
        self.serial = self.serial.next();
        self.serial
    }

    /// Reserves the next request id; `None` once every positive int32 is used.
    pub(crate) fn take_request_id(&mut self) -> QueryResult<Option<RequestId>> {
        let next = match self.last_request_id {
            0 => Some(RequestId::FIRST),
            used => RequestId::new(used)
                .map_err(|_| corrupt("customers.last_request_id"))?
                .successor(),
        };
        if let Some(next) = next {
            self.last_request_id = next.get();
        }
        Ok(next)
    }

    fn from_row((serial, last_request_id): (i32, i32)) -> QueryResult<Self> {
        Ok(Self {
            serial: Serial::new(serial).map_err(|_| corrupt("customers.openkj_serial"))?,
            last_request_id,
        })
    }
}

/// The customer-row operations, on either backend's connection.
pub(crate) trait CustomerRows {
    /// Creates the customer's row (default serial 1, no requests yet) unless it exists.
    async fn ensure_customer(&mut self, customer: DbUuid, at: DbInstant) -> QueryResult<()>;

    /// The customer's serial without locking; [`Serial::INITIAL`] when it has no row.
    async fn serial_of(&mut self, customer: DbUuid) -> QueryResult<Serial>;

    /// Locks the customer row until the transaction ends (PostgreSQL `FOR UPDATE`; on
    /// SQLite `BEGIN IMMEDIATE` already holds the only write lock) and reads its state,
    /// in one round trip. `None` when the customer has no row, i.e. nothing to change.
    async fn lock_state(&mut self, customer: DbUuid) -> QueryResult<Option<CustomerState>>;

    /// Writes back a state read by [`CustomerRows::lock_state`].
    async fn save_state(&mut self, customer: DbUuid, state: CustomerState) -> QueryResult<()>;
}

/// The query code both connection types share (each copy type-checked on its own);
/// `$lock` turns the state query into a locking one where the backend needs it.
macro_rules! impl_customer_rows {
    ($conn:ty, |$query:ident| $lock:expr) => {
        impl CustomerRows for $conn {
            async fn ensure_customer(
                &mut self,
                customer: DbUuid,
                at: DbInstant,
            ) -> QueryResult<()> {
                diesel::insert_into(customers::table)
                    .values((customers::id.eq(customer), customers::created_at.eq(at)))
                    .on_conflict(customers::id)
                    .do_nothing()
                    .execute(self)
                    .await
                    .map(drop)
            }

            async fn serial_of(&mut self, customer: DbUuid) -> QueryResult<Serial> {
                let stored: Option<i32> = customers::table
                    .find(customer)
                    .select(customers::openkj_serial)
                    .first(self)
                    .await
                    .optional()?;
                stored.map_or(Ok(Serial::INITIAL), |value| {
                    Serial::new(value).map_err(|_| corrupt("customers.openkj_serial"))
                })
            }

            async fn lock_state(&mut self, customer: DbUuid) -> QueryResult<Option<CustomerState>> {
                let $query = customers::table
                    .find(customer)
                    .select((customers::openkj_serial, customers::last_request_id));
                let row: Option<(i32, i32)> = $lock.first(self).await.optional()?;
                row.map(CustomerState::from_row).transpose()
            }

            async fn save_state(
                &mut self,
                customer: DbUuid,
                state: CustomerState,
            ) -> QueryResult<()> {
                let updated = diesel::update(customers::table.find(customer))
                    .set((
                        customers::openkj_serial.eq(state.serial.get()),
                        customers::last_request_id.eq(state.last_request_id),
                    ))
                    .execute(self)
                    .await?;
                if updated == 0 {
                    return Err(diesel::result::Error::NotFound);
                }
                Ok(())
            }
        }
    };
}

impl_customer_rows!(AsyncPgConnection, |query| query.for_update());
impl_customer_rows!(SqliteConnection, |query| query);

/// The serial after an optional change under the lock: bumped and saved when `changed`,
/// else as read (initial for a customer without a row).
pub(crate) async fn finish<C: CustomerRows>(
    conn: &mut C,
    customer: DbUuid,
    state: Option<CustomerState>,
    changed: bool,
) -> QueryResult<Serial> {
    match state {
        Some(mut state) if changed => {
            let serial = state.bump();
            conn.save_state(customer, state).await?;
            Ok(serial)
        }
        Some(state) => Ok(state.serial),
        None if changed => Err(diesel::result::Error::NotFound),
        None => Ok(Serial::INITIAL),
    }
}

/// Maps a transaction's failure to the storage error its caller reports.
pub(crate) fn tx_storage_error(err: TxError<StorageError>) -> StorageError {
    match err {
        TxError::Database(err) => storage_error(err),
        TxError::Refused(err) => err,
    }
}

#[async_trait]
impl SerialRepository for DieselStore {
    async fn current_serial(&self, customer: CustomerId) -> Result<Serial, StorageError> {
        let customer = DbUuid(customer.as_uuid());
        with_connection!(self.pools, |conn| conn.serial_of(customer).await).map_err(storage_error)
    }

    async fn seed_serial(&self, customer: CustomerId, serial: Serial) -> Result<(), StorageError> {
        let customer = DbUuid(customer.as_uuid());
        write_transaction!(self.pools, |conn| {
            conn.ensure_customer(customer, now()).await?;
            diesel::update(customers::table.find(customer))
                .set(customers::openkj_serial.eq(serial.get()))
                .execute(conn)
                .await?;
            Ok::<_, TxError<StorageError>>(())
        })
        .map_err(tx_storage_error)
    }
}
