//! One function per OpenKJ command: read the fields the real client sends (with its
//! types), call the OpenKJ service once, and shape the reply fields it reads. Field
//! names and types follow `docs/OPENKJ_INTEGRATION.md`.

use std::net::IpAddr;

use keyward_domain::CustomerId;
use keyward_domain::audit::{Actor, RequestContext};
use keyward_domain::openkj::Command;
use keyward_domain::ports::PageRequest;
use keyward_domain::requests::{KeyChange, SingerName, SongRequest};
use keyward_domain::services::{OpenKjError, OpenKjService, Submission, UploadedSong, VerifiedKey};
use keyward_domain::songbook::{Song, SongId, SongQuery, StoredSong, total_is_capped};
use keyward_domain::venues::{OpenKjVenueId, SystemId, Venue};
use serde::Serialize;

use super::song_stream::{self, ListedSong};
use super::wire::{FieldError, Fields, ReplyFields};
use crate::strict_json::Json;

/// Songs a `search` reply lists at most.
const SEARCH_RESULTS: u32 = 100;

/// Why a command failed; the text becomes the reply's `errorString`.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    OpenKj(#[from] OpenKjError),
}

type Reply = Result<ReplyFields, CommandError>;

/// Runs an authorised, in-budget command.
/// `client` is the caller's address, for the audit event of a venue change.
pub async fn run(
    service: &OpenKjService,
    key: &VerifiedKey,
    client: IpAddr,
    command: Command,
    fields: &Fields<'_>,
) -> Reply {
    let customer = key.customer_id;
    match command {
        Command::GetSerial => {
            Ok(ReplyFields::new().with("serial", &service.serial(customer).await?.get()))
        }
        Command::GetEntitledSystemCount => {
            Ok(ReplyFields::new().with("count", &service.entitled_system_count()))
        }
        Command::GetAlert => Ok(match service.alert(key) {
            Some(alert) => ReplyFields::new()
                .with("alert", &true)
                .with("title", &alert.title)
                .with("message", &alert.message),
            None => ReplyFields::new()
                .with("alert", &false)
                .with("title", "")
                .with("message", ""),
        }),
        Command::ConnectionTest => Ok(ReplyFields::new().with("connection", "ok")),
        Command::GetVenues => get_venues(service, customer).await,
        Command::GetRequests => get_requests(service, customer, fields).await,
        Command::SetAccepting => {
            let context = RequestContext::remote(Actor::api_key(key.key_id), client);
            set_accepting(service, &context, customer, fields).await
        }
        Command::DeleteRequest => delete_request(service, customer, fields).await,
        Command::ClearRequests => clear_requests(service, customer, fields).await,
        Command::ClearDatabase => clear_database(service, customer, fields).await,
        Command::AddSongs => add_songs(service, customer, fields).await,
        Command::VenueAccepting | Command::GetAccepting => {
            venue_accepting(service, customer, fields).await
        }
        Command::Search => search(service, customer, fields).await,
        Command::GetSongs => get_songs(service, customer, fields).await,
        Command::SubmitRequest => submit_request(service, customer, fields).await,
        Command::AddRequest => add_request(service, customer, fields).await,
        Command::TestingAddRandomRequest => Err(OpenKjError::Unsupported.into()),
    }
}

async fn get_venues(service: &OpenKjService, customer: CustomerId) -> Reply {
    let venues = service.venues(customer).await?;
    let venues: Vec<VenueReply<'_>> = venues.iter().map(VenueReply::from).collect();
    Ok(ReplyFields::new().with("venues", &venues))
}

async fn get_requests(service: &OpenKjService, customer: CustomerId, fields: &Fields<'_>) -> Reply {
    let requests = match venue_id(fields)? {
        Some(venue) => service.requests(customer, venue).await?,
        None => Vec::new(),
    };
    let requests: Vec<RequestReply<'_>> = requests.iter().map(RequestReply::from).collect();
    Ok(ReplyFields::new().with("requests", &requests))
}

async fn set_accepting(
    service: &OpenKjService,
    context: &RequestContext,
    customer: CustomerId,
    fields: &Fields<'_>,
) -> Reply {
    let venue = venue_id(fields)?.ok_or(OpenKjError::UnknownVenue)?;
    let accepting = fields.required_bool("accepting")?;
    let system = system_id(fields)?;
    service
        .set_accepting(context, customer, venue, accepting, system)
        .await?;
    Ok(ReplyFields::new())
}

async fn delete_request(
    service: &OpenKjService,
    customer: CustomerId,
    fields: &Fields<'_>,
) -> Reply {
    let venue = venue_id(fields)?;
    let request = fields.required_int32("request_id")?;
    if let Some(venue) = venue {
        service.delete_request(customer, venue, request).await?;
    }
    Ok(ReplyFields::new())
}

async fn clear_requests(
    service: &OpenKjService,
    customer: CustomerId,
    fields: &Fields<'_>,
) -> Reply {
    if let Some(venue) = venue_id(fields)? {
        service.clear_requests(customer, venue).await?;
    }
    Ok(ReplyFields::new())
}

async fn clear_database(
    service: &OpenKjService,
    customer: CustomerId,
    fields: &Fields<'_>,
) -> Reply {
    let system = system_id(fields)?.unwrap_or_default();
    let removed = service.clear_database(customer, system).await?;
    Ok(ReplyFields::new().with("songs_removed", &removed))
}

async fn add_songs(service: &OpenKjService, customer: CustomerId, fields: &Fields<'_>) -> Reply {
    let system = system_id(fields)?.unwrap_or_default();
    let entries: Vec<UploadedSong> = fields
        .required_array("songs")?
        .iter()
        .map(uploaded_song)
        .collect();
    let outcome = service.add_songs(customer, system, entries).await?;
    Ok(ReplyFields::new()
        .with("entries_processed", &outcome.received)
        .with("added", &outcome.added)
        .with("duplicates", &outcome.duplicates())
        .with("rejected", &outcome.rejected))
}

async fn venue_accepting(
    service: &OpenKjService,
    customer: CustomerId,
    fields: &Fields<'_>,
) -> Reply {
    let venue = service
        .resolve_venue(customer, optional_venue_id(fields)?)
        .await?;
    Ok(ReplyFields::new()
        .with("venue_id", &venue.openkj_venue_id().get())
        .with("accepting", &venue.is_accepting_requests()))
}

async fn search(service: &OpenKjService, customer: CustomerId, fields: &Fields<'_>) -> Reply {
    let query = SongQuery::parse(fields.string("searchString")?.unwrap_or_default());
    let page = PageRequest::new(1, SEARCH_RESULTS).unwrap_or_default();
    let songs = service
        .songs(
            customer,
            optional_venue_id(fields)?,
            system_id(fields)?,
            &query,
            page,
        )
        .await?;
    let songs: Vec<SongReply<'_>> = songs.items.iter().map(SongReply::from).collect();
    Ok(ReplyFields::new().with("songs", &songs))
}

async fn get_songs(service: &OpenKjService, customer: CustomerId, fields: &Fields<'_>) -> Reply {
    let query = SongQuery::parse(fields.string("searchString")?.unwrap_or_default());
    let page = page_request(fields)?;
    let songs = service
        .songs(customer, None, system_id(fields)?, &query, page)
        .await?;
    let items: Vec<ListedSong> = songs.items.iter().map(ListedSong::from).collect();
    Ok(ReplyFields::new()
        .with("songs", &items)
        .with("total", &songs.total)
        .with("total_capped", &total_is_capped(songs.total))
        .with("page", &page.page())
        .with("limit", &page.limit()))
}

async fn submit_request(
    service: &OpenKjService,
    customer: CustomerId,
    fields: &Fields<'_>,
) -> Reply {
    let song = SongId::new(fields.required_int64("songId")?);
    let singer = singer(fields.required_string("singerName")?, "singerName")?;
    let venue = optional_venue_id(fields)?;
    let request = service
        .submit_song(customer, venue, song, singer, key_change(fields)?)
        .await?;
    Ok(ReplyFields::new()
        .with("success", &true)
        .with("request_id", &request.id().get()))
}

async fn add_request(service: &OpenKjService, customer: CustomerId, fields: &Fields<'_>) -> Reply {
    let venue = venue_id(fields)?.ok_or(OpenKjError::UnknownVenue)?;
    let submission = Submission {
        singer: singer(fields.required_string("singer")?, "singer")?,
        song: Song::new(
            fields.required_string("artist")?,
            fields.required_string("title")?,
        )
        .map_err(|err| CommandError::Invalid(err.to_string()))?,
        key_change: key_change(fields)?,
    };
    let request = service.add_request(customer, venue, submission).await?;
    Ok(ReplyFields::new().with("request_id", &request.id().get()))
}

// ---- fields ---------------------------------------------------------------------------

/// The required `venue_id`. A negative one is a valid int32 that names no venue (ids
/// start at 0), so it is `None` rather than an error; callers decide what that means.
fn venue_id(fields: &Fields<'_>) -> Result<Option<OpenKjVenueId>, CommandError> {
    Ok(OpenKjVenueId::new(fields.required_int32("venue_id")?).ok())
}

/// An optional `venue_id` for singer-side commands; a negative one is unknown.
fn optional_venue_id(fields: &Fields<'_>) -> Result<Option<OpenKjVenueId>, CommandError> {
    fields
        .int32("venue_id")?
        .map(|id| OpenKjVenueId::new(id).map_err(|_| OpenKjError::UnknownVenue.into()))
        .transpose()
}

/// `system_id`, sent with `setAccepting`, `addSongs` and `clearDatabase` only.
fn system_id(fields: &Fields<'_>) -> Result<Option<SystemId>, CommandError> {
    fields
        .int32("system_id")?
        .map(|id| {
            SystemId::new(id)
                .map_err(|_| CommandError::Invalid("system_id must be at least 1".to_owned()))
        })
        .transpose()
}

fn key_change(fields: &Fields<'_>) -> Result<KeyChange, CommandError> {
    fields
        .int32("key_change")?
        .map_or(Ok(KeyChange::default()), |semitones| {
            KeyChange::new(semitones.into())
                .map_err(|_| CommandError::Invalid("key_change must be between -12 and 12".into()))
        })
}

fn singer(name: &str, field: &str) -> Result<SingerName, CommandError> {
    SingerName::new(name).map_err(|err| CommandError::Invalid(format!("{field} {err}")))
}

fn page_request(fields: &Fields<'_>) -> Result<PageRequest, CommandError> {
    let page = fields.int32("page")?.unwrap_or(1);
    let limit = fields.int32("limit")?.unwrap_or(100);
    let page = u32::try_from(page).unwrap_or(0);
    let limit = u32::try_from(limit).unwrap_or(0);
    PageRequest::new(page, limit).map_err(|err| CommandError::Invalid(err.to_string()))
}

/// One element of `addSongs`' `songs`: an object with string `artist` and `title`;
/// anything else is counted as rejected rather than failing the batch.
fn uploaded_song(entry: &Json<'_>) -> UploadedSong {
    let artist = entry.get("artist")?.as_str()?;
    let title = entry.get("title")?.as_str()?;
    Some((artist.to_owned(), title.to_owned()))
}

// ---- replies --------------------------------------------------------------------------

/// A venue as `getVenues` lists it.
#[derive(Serialize)]
struct VenueReply<'a> {
    venue_id: i32,
    name: &'a str,
    url_name: &'a str,
    accepting: bool,
}

impl<'a> From<&'a Venue> for VenueReply<'a> {
    fn from(venue: &'a Venue) -> Self {
        Self {
            venue_id: venue.openkj_venue_id().get(),
            name: venue.name().as_str(),
            url_name: venue.url_name().as_str(),
            accepting: venue.is_accepting_requests(),
        }
    }
}

/// A request as `getRequests` lists it.
#[derive(Serialize)]
struct RequestReply<'a> {
    request_id: i32,
    artist: &'a str,
    title: &'a str,
    singer: &'a str,
    /// Unix seconds.
    request_time: i64,
    key_change: i8,
}

impl<'a> From<&'a SongRequest> for RequestReply<'a> {
    fn from(request: &'a SongRequest) -> Self {
        Self {
            request_id: request.id().get(),
            artist: request.song().artist(),
            title: request.song().title(),
            singer: request.singer().as_str(),
            request_time: request.requested_at().unix_timestamp(),
            key_change: request.key_change().get(),
        }
    }
}

/// A song as `search` lists it.
#[derive(Serialize)]
struct SongReply<'a> {
    song_id: i64,
    artist: &'a str,
    title: &'a str,
}

impl<'a> From<&'a StoredSong> for SongReply<'a> {
    fn from(song: &'a StoredSong) -> Self {
        Self {
            song_id: song.id.get(),
            artist: song.song.artist(),
            title: song.song.title(),
        }
    }
}

// ---- getSongs, whole book -------------------------------------------------------------

/// `getSongs` without `page`, `limit` or `searchString` (see [`song_stream`]): the whole
/// song book of `system_id`, of every system when it is absent, streamed.
pub async fn get_whole_song_book(
    service: &OpenKjService,
    customer: CustomerId,
    fields: &Fields<'_>,
) -> Result<actix_web::HttpResponse, CommandError> {
    let system = system_id(fields)?;
    Ok(song_stream::whole_song_book(service, customer, system).await?)
}
