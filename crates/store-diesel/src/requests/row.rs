//! `song_requests` rows and their conversion to and from the domain's [`SongRequest`].

use diesel::prelude::*;
use keyward_domain::ports::StorageError;
use keyward_domain::requests::{KeyChange, RequestId, SingerName, SongRequest, SongRequestParts};
use keyward_domain::songbook::Song;
use keyward_domain::{CustomerId, VenueId};

use crate::customer_state::CorruptColumn;
use crate::schema::song_requests;
use crate::types::{DbInstant, DbUuid};

/// Every column of `song_requests`, as read and as inserted.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = song_requests)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct RequestRow {
    customer_id: DbUuid,
    request_id: i32,
    venue_id: DbUuid,
    singer: String,
    artist: String,
    title: String,
    key_change: i16,
    requested_at: DbInstant,
    processed_at: Option<DbInstant>,
}

impl From<&SongRequest> for RequestRow {
    fn from(request: &SongRequest) -> Self {
        Self {
            customer_id: DbUuid(request.customer_id().as_uuid()),
            request_id: request.id().get(),
            venue_id: DbUuid(request.venue_id().as_uuid()),
            singer: request.singer().as_str().to_owned(),
            artist: request.song().artist().to_owned(),
            title: request.song().title().to_owned(),
            key_change: i16::from(request.key_change().get()),
            requested_at: DbInstant(request.requested_at()),
            processed_at: request.processed_at().map(DbInstant),
        }
    }
}

impl TryFrom<RequestRow> for SongRequest {
    type Error = StorageError;

    fn try_from(row: RequestRow) -> Result<Self, StorageError> {
        let corrupt = |column| StorageError::other(CorruptColumn(column));
        Ok(SongRequest::from_parts(SongRequestParts {
            id: RequestId::new(row.request_id).map_err(|_| corrupt("song_requests.request_id"))?,
            customer_id: CustomerId::from_uuid(row.customer_id.0),
            venue_id: VenueId::from_uuid(row.venue_id.0),
            singer: SingerName::new(&row.singer).map_err(|_| corrupt("song_requests.singer"))?,
            song: Song::new(row.artist, row.title)
                .map_err(|_| corrupt("song_requests.artist/title"))?,
            key_change: KeyChange::new(row.key_change.into())
                .map_err(|_| corrupt("song_requests.key_change"))?,
            requested_at: row.requested_at.0,
            processed_at: row.processed_at.map(|at| at.0),
        }))
    }
}

pub(crate) fn to_requests(rows: Vec<RequestRow>) -> Result<Vec<SongRequest>, StorageError> {
    rows.into_iter().map(SongRequest::try_from).collect()
}
