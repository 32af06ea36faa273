//! `SongBookService`: song uploads and song search. Uploads are lenient on purpose — an
//! OpenKJ upload is fire-and-forget with no retry, so one odd row must never cost the
//! other 999 of its batch.

use std::sync::Arc;

use crate::ids::CustomerId;
use crate::ports::{Page, PageRequest, SongBookRepository, StorageError};
use crate::songbook::{Song, SongId, SongQuery, StoredSong};
use crate::venues::SystemId;

/// What happened to one uploaded batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddSongsOutcome {
    /// Entries in the batch.
    pub received: u64,
    /// Songs newly stored.
    pub added: u64,
    /// Entries refused by [`Song::new`] (both fields empty, too long, NUL) or malformed.
    pub rejected: u64,
}

impl AddSongsOutcome {
    /// Valid entries that were already in the song book (or twice in the batch).
    pub fn duplicates(&self) -> u64 {
        self.received - self.rejected - self.added
    }
}

/// Why a song book operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SongBookError {
    #[error("song not found")]
    SongNotFound,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// One entry of an upload as it arrived: a song, or something that could not be one
/// (e.g. a JSON element that is not an `{artist, title}` object of strings).
pub type UploadedSong = Option<(String, String)>;

/// Song books.
#[derive(Clone)]
pub struct SongBookService {
    repo: Arc<dyn SongBookRepository>,
}

impl std::fmt::Debug for SongBookService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SongBookService").finish_non_exhaustive()
    }
}

impl SongBookService {
    pub fn new(repo: Arc<dyn SongBookRepository>) -> Self {
        Self { repo }
    }

    /// Adds one batch. Invalid entries are counted and skipped; duplicates are skipped by
    /// storage. An empty (or wholly invalid) batch touches nothing.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn add_songs(
        &self,
        customer: CustomerId,
        system: SystemId,
        entries: Vec<UploadedSong>,
    ) -> Result<AddSongsOutcome, SongBookError> {
        let received = entries.len() as u64;
        let songs: Vec<Song> = entries
            .into_iter()
            .filter_map(|entry| entry.and_then(|(artist, title)| Song::new(artist, title).ok()))
            .collect();
        let rejected = received - songs.len() as u64;
        let added = if songs.is_empty() {
            0
        } else {
            self.repo.add_songs(customer, system, &songs).await?
        };
        Ok(AddSongsOutcome {
            received,
            added,
            rejected,
        })
    }

    /// Empties a song book; returns how many songs it held.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn clear(
        &self,
        customer: CustomerId,
        system: SystemId,
    ) -> Result<u64, SongBookError> {
        Ok(self.repo.clear_song_book(customer, system).await?.value)
    }

    /// # Errors
    /// `Storage`.
    pub async fn search(
        &self,
        customer: CustomerId,
        system: SystemId,
        query: &SongQuery,
        page: PageRequest,
    ) -> Result<Page<StoredSong>, SongBookError> {
        Ok(self
            .repo
            .search_songs(customer, system, query, page)
            .await?)
    }

    /// # Errors
    /// `SongNotFound` (also for another customer's song), `Storage`.
    pub async fn get(&self, customer: CustomerId, id: SongId) -> Result<StoredSong, SongBookError> {
        self.repo
            .get_song(customer, id)
            .await?
            .ok_or(SongBookError::SongNotFound)
    }

    /// One chunk of a whole song book in id order (see
    /// [`SongBookRepository::songs_after`]): at most `limit` songs of `system` (every
    /// system of the customer when `None`) with an id greater than `after`.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn songs_after(
        &self,
        customer: CustomerId,
        system: Option<SystemId>,
        after: Option<SongId>,
        limit: u32,
    ) -> Result<Vec<StoredSong>, SongBookError> {
        Ok(self
            .repo
            .songs_after(customer, system, after, limit)
            .await?)
    }
}

#[cfg(test)]
#[path = "songbook_tests.rs"]
mod tests;
