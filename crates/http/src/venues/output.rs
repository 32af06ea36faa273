//! Response bodies.

use keyward_domain::ports::Page;
use keyward_domain::requests::SongRequest;
use keyward_domain::songbook::{StoredSong, total_is_capped};
use keyward_domain::venues::Venue;
use serde::Serialize;
use time::{OffsetDateTime, UtcOffset};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::customer::api_keys::dto::Pagination;

fn utc(at: OffsetDateTime) -> OffsetDateTime {
    at.to_offset(UtcOffset::UTC)
}

fn pagination<T>(page: &Page<T>) -> Pagination {
    Pagination {
        page: page.request.page(),
        limit: page.request.limit(),
        total: page.total,
        total_pages: page.total_pages(),
    }
}

/// A venue.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VenueResponse {
    pub id: Uuid,
    /// The `venue_id` OpenKJ uses: unique per customer, 0 included.
    #[schema(example = 0)]
    pub openkj_venue_id: i32,
    #[schema(example = "The Rusty Mic")]
    pub name: String,
    /// The singer page's slug: `/v1/public/venues/{urlName}`.
    #[schema(example = "the-rusty-mic")]
    pub url_name: String,
    pub accepting_requests: bool,
    /// The song book (OpenKJ System ID) singers at this venue search.
    #[schema(example = 1)]
    pub system_id: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&Venue> for VenueResponse {
    fn from(venue: &Venue) -> Self {
        Self {
            id: venue.id().as_uuid(),
            openkj_venue_id: venue.openkj_venue_id().get(),
            name: venue.name().as_str().to_owned(),
            url_name: venue.url_name().as_str().to_owned(),
            accepting_requests: venue.is_accepting_requests(),
            system_id: venue.system_id().get(),
            created_at: utc(venue.created_at()),
        }
    }
}

/// Every venue of the customer, by `openkjVenueId`.
#[derive(Debug, Serialize, ToSchema)]
pub struct VenueList {
    pub data: Vec<VenueResponse>,
}

impl From<&[Venue]> for VenueList {
    fn from(venues: &[Venue]) -> Self {
        Self {
            data: venues.iter().map(VenueResponse::from).collect(),
        }
    }
}

/// What singers see of a venue.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicVenueResponse {
    pub name: String,
    pub url_name: String,
    pub accepting_requests: bool,
}

impl From<&Venue> for PublicVenueResponse {
    fn from(venue: &Venue) -> Self {
        Self {
            name: venue.name().as_str().to_owned(),
            url_name: venue.url_name().as_str().to_owned(),
            accepting_requests: venue.is_accepting_requests(),
        }
    }
}

/// A singer request; `processed` once the host deleted it or cleared the queue.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SongRequestResponse {
    /// The `request_id` OpenKJ shows: a non-zero int32, per customer.
    pub request_id: i32,
    pub venue_id: Uuid,
    pub singer: String,
    pub artist: String,
    pub title: String,
    /// Semitones, -12 to 12.
    pub key_change: i8,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    pub processed: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub processed_at: Option<OffsetDateTime>,
}

impl From<&SongRequest> for SongRequestResponse {
    fn from(request: &SongRequest) -> Self {
        Self {
            request_id: request.id().get(),
            venue_id: request.venue_id().as_uuid(),
            singer: request.singer().as_str().to_owned(),
            artist: request.song().artist().to_owned(),
            title: request.song().title().to_owned(),
            key_change: request.key_change().get(),
            requested_at: utc(request.requested_at()),
            processed: request.is_processed(),
            processed_at: request.processed_at().map(utc),
        }
    }
}

/// One page of requests, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestPage {
    pub data: Vec<SongRequestResponse>,
    pub pagination: Pagination,
}

impl From<&Page<SongRequest>> for RequestPage {
    fn from(page: &Page<SongRequest>) -> Self {
        Self {
            data: page.items.iter().map(SongRequestResponse::from).collect(),
            pagination: pagination(page),
        }
    }
}

/// The id of a request a singer just made.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubmittedRequestResponse {
    pub request_id: i32,
}

/// A song of a song book, exactly as OpenKJ uploaded it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SongResponse {
    pub song_id: i64,
    pub artist: String,
    pub title: String,
}

impl From<&StoredSong> for SongResponse {
    fn from(song: &StoredSong) -> Self {
        Self {
            song_id: song.id.get(),
            artist: song.song.artist().to_owned(),
            title: song.song.title().to_owned(),
        }
    }
}

/// Paging information of a song search. Matches are counted up to 1,000: `total` is
/// exact below that, and 1,000 with `totalCapped: true` when a search finds 1,000 songs
/// or more (counting every song that holds a common word would cost a scan of the whole
/// song book per keystroke; ADR 0052). Pages past the cap still list songs.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SongPagination {
    pub page: u32,
    pub limit: u32,
    /// Matching songs, counted up to 1,000.
    #[schema(maximum = 1000)]
    pub total: u64,
    /// Pages of `limit` songs in `total`.
    pub total_pages: u64,
    /// `true` when there are 1,000 matches or more (then `total` is 1,000).
    pub total_capped: bool,
}

/// One page of songs, by artist then title (case- and normalization-insensitive).
#[derive(Debug, Serialize, ToSchema)]
pub struct SongPage {
    pub data: Vec<SongResponse>,
    pub pagination: SongPagination,
}

impl From<&Page<StoredSong>> for SongPage {
    fn from(page: &Page<StoredSong>) -> Self {
        let Pagination {
            page: number,
            limit,
            total,
            total_pages,
        } = pagination(page);
        Self {
            data: page.items.iter().map(SongResponse::from).collect(),
            pagination: SongPagination {
                page: number,
                limit,
                total,
                total_pages,
                total_capped: total_is_capped(total),
            },
        }
    }
}
