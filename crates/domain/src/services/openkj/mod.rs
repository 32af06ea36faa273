//! `OpenKjService`: the rules specific to the OpenKJ endpoint on top of the venue,
//! request and song book services — per-command scopes, the serial, entitled systems,
//! alerts, and the lenient treatment of unknown venues that the real client needs.

mod alerts;

use std::sync::Arc;

use time::Duration;

use crate::audit::RequestContext;
use crate::ids::CustomerId;
use crate::openkj::{Command, ENDPOINT_SCOPES};
use crate::ports::{Clock, Page, PageRequest, SerialRepository, StorageError};
use crate::requests::{KeyChange, RequestId, SingerName, SongRequest};
use crate::scope::Scope;
use crate::serial::Serial;
use crate::services::{
    AddSongsOutcome, RequestError, RequestService, SongBookError, SongBookService, Submission,
    UploadedSong, VenueError, VenueService, VerifiedKey,
};
use crate::songbook::{SongId, SongQuery, StoredSong};
use crate::venues::{OpenKjVenueId, SystemId, Venue};

pub use alerts::{ALERT_MEMORY, Alert};

/// Rules of the endpoint that come from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenKjPolicy {
    /// `getEntitledSystemCount`: the highest System ID OpenKJ lets the host pick, and the
    /// highest `system_id` accepted for uploads and `setAccepting`. At least 1.
    pub entitled_systems: i32,
    /// `getAlert` warns when the key expires within this period.
    pub expiry_warning: Duration,
}

impl Default for OpenKjPolicy {
    fn default() -> Self {
        Self {
            entitled_systems: 4,
            expiry_warning: Duration::days(14),
        }
    }
}

/// Why an OpenKJ command failed; the text becomes the reply's `errorString`.
#[derive(Debug, thiserror::Error)]
pub enum OpenKjError {
    #[error("the API key lacks the scope {0}")]
    MissingScope(Scope),
    #[error("this command is not supported by this server")]
    Unsupported,
    #[error("unknown venue_id")]
    UnknownVenue,
    #[error("venue_id is required: this account has more than one venue")]
    VenueRequired,
    #[error("system_id must be between 1 and {max}")]
    SystemNotEntitled { max: i32 },
    #[error("this venue is not accepting requests right now")]
    NotAccepting,
    #[error("unknown song_id")]
    SongNotFound,
    #[error(transparent)]
    Storage(StorageError),
}

impl From<StorageError> for OpenKjError {
    fn from(err: StorageError) -> Self {
        OpenKjError::Storage(err)
    }
}

impl From<VenueError> for OpenKjError {
    fn from(err: VenueError) -> Self {
        match err {
            VenueError::NotFound => OpenKjError::UnknownVenue,
            VenueError::UrlNameTaken => OpenKjError::Storage(StorageError::Conflict("url_name")),
            VenueError::OpenKjVenueIdTaken => {
                OpenKjError::Storage(StorageError::Conflict("openkj_venue_id"))
            }
            VenueError::Storage(e) => OpenKjError::Storage(e),
        }
    }
}

impl From<RequestError> for OpenKjError {
    fn from(err: RequestError) -> Self {
        match err {
            RequestError::VenueNotFound => OpenKjError::UnknownVenue,
            RequestError::NotAccepting => OpenKjError::NotAccepting,
            RequestError::Storage(e) => OpenKjError::Storage(e),
        }
    }
}

impl From<SongBookError> for OpenKjError {
    fn from(err: SongBookError) -> Self {
        match err {
            SongBookError::SongNotFound => OpenKjError::SongNotFound,
            SongBookError::Storage(e) => OpenKjError::Storage(e),
        }
    }
}

/// The OpenKJ endpoint's rules.
#[derive(Clone)]
pub struct OpenKjService {
    venues: VenueService,
    requests: RequestService,
    songs: SongBookService,
    serials: Arc<dyn SerialRepository>,
    clock: Arc<dyn Clock>,
    policy: OpenKjPolicy,
    alerts: Arc<alerts::AlertMemory>,
}

impl std::fmt::Debug for OpenKjService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenKjService")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl OpenKjService {
    pub fn new(
        venues: VenueService,
        requests: RequestService,
        songs: SongBookService,
        serials: Arc<dyn SerialRepository>,
        clock: Arc<dyn Clock>,
        policy: OpenKjPolicy,
    ) -> Self {
        Self {
            venues,
            requests,
            songs,
            serials,
            clock,
            policy: OpenKjPolicy {
                entitled_systems: policy.entitled_systems.max(1),
                ..policy
            },
            alerts: Arc::default(),
        }
    }

    pub fn policy(&self) -> OpenKjPolicy {
        self.policy
    }

    /// The scopes a key needs to run `command`: the endpoint's ([`ENDPOINT_SCOPES`]),
    /// then the command's own ([`Command::required_scope`]).
    pub fn required_scopes(command: Command) -> impl Iterator<Item = Scope> + Send {
        ENDPOINT_SCOPES.into_iter().chain(command.required_scope())
    }

    /// `getSerial`.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn serial(&self, customer: CustomerId) -> Result<Serial, OpenKjError> {
        Ok(self.serials.current_serial(customer).await?)
    }

    /// `getEntitledSystemCount`.
    pub fn entitled_system_count(&self) -> i32 {
        self.policy.entitled_systems
    }

    /// `getAlert`: the next not-yet-shown problem with the key, if any.
    pub fn alert(&self, key: &VerifiedKey) -> Option<Alert> {
        self.alerts
            .next_alert(key, self.clock.now(), self.policy.expiry_warning)
    }

    /// Forgets alerts shown more than [`ALERT_MEMORY`] ago, so the memory of shown
    /// alerts stays bounded (a key that still has the problem is told once more).
    pub fn forget_old_alerts(&self) {
        self.alerts
            .forget_shown_before(self.clock.now() - ALERT_MEMORY);
    }

    /// `getVenues`.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn venues(&self, customer: CustomerId) -> Result<Vec<Venue>, OpenKjError> {
        Ok(self.venues.list(customer).await?)
    }

    /// `getRequests`: the venue's queue, oldest first. An unknown venue has an empty
    /// queue rather than an error — OpenKJ asks for its stored venue id (0 by default)
    /// even when the account has no venues yet.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn requests(
        &self,
        customer: CustomerId,
        venue: OpenKjVenueId,
    ) -> Result<Vec<SongRequest>, OpenKjError> {
        match self.venues.find_by_openkj_id(customer, venue).await? {
            Some(venue) => Ok(self.requests.queue(&venue).await?),
            None => Ok(Vec::new()),
        }
    }

    /// `setAccepting`.
    ///
    /// # Errors
    /// `UnknownVenue`, `SystemNotEntitled`, `Storage`.
    pub async fn set_accepting(
        &self,
        context: &RequestContext,
        customer: CustomerId,
        venue: OpenKjVenueId,
        accepting: bool,
        system: Option<SystemId>,
    ) -> Result<Venue, OpenKjError> {
        let system = system.map(|s| self.entitled(s)).transpose()?;
        Ok(self
            .venues
            .set_accepting(context, customer, venue, accepting, system)
            .await?)
    }

    /// `deleteRequest`: idempotent; returns whether a queued request was removed. Ids
    /// OpenKJ cannot have been given (0) and unknown venues remove nothing.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn delete_request(
        &self,
        customer: CustomerId,
        venue: OpenKjVenueId,
        request: i32,
    ) -> Result<bool, OpenKjError> {
        let Ok(id) = RequestId::new(request) else {
            return Ok(false);
        };
        match self.venues.find_by_openkj_id(customer, venue).await? {
            Some(venue) => Ok(self.requests.delete(&venue, id).await?),
            None => Ok(false),
        }
    }

    /// `clearRequests`: returns how many requests were queued; unknown venue → 0.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn clear_requests(
        &self,
        customer: CustomerId,
        venue: OpenKjVenueId,
    ) -> Result<u64, OpenKjError> {
        match self.venues.find_by_openkj_id(customer, venue).await? {
            Some(venue) => Ok(self.requests.clear(&venue).await?),
            None => Ok(0),
        }
    }

    /// `clearDatabase`: empties the song book of `system` (requests are left alone).
    ///
    /// # Errors
    /// `SystemNotEntitled`, `Storage`.
    pub async fn clear_database(
        &self,
        customer: CustomerId,
        system: SystemId,
    ) -> Result<u64, OpenKjError> {
        let system = self.entitled(system)?;
        Ok(self.songs.clear(customer, system).await?)
    }

    /// `addSongs`: one upload batch.
    ///
    /// # Errors
    /// `SystemNotEntitled`, `Storage`.
    pub async fn add_songs(
        &self,
        customer: CustomerId,
        system: SystemId,
        entries: Vec<UploadedSong>,
    ) -> Result<AddSongsOutcome, OpenKjError> {
        let system = self.entitled(system)?;
        Ok(self.songs.add_songs(customer, system, entries).await?)
    }

    /// The venue a singer-side command (`submitRequest`, `venueAccepting`, `search`)
    /// means: the one named, or — for clients written for single-venue servers that
    /// send no `venue_id` — the account's only venue.
    ///
    /// # Errors
    /// `UnknownVenue`, `VenueRequired` (no id and not exactly one venue), `Storage`.
    pub async fn resolve_venue(
        &self,
        customer: CustomerId,
        venue: Option<OpenKjVenueId>,
    ) -> Result<Venue, OpenKjError> {
        if let Some(id) = venue {
            return self
                .venues
                .find_by_openkj_id(customer, id)
                .await?
                .ok_or(OpenKjError::UnknownVenue);
        }
        let mut venues = self.venues.list(customer).await?;
        match (venues.pop(), venues.is_empty()) {
            (Some(only), true) => Ok(only),
            (None, _) => Err(OpenKjError::UnknownVenue),
            (Some(_), false) => Err(OpenKjError::VenueRequired),
        }
    }

    /// `addRequest` (seed design): a request for the venue with that OpenKJ id, under
    /// the same accepting rule as singers.
    ///
    /// # Errors
    /// `UnknownVenue`, `NotAccepting`, `Storage`.
    pub async fn add_request(
        &self,
        customer: CustomerId,
        venue: OpenKjVenueId,
        submission: Submission,
    ) -> Result<SongRequest, OpenKjError> {
        let venue = self.resolve_venue(customer, Some(venue)).await?;
        Ok(self.requests.submit(&venue, submission).await?)
    }

    /// `submitRequest` (community servers): a request for a song of the song book, by id.
    ///
    /// # Errors
    /// `UnknownVenue`, `VenueRequired`, `SongNotFound`, `NotAccepting`, `Storage`.
    pub async fn submit_song(
        &self,
        customer: CustomerId,
        venue: Option<OpenKjVenueId>,
        song: SongId,
        singer: SingerName,
        key_change: KeyChange,
    ) -> Result<SongRequest, OpenKjError> {
        let venue = self.resolve_venue(customer, venue).await?;
        let stored = self.songs.get(customer, song).await?;
        let submission = Submission {
            singer,
            song: stored.song,
            key_change,
        };
        Ok(self.requests.submit(&venue, submission).await?)
    }

    /// `search` and `getSongs`: songs of the venue's song book when a venue is named,
    /// else of `system` (default 1).
    ///
    /// # Errors
    /// `UnknownVenue`, `Storage`.
    pub async fn songs(
        &self,
        customer: CustomerId,
        venue: Option<OpenKjVenueId>,
        system: Option<SystemId>,
        query: &SongQuery,
        page: PageRequest,
    ) -> Result<Page<StoredSong>, OpenKjError> {
        let system = match venue {
            Some(id) => self.resolve_venue(customer, Some(id)).await?.system_id(),
            None => system.unwrap_or_default(),
        };
        Ok(self.songs.search(customer, system, query, page).await?)
    }

    fn entitled(&self, system: SystemId) -> Result<SystemId, OpenKjError> {
        if system.get() > self.policy.entitled_systems {
            return Err(OpenKjError::SystemNotEntitled {
                max: self.policy.entitled_systems,
            });
        }
        Ok(system)
    }

    /// `getSongs` without `page`, `limit` or `searchString` (SPEC §9): one chunk of the
    /// whole song book of `system` — of every system of the customer when `None` — in
    /// song-id (upload) order: at most `limit` songs with an id greater than `after`.
    /// Callers list a book by passing the last id of each chunk as the next `after`
    /// until a chunk is shorter than `limit`; see
    /// [`SongBookRepository::songs_after`](crate::ports::SongBookRepository::songs_after)
    /// for what a concurrent upload does to such a listing.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn song_book_after(
        &self,
        customer: CustomerId,
        system: Option<SystemId>,
        after: Option<SongId>,
        limit: u32,
    ) -> Result<Vec<StoredSong>, OpenKjError> {
        Ok(self
            .songs
            .songs_after(customer, system, after, limit)
            .await?)
    }
}

#[cfg(test)]
#[path = "../openkj_tests.rs"]
mod tests;
