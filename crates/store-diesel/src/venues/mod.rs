//! `VenueRepository` on Diesel. Every write locks the customer row (a no-op under
//! SQLite's `BEGIN IMMEDIATE`), changes the venue and bumps the customer's serial in one
//! transaction. Uniqueness of URL names and OpenKJ ids is left to the database's unique
//! constraints, which `crate::error` maps to the port's `Conflict` rules.

mod row;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use keyward_domain::ports::{NewVenue, StorageError, VenueRepository, VenueWriteError};
use keyward_domain::serial::WithSerial;
use keyward_domain::venues::{OpenKjVenueId, UrlName, Venue};
use keyward_domain::{CustomerId, VenueId};

use self::row::{NewVenueRow, VenueChanges, VenueRow, stored_venue, to_venues};
use crate::DieselStore;
use crate::conn::{TxError, with_connection, write_transaction};
use crate::customer_state::{CustomerRows, finish, tx_storage_error};
use crate::error::storage_error;
use crate::schema::{song_requests, venues};
use crate::types::{DbInstant, DbUuid};

/// The rule a full OpenKJ id range is reported as (the same as a taken id).
const OPENKJ_VENUE_ID_RULE: &str = "openkj_venue_id";

fn uuid(id: impl Into<uuid::Uuid>) -> DbUuid {
    DbUuid(id.into())
}

fn write_error(err: TxError<VenueWriteError>) -> VenueWriteError {
    match err {
        TxError::Database(err) => VenueWriteError::Storage(storage_error(err)),
        TxError::Refused(err) => err,
    }
}

/// The id a new venue gets: the explicit one, else 0 for a customer's first venue and
/// one past the largest otherwise; `None` when that would pass `i32::MAX`.
fn assigned_openkj_id(
    requested: Option<OpenKjVenueId>,
    largest: Option<i32>,
) -> Option<OpenKjVenueId> {
    match (requested, largest) {
        (Some(id), _) => Some(id),
        (None, None) => Some(OpenKjVenueId::FIRST),
        (None, Some(largest)) => largest
            .checked_add(1)
            .and_then(|id| OpenKjVenueId::new(id).ok()),
    }
}

#[async_trait]
impl VenueRepository for DieselStore {
    async fn insert_venue(&self, new: NewVenue) -> Result<WithSerial<Venue>, StorageError> {
        let customer = uuid(new.customer_id.as_uuid());
        write_transaction!(self.pools, |conn| {
            conn.ensure_customer(customer, DbInstant(new.created_at))
                .await?;
            let state = conn.lock_state(customer).await?;
            let largest: Option<i32> = venues::table
                .filter(venues::customer_id.eq(customer))
                .select(diesel::dsl::max(venues::openkj_venue_id))
                .get_result(conn)
                .await?;
            let Some(openkj_id) = assigned_openkj_id(new.openkj_venue_id, largest) else {
                return Err(TxError::Refused(StorageError::Conflict(
                    OPENKJ_VENUE_ID_RULE,
                )));
            };
            let venue = stored_venue(new.clone(), openkj_id);
            diesel::insert_into(venues::table)
                .values(NewVenueRow::from(&venue))
                .execute(conn)
                .await?;
            let serial = finish(conn, customer, state, true).await?;
            Ok(WithSerial::new(venue, serial))
        })
        .map_err(tx_storage_error)
    }

    async fn get_venue(
        &self,
        customer: CustomerId,
        id: VenueId,
    ) -> Result<Option<Venue>, StorageError> {
        let (customer, id) = (uuid(customer.as_uuid()), uuid(id.as_uuid()));
        let row: Option<VenueRow> = with_connection!(self.pools, |conn| {
            venues::table
                .filter(venues::id.eq(id))
                .filter(venues::customer_id.eq(customer))
                .select(VenueRow::as_select())
                .first(conn)
                .await
                .optional()
        })
        .map_err(storage_error)?;
        row.map(Venue::try_from).transpose()
    }

    async fn find_venue_by_openkj_id(
        &self,
        customer: CustomerId,
        id: OpenKjVenueId,
    ) -> Result<Option<Venue>, StorageError> {
        let customer = uuid(customer.as_uuid());
        let row: Option<VenueRow> = with_connection!(self.pools, |conn| {
            venues::table
                .filter(venues::customer_id.eq(customer))
                .filter(venues::openkj_venue_id.eq(id.get()))
                .select(VenueRow::as_select())
                .first(conn)
                .await
                .optional()
        })
        .map_err(storage_error)?;
        row.map(Venue::try_from).transpose()
    }

    async fn find_venue_by_url_name(
        &self,
        url_name: &UrlName,
    ) -> Result<Option<Venue>, StorageError> {
        let row: Option<VenueRow> = with_connection!(self.pools, |conn| {
            venues::table
                .filter(venues::url_name.eq(url_name.as_str()))
                .select(VenueRow::as_select())
                .first(conn)
                .await
                .optional()
        })
        .map_err(storage_error)?;
        row.map(Venue::try_from).transpose()
    }

    async fn list_venues(&self, customer: CustomerId) -> Result<Vec<Venue>, StorageError> {
        let customer = uuid(customer.as_uuid());
        let rows: Vec<VenueRow> = with_connection!(self.pools, |conn| {
            venues::table
                .filter(venues::customer_id.eq(customer))
                .order(venues::openkj_venue_id.asc())
                .select(VenueRow::as_select())
                .load(conn)
                .await
        })
        .map_err(storage_error)?;
        to_venues(rows)
    }

    async fn update_venue(&self, venue: &Venue) -> Result<WithSerial<Venue>, VenueWriteError> {
        let customer = uuid(venue.customer_id().as_uuid());
        let id = uuid(venue.id().as_uuid());
        let row: WithSerial<VenueRow> = write_transaction!(self.pools, |conn| {
            let state = conn.lock_state(customer).await?;
            let updated: Option<VenueRow> = diesel::update(
                venues::table
                    .filter(venues::id.eq(id))
                    .filter(venues::customer_id.eq(customer)),
            )
            .set(VenueChanges::from(venue))
            .returning(VenueRow::as_returning())
            .get_result(conn)
            .await
            .optional()?;
            let Some(updated) = updated else {
                return Err(TxError::Refused(VenueWriteError::NotFound));
            };
            let serial = finish(conn, customer, state, true).await?;
            Ok(WithSerial::new(updated, serial))
        })
        .map_err(write_error)?;
        let serial = row.serial;
        Ok(WithSerial::new(Venue::try_from(row.value)?, serial))
    }

    async fn delete_venue(
        &self,
        customer: CustomerId,
        id: VenueId,
    ) -> Result<WithSerial<bool>, StorageError> {
        let (customer, id) = (uuid(customer.as_uuid()), uuid(id.as_uuid()));
        write_transaction!(self.pools, |conn| {
            let state = conn.lock_state(customer).await?;
            let owned = venues::table
                .filter(venues::id.eq(id))
                .filter(venues::customer_id.eq(customer));
            let exists: bool = diesel::select(diesel::dsl::exists(owned))
                .get_result(conn)
                .await?;
            if !exists {
                let serial = finish(conn, customer, state, false).await?;
                return Ok(WithSerial::new(false, serial));
            }
            diesel::delete(song_requests::table.filter(song_requests::venue_id.eq(id)))
                .execute(conn)
                .await?;
            diesel::delete(owned).execute(conn).await?;
            let serial = finish(conn, customer, state, true).await?;
            Ok::<_, TxError<StorageError>>(WithSerial::new(true, serial))
        })
        .map_err(tx_storage_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openkj_ids_start_at_zero_and_continue_after_the_largest() {
        let explicit = OpenKjVenueId::new(9).unwrap();
        assert_eq!(assigned_openkj_id(None, None), Some(OpenKjVenueId::FIRST));
        assert_eq!(
            assigned_openkj_id(None, Some(4)).map(OpenKjVenueId::get),
            Some(5)
        );
        assert_eq!(assigned_openkj_id(Some(explicit), Some(4)), Some(explicit));
        assert_eq!(assigned_openkj_id(None, Some(i32::MAX)), None);
    }
}
