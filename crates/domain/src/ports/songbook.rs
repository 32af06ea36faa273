//! The storage port for song books: one per (customer, system id).

use async_trait::async_trait;

use crate::ids::CustomerId;
use crate::ports::storage::{Page, PageRequest, StorageError};
use crate::serial::WithSerial;
use crate::songbook::{Song, SongId, SongQuery, StoredSong};
use crate::venues::SystemId;

/// Persistence of song books.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SongBookRepository: Send + Sync {
    /// Adds `songs` to the song book of (`customer`, `system`) in bulk (one statement or
    /// one transaction per batch, never a round trip per song). A song whose artist and
    /// title equal, byte for byte, a stored song or an earlier one in the batch is
    /// skipped. Returns how many songs were stored. The serial does not move: OpenKJ
    /// never displays the song book.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure; nothing of the batch is stored then.
    async fn add_songs(
        &self,
        customer: CustomerId,
        system: SystemId,
        songs: &[Song],
    ) -> Result<u64, StorageError>;

    /// Empties the song book of (`customer`, `system`) and returns how many songs it
    /// held; bumps the customer's serial when that was more than zero.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn clear_song_book(
        &self,
        customer: CustomerId,
        system: SystemId,
    ) -> Result<WithSerial<u64>, StorageError>;

    /// One page of the songs of (`customer`, `system`) that match `query` (see
    /// [`SongQuery::matches`]), ordered by folded artist, then folded title (byte order
    /// of [`crate::songbook::fold`]), then id; with the number of matches counted up to
    /// [`crate::songbook::SONG_SEARCH_TOTAL_CAP`] ([`crate::songbook::capped_total`]):
    /// exact below the cap, the cap itself when there are that many or more.
    ///
    /// Adapters answer from a text index (SQLite FTS5 trigram, PostgreSQL `pg_trgm`) but
    /// must return exactly what the reference semantics select, short terms (below the
    /// index's three characters) included.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn search_songs(
        &self,
        customer: CustomerId,
        system: SystemId,
        query: &SongQuery,
        page: PageRequest,
    ) -> Result<Page<StoredSong>, StorageError>;

    /// The customer's song with that id, from any of its song books.
    ///
    /// # Errors
    /// `Unavailable`/`Other`; a missing or foreign song is `Ok(None)`.
    async fn get_song(
        &self,
        customer: CustomerId,
        id: SongId,
    ) -> Result<Option<StoredSong>, StorageError>;

    /// Keyset pagination of whole song books by id (`getSongs` without paging, SPEC §9):
    /// at most `limit` songs of the song book (`customer`, `system`) — of every song book
    /// of `customer` when `system` is `None` — whose id is greater than `after` (every
    /// id when `None`), in ascending id order. Fewer than `limit` songs (none when `limit`
    /// is 0) means there are no more. Listing a book chunk by chunk, each call's `after`
    /// the last id of the previous chunk, yields each song at most once, in id order.
    ///
    /// Ids follow upload order: of two stored songs, the one stored by an
    /// [`add_songs`](Self::add_songs) that returned before the other's began has the
    /// smaller id. Between two calls songs may be added or removed: a removed song is not
    /// listed again; an added one is listed by a later call exactly when its id is greater
    /// than that call's `after` — usually so, but an insert that commits late
    /// (PostgreSQL) can have a smaller id and be skipped. SQLite never reuses an id
    /// (`AUTOINCREMENT`).
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn songs_after(
        &self,
        customer: CustomerId,
        system: Option<SystemId>,
        after: Option<SongId>,
        limit: u32,
    ) -> Result<Vec<StoredSong>, StorageError>;
}
