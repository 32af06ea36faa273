//! `RequestService`: singer submissions and the host's queue operations. Callers resolve
//! the venue first (by id, OpenKJ id or URL name — whichever their API uses), so every
//! method here works on a venue the caller is allowed to see.

use std::sync::Arc;

use crate::ports::{
    AddRequestError, Clock, Page, PageRequest, RequestFilter, RequestRepository, StorageError,
};
use crate::requests::{KeyChange, NewRequest, RequestId, SingerName, SongRequest};
use crate::songbook::Song;
use crate::venues::Venue;

/// What a singer (or an integration acting for one) submits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub singer: SingerName,
    pub song: Song,
    pub key_change: KeyChange,
}

/// Why a request operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The venue disappeared between lookup and write.
    #[error("venue not found")]
    VenueNotFound,
    #[error("this venue is not accepting requests right now")]
    NotAccepting,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<AddRequestError> for RequestError {
    fn from(err: AddRequestError) -> Self {
        match err {
            AddRequestError::VenueNotFound => RequestError::VenueNotFound,
            AddRequestError::NotAccepting => RequestError::NotAccepting,
            AddRequestError::Storage(e) => RequestError::Storage(e),
        }
    }
}

/// Singer requests.
#[derive(Clone)]
pub struct RequestService {
    repo: Arc<dyn RequestRepository>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RequestService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestService").finish_non_exhaustive()
    }
}

impl RequestService {
    pub fn new(repo: Arc<dyn RequestRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { repo, clock }
    }

    /// Queues a request at `venue`, stamped with the current time. Refused when the venue
    /// is not accepting requests — checked here, and again by storage in the write's own
    /// transaction, so a venue closed a moment ago never receives one.
    ///
    /// # Errors
    /// `NotAccepting`, `VenueNotFound`, `Storage`.
    pub async fn submit(
        &self,
        venue: &Venue,
        submission: Submission,
    ) -> Result<SongRequest, RequestError> {
        if !venue.is_accepting_requests() {
            return Err(RequestError::NotAccepting);
        }
        let request = NewRequest {
            singer: submission.singer,
            song: submission.song,
            key_change: submission.key_change,
            requested_at: self.clock.now(),
        };
        let stored = self
            .repo
            .add_request(venue.customer_id(), venue.id(), request)
            .await?;
        Ok(stored.value)
    }

    /// The venue's queue, oldest first.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn queue(&self, venue: &Venue) -> Result<Vec<SongRequest>, RequestError> {
        Ok(self
            .repo
            .queued_requests(venue.customer_id(), venue.id())
            .await?)
    }

    /// One page of the venue's requests (queue, history or both), oldest first.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn list(
        &self,
        venue: &Venue,
        filter: RequestFilter,
        page: PageRequest,
    ) -> Result<Page<SongRequest>, RequestError> {
        Ok(self
            .repo
            .list_requests(venue.customer_id(), venue.id(), filter, page)
            .await?)
    }

    /// Takes one request out of the queue (it stays in the history). Returns whether it
    /// was queued; an unknown id is not an error, since OpenKJ may delete twice.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn delete(&self, venue: &Venue, id: RequestId) -> Result<bool, RequestError> {
        let at = self.clock.now();
        Ok(self
            .repo
            .mark_request_processed(venue.customer_id(), venue.id(), id, at)
            .await?
            .value)
    }

    /// Empties the venue's queue; returns how many requests it held.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn clear(&self, venue: &Venue) -> Result<u64, RequestError> {
        let at = self.clock.now();
        Ok(self
            .repo
            .clear_queue(venue.customer_id(), venue.id(), at)
            .await?
            .value)
    }
}

#[cfg(test)]
#[path = "requests_tests.rs"]
mod tests;
