//! `RequestRepository` on Diesel. A submission locks the customer row, re-checks that
//! the venue accepts requests, takes the customer's next request id, inserts, and bumps
//! the serial — one transaction, so racing clears and deletes can neither lose a request
//! nor a serial change (ADR 0030, 0031).

mod row;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use keyward_domain::ports::{
    AddRequestError, Page, PageRequest, RequestFilter, RequestRepository, StorageError,
    truncate_to_micros,
};
use keyward_domain::requests::{NewRequest, RequestId, SongRequest, SongRequestParts};
use keyward_domain::serial::WithSerial;
use keyward_domain::{CustomerId, VenueId};
use time::OffsetDateTime;

use self::row::{RequestRow, to_requests};
use crate::DieselStore;
use crate::conn::{TxError, with_connection, write_transaction};
use crate::customer_state::{CustomerRows, finish, tx_storage_error};
use crate::error::storage_error;
use crate::schema::{song_requests, venues};
use crate::types::{DbInstant, DbUuid};

/// The rule reported once a customer has used every positive int32 request id.
const REQUEST_ID_RULE: &str = "request_id";

fn add_error(err: TxError<AddRequestError>) -> AddRequestError {
    match err {
        TxError::Database(err) => AddRequestError::Storage(storage_error(err)),
        TxError::Refused(err) => err,
    }
}

fn refuse<T>(err: AddRequestError) -> Result<T, TxError<AddRequestError>> {
    Err(TxError::Refused(err))
}

#[async_trait]
impl RequestRepository for DieselStore {
    async fn add_request(
        &self,
        customer: CustomerId,
        venue: VenueId,
        request: NewRequest,
    ) -> Result<WithSerial<SongRequest>, AddRequestError> {
        let (customer_id, venue_id) = (customer, venue);
        let (customer, venue) = (DbUuid(customer.as_uuid()), DbUuid(venue.as_uuid()));
        write_transaction!(self.pools, |conn| {
            let state = conn.lock_state(customer).await?;
            let accepting: Option<bool> = venues::table
                .filter(venues::id.eq(venue))
                .filter(venues::customer_id.eq(customer))
                .select(venues::accepting_requests)
                .first(conn)
                .await
                .optional()?;
            let mut state = match (accepting, state) {
                (None, _) | (_, None) => return refuse(AddRequestError::VenueNotFound),
                (Some(false), _) => return refuse(AddRequestError::NotAccepting),
                (Some(true), Some(state)) => state,
            };
            let Some(id) = state.take_request_id()? else {
                return refuse(StorageError::Conflict(REQUEST_ID_RULE).into());
            };
            let stored = SongRequest::from_parts(SongRequestParts {
                id,
                customer_id,
                venue_id,
                singer: request.singer.clone(),
                song: request.song.clone(),
                key_change: request.key_change,
                requested_at: truncate_to_micros(request.requested_at),
                processed_at: None,
            });
            diesel::insert_into(song_requests::table)
                .values(RequestRow::from(&stored))
                .execute(conn)
                .await?;
            let serial = state.bump();
            conn.save_state(customer, state).await?;
            Ok(WithSerial::new(stored, serial))
        })
        .map_err(add_error)
    }

    async fn queued_requests(
        &self,
        customer: CustomerId,
        venue: VenueId,
    ) -> Result<Vec<SongRequest>, StorageError> {
        let (customer, venue) = (DbUuid(customer.as_uuid()), DbUuid(venue.as_uuid()));
        let rows: Vec<RequestRow> = with_connection!(self.pools, |conn| {
            song_requests::table
                .filter(song_requests::venue_id.eq(venue))
                .filter(song_requests::customer_id.eq(customer))
                .filter(song_requests::processed_at.is_null())
                .order((
                    song_requests::requested_at.asc(),
                    song_requests::request_id.asc(),
                ))
                .select(RequestRow::as_select())
                .load(conn)
                .await
        })
        .map_err(storage_error)?;
        to_requests(rows)
    }

    async fn list_requests(
        &self,
        customer: CustomerId,
        venue: VenueId,
        filter: RequestFilter,
        page: PageRequest,
    ) -> Result<Page<SongRequest>, StorageError> {
        let (customer, venue) = (DbUuid(customer.as_uuid()), DbUuid(venue.as_uuid()));
        let limit = i64::from(page.limit());
        let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
        let (total, rows): (i64, Vec<RequestRow>) = with_connection!(self.pools, |conn| {
            let matching = || {
                let query = song_requests::table
                    .filter(song_requests::venue_id.eq(venue))
                    .filter(song_requests::customer_id.eq(customer))
                    .into_boxed();
                match filter.processed {
                    Some(true) => query.filter(song_requests::processed_at.is_not_null()),
                    Some(false) => query.filter(song_requests::processed_at.is_null()),
                    None => query,
                }
            };
            async {
                let total: i64 = matching().count().get_result(conn).await?;
                let rows = matching()
                    .order((
                        song_requests::requested_at.asc(),
                        song_requests::request_id.asc(),
                    ))
                    .limit(limit)
                    .offset(offset)
                    .select(RequestRow::as_select())
                    .load(conn)
                    .await?;
                QueryResult::Ok((total, rows))
            }
            .await
        })
        .map_err(storage_error)?;
        Ok(Page {
            items: to_requests(rows)?,
            total: u64::try_from(total).unwrap_or(0),
            request: page,
        })
    }

    async fn mark_request_processed(
        &self,
        customer: CustomerId,
        venue: VenueId,
        id: RequestId,
        at: OffsetDateTime,
    ) -> Result<WithSerial<bool>, StorageError> {
        let (customer, venue) = (DbUuid(customer.as_uuid()), DbUuid(venue.as_uuid()));
        write_transaction!(self.pools, |conn| {
            let state = conn.lock_state(customer).await?;
            let processed = diesel::update(
                song_requests::table
                    .filter(song_requests::customer_id.eq(customer))
                    .filter(song_requests::request_id.eq(id.get()))
                    .filter(song_requests::venue_id.eq(venue))
                    .filter(song_requests::processed_at.is_null()),
            )
            .set(song_requests::processed_at.eq(DbInstant(at)))
            .execute(conn)
            .await?;
            let serial = finish(conn, customer, state, processed > 0).await?;
            Ok::<_, TxError<StorageError>>(WithSerial::new(processed > 0, serial))
        })
        .map_err(tx_storage_error)
    }

    async fn clear_queue(
        &self,
        customer: CustomerId,
        venue: VenueId,
        at: OffsetDateTime,
    ) -> Result<WithSerial<u64>, StorageError> {
        let (customer, venue) = (DbUuid(customer.as_uuid()), DbUuid(venue.as_uuid()));
        write_transaction!(self.pools, |conn| {
            let state = conn.lock_state(customer).await?;
            let cleared = diesel::update(
                song_requests::table
                    .filter(song_requests::venue_id.eq(venue))
                    .filter(song_requests::customer_id.eq(customer))
                    .filter(song_requests::processed_at.is_null()),
            )
            .set(song_requests::processed_at.eq(DbInstant(at)))
            .execute(conn)
            .await? as u64;
            let serial = finish(conn, customer, state, cleared > 0).await?;
            Ok::<_, TxError<StorageError>>(WithSerial::new(cleared, serial))
        })
        .map_err(tx_storage_error)
    }
}
