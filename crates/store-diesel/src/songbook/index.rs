//! Keeping the song search index true (ADR 0052):
//!
//! * **Refold** ([`DieselStore::refold_songs`], run by [`DieselStore::migrate`]): when
//!   `song_search_state.fold_version` is older than
//!   [`keyward_domain::songbook::FOLD_VERSION`], every stored song's folded columns are
//!   recomputed in batches, then the version is recorded (SQLite also empties its index,
//!   which the indexer rebuilds). Idempotent, so an interrupted refold just runs again.
//! * **Indexer**, a task per store started by the first upload or migration, which runs
//!   once uploads have paused for [`QUIET`]:
//!   - SQLite: uploads do not touch the FTS5 table, which would cost them most of their
//!     speed. The task adds songs with `id > indexed_through` to `songs_search` in
//!     transactions of [`INDEX_BATCH`] songs (also every [`TICK`], which catches songs
//!     another process added), and search scans the not-yet-indexed tail itself, so
//!     results never depend on the indexer having caught up.
//!   - PostgreSQL: uploads queue their song ids in `songs_unindexed`; the task moves them
//!     in batches of [`INDEX_BATCH`] into `song_search` (the folded artist and title, under
//!     a GIN trigram index; `FOR UPDATE SKIP LOCKED`, so instances sharing the database split
//!     the work), then vacuums the drained queue and runs `ANALYZE` — without it the planner still believes a fresh
//!     200,000-song book holds a handful of rows and sorts it whole instead of walking
//!     its index — and merges the GIN pending list. Search reads the queue too.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use diesel::QueryResult;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};
use diesel_async::RunQueryDsl;
use keyward_domain::ports::StorageError;
use keyward_domain::songbook::{FOLD_VERSION, Song, fold};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::DieselStore;
use crate::conn::{TxError, with_connection, write_transaction};
use crate::customer_state::tx_storage_error;
use crate::error::{error_chain, storage_error};
use crate::pool::{BackendPool, Pools};
use crate::schema::songs;
use crate::types::{DbUuid, PortableUuid};

/// Songs per indexing transaction: short enough (tens of milliseconds) that other
/// writers barely wait for SQLite's write lock.
const INDEX_BATCH: i64 = 1000;
/// How long uploads must pause before the indexer starts.
const QUIET: Duration = Duration::from_millis(300);
/// How often the indexer looks for songs nobody told it about (another process).
const TICK: Duration = Duration::from_secs(5);
/// Songs per refold batch.
const REFOLD_BATCH: i64 = 2000;

#[derive(Debug, QueryableByName)]
struct FoldVersion {
    #[diesel(sql_type = Integer)]
    fold_version: i32,
}

#[derive(Debug, QueryableByName)]
struct Pending {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pending: bool,
}

#[derive(Debug, QueryableByName)]
struct Indexed {
    #[diesel(sql_type = BigInt)]
    through: i64,
}

/// The index task; aborted when the last clone of its store is dropped.
#[derive(Debug)]
pub(crate) struct SongIndexer {
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Drop for SongIndexer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The store's index task slot: empty until the first upload or migration of this
/// process.
pub(crate) type IndexerSlot = Arc<OnceLock<SongIndexer>>;

impl DieselStore {
    /// A store whose uploads add their songs to the search index before they
    /// return, so tests can exercise the indexed search plan (production uploads leave
    /// that to the indexer task).
    #[cfg(feature = "testing")]
    #[must_use]
    pub fn indexing_on_upload(mut self) -> Self {
        self.index_on_upload = true;
        self
    }

    /// Starts the index task when songs wait for the index (an upload cut short by a
    /// restart, another process's upload, a refold); run by [`DieselStore::migrate`].
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    pub(crate) async fn resume_indexing(&self) -> Result<(), StorageError> {
        let sql = match self.pools.backend {
            BackendPool::Sqlite(_) => {
                "SELECT EXISTS (SELECT 1 FROM songs \
                 WHERE id > (SELECT indexed_through FROM song_search_state)) AS pending"
            }
            BackendPool::Postgres(_) => "SELECT EXISTS (SELECT 1 FROM songs_unindexed) AS pending",
        };
        let waiting: Pending = with_connection!(self.pools, |conn| {
            diesel::sql_query(sql).get_result(conn).await
        })
        .map_err(storage_error)?;
        if waiting.pending {
            self.songs_added();
        }
        Ok(())
    }

    /// Tells the index task that songs were added (starting it if needed). Needs a tokio
    /// runtime.
    pub(crate) fn songs_added(&self) {
        let indexer = self.indexer.get_or_init(|| {
            let wake = Arc::new(Notify::new());
            // On the runtime that opened the store, not an actix worker's own (which dies
            // with its worker).
            let task = self
                .runtime
                .spawn(run_indexer(self.pools.clone(), Arc::clone(&wake)));
            SongIndexer { wake, task }
        });
        indexer.wake.notify_one();
    }

    /// Does now what the indexer does once uploads pause: adds every song not yet in the
    /// search index to it and returns how many (on PostgreSQL it then refreshes the
    /// planner statistics and merges the GIN pending list).
    /// Searches are exact without this; it only makes them fast for every song. For
    /// tests, benchmarks and operators who want it done before traffic arrives.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure; what was indexed before it stays.
    pub async fn index_songs_now(&self) -> Result<u64, StorageError> {
        index_pending(&self.pools).await
    }

    /// Recomputes every song's folded columns when they were folded by an older
    /// [`FOLD_VERSION`] (see the module docs); returns how many songs changed. Run by
    /// [`DieselStore::migrate`].
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure; batches already refolded stay, and the
    /// next run finishes the job.
    pub async fn refold_songs(&self) -> Result<u64, StorageError> {
        let version: FoldVersion = with_connection!(self.pools, |conn| {
            diesel::sql_query("SELECT fold_version FROM song_search_state WHERE id = 1")
                .get_result(conn)
                .await
        })
        .map_err(storage_error)?;
        if version.fold_version >= FOLD_VERSION {
            return Ok(0);
        }
        tracing::info!(
            from = version.fold_version,
            to = FOLD_VERSION,
            "refolding stored songs for search"
        );
        let mut after = 0_i64;
        let mut changed = 0_u64;
        let mut seen = 0_u64;
        loop {
            let rows: Vec<(i64, String, String, String, String)> =
                with_connection!(self.pools, |conn| {
                    songs::table
                        .filter(songs::id.gt(after))
                        .order(songs::id.asc())
                        .limit(REFOLD_BATCH)
                        .select((
                            songs::id,
                            songs::artist,
                            songs::title,
                            songs::artist_folded,
                            songs::title_folded,
                        ))
                        .load(conn)
                        .await
                })
                .map_err(storage_error)?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            seen += rows.len() as u64;
            let mut unstorable: Vec<i64> = Vec::new();
            let stale: Vec<(i64, String, String)> = rows
                .into_iter()
                .filter_map(|(id, artist, title, artist_folded, title_folded)| {
                    if Song::new(artist.as_str(), title.as_str()).is_err() {
                        // Stored by an older version whose rules it no longer meets
                        // (its fold outgrew the search index's row limit).
                        unstorable.push(id);
                        return None;
                    }
                    let (artist, title) = (fold(&artist), fold(&title));
                    (artist != artist_folded || title != title_folded)
                        .then_some((id, artist, title))
                })
                .collect();
            if !unstorable.is_empty() {
                tracing::warn!(
                    count = unstorable.len(),
                    "removing stored songs that no longer fit the song search index \
                     (their folded text is longer than it may hold)"
                );
                write_transaction!(self.pools, |conn| {
                    conn.forget_songs(&unstorable).await?;
                    diesel::delete(songs::table.filter(songs::id.eq_any(&unstorable)))
                        .execute(conn)
                        .await?;
                    Ok::<_, TxError<StorageError>>(())
                })
                .map_err(tx_storage_error)?;
            }
            if !stale.is_empty() {
                changed += write_transaction!(self.pools, |conn| {
                    for (id, artist, title) in &stale {
                        diesel::update(songs::table.find(*id))
                            .set((
                                songs::artist_folded.eq(artist),
                                songs::title_folded.eq(title),
                            ))
                            .execute(conn)
                            .await?;
                    }
                    Ok::<_, TxError<StorageError>>(stale.len() as u64)
                })
                .map_err(tx_storage_error)?;
            }
            if seen % 50_000 < REFOLD_BATCH as u64 {
                tracing::info!(seen, changed, "refolding stored songs");
            }
        }
        finish_refold(&self.pools).await?;
        tracing::info!(seen, changed, "stored songs refolded");
        Ok(changed)
    }
}

/// Records [`FOLD_VERSION`] and empties the index (re-queueing every song on PostgreSQL)
/// so the indexer rebuilds it from the refolded columns.
async fn finish_refold(pools: &Pools) -> Result<(), StorageError> {
    let record = format!("UPDATE song_search_state SET fold_version = {FOLD_VERSION} WHERE id = 1");
    match pools.backend {
        BackendPool::Postgres(_) => write_transaction!(pools, |conn| {
            diesel::sql_query("TRUNCATE song_search")
                .execute(conn)
                .await?;
            diesel::sql_query(
                "INSERT INTO songs_unindexed (id) SELECT id FROM songs ON CONFLICT (id) DO NOTHING",
            )
            .execute(conn)
            .await?;
            diesel::sql_query(record.as_str()).execute(conn).await?;
            Ok::<_, TxError<StorageError>>(())
        })
        .map_err(tx_storage_error),
        BackendPool::Sqlite(_) => write_transaction!(pools, |conn| {
            diesel::sql_query("INSERT INTO songs_search (songs_search) VALUES ('delete-all')")
                .execute(conn)
                .await?;
            diesel::sql_query("UPDATE song_search_state SET indexed_through = 0 WHERE id = 1")
                .execute(conn)
                .await?;
            diesel::sql_query(record.as_str()).execute(conn).await?;
            Ok::<_, TxError<StorageError>>(())
        })
        .map_err(tx_storage_error),
    }
}

/// Indexes every queued song in batches and returns how many; on PostgreSQL then
/// refreshes the statistics and merges the GIN pending list.
async fn index_pending(pools: &Pools) -> Result<u64, StorageError> {
    if matches!(pools.backend, BackendPool::Postgres(_)) {
        let mut indexed = 0;
        loop {
            let batch = with_connection!(pools, |conn| {
                diesel::sql_query(POSTGRES_INDEX_BATCH)
                    .bind::<BigInt, _>(INDEX_BATCH)
                    .execute(conn)
                    .await
            })
            .map_err(storage_error)?;
            if batch == 0 {
                break;
            }
            indexed += batch as u64;
        }
        if indexed == 0 {
            return Ok(0);
        }
        with_connection!(pools, |conn| {
            // The drained queue is empty but still spans every page the upload filled,
            // which each search would read (4 ms after 200,000 songs) until autovacuum.
            diesel::sql_query("VACUUM (ANALYZE) songs_unindexed")
                .execute(conn)
                .await?;
            diesel::sql_query("ANALYZE songs, song_search")
                .execute(conn)
                .await?;
            diesel::sql_query("SELECT gin_clean_pending_list('song_search_trigram_idx'::regclass)")
                .execute(conn)
                .await
        })
        .map_err(storage_error)?;
        return Ok(indexed);
    }
    let mut indexed = 0;
    loop {
        let batch = index_batch(pools).await?;
        if batch == 0 {
            return Ok(indexed);
        }
        indexed += batch;
    }
}

/// One statement (so one transaction): the next [`INDEX_BATCH`] queued songs out of the
/// queue and into `song_search`. `SKIP LOCKED` lets another instance's task take the next
/// batch meanwhile. Whoever deletes songs deletes their queue rows first (see
/// [`ForgetSongBook`]), which waits for this statement's locks on them, and their
/// `song_search` rows after, so none is left behind.
const POSTGRES_INDEX_BATCH: &str = "\
WITH batch AS (
    DELETE FROM songs_unindexed WHERE id IN (
        SELECT id FROM songs_unindexed ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING id
)
INSERT INTO song_search (id, customer_id, system_id, artist_folded, title_folded)
SELECT s.id, s.customer_id, s.system_id, s.artist_folded, s.title_folded
FROM batch JOIN songs AS s ON s.id = batch.id
ON CONFLICT (id) DO UPDATE
SET artist_folded = EXCLUDED.artist_folded, title_folded = EXCLUDED.title_folded";

/// One transaction: the next [`INDEX_BATCH`] songs past the watermark into the index, and
/// the watermark past them. SQLite's single writer means every song with a smaller id
/// than the batch's last has committed, and later ones get larger ids (AUTOINCREMENT).
async fn index_batch(pools: &Pools) -> Result<u64, StorageError> {
    write_transaction!(pools, |conn| {
        let from: Indexed = diesel::sql_query(
            "SELECT indexed_through AS through FROM song_search_state WHERE id = 1",
        )
        .get_result(conn)
        .await?;
        let added = diesel::sql_query(
            "INSERT INTO songs_search (rowid, artist_folded, title_folded) \
             SELECT id, artist_folded, title_folded FROM songs WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind::<BigInt, _>(from.through)
        .bind::<BigInt, _>(INDEX_BATCH)
        .execute(conn)
        .await?;
        if added > 0 {
            diesel::sql_query(
                "UPDATE song_search_state SET indexed_through = \
                 (SELECT max(id) FROM (SELECT id FROM songs WHERE id > ? ORDER BY id LIMIT ?)) \
                 WHERE id = 1",
            )
            .bind::<BigInt, _>(from.through)
            .bind::<BigInt, _>(INDEX_BATCH)
            .execute(conn)
            .await?;
        }
        Ok::<_, TxError<StorageError>>(added as u64)
    })
    .map_err(tx_storage_error)
}

/// The indexer loop: wait for news (or, on SQLite, the tick) and for uploads to pause,
/// then catch up.
async fn run_indexer(pools: Pools, wake: Arc<Notify>) {
    let tick = match pools.backend {
        BackendPool::Sqlite(_) => TICK,
        // Nothing to find that nobody announced: another instance maintains its own.
        BackendPool::Postgres(_) => Duration::from_secs(24 * 60 * 60),
    };
    loop {
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(tick) => {}
        }
        loop {
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(QUIET) => break,
            }
        }
        match index_pending(&pools).await {
            Ok(0) => {}
            Ok(indexed) => tracing::debug!(indexed, "songs added to the search index"),
            Err(err) => tracing::warn!(
                error = %error_chain(&err),
                "maintaining the song search index failed; searches stay exact, retrying later"
            ),
        }
    }
}

#[cfg(feature = "testing")]
#[derive(Debug, QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[cfg(feature = "testing")]
impl DieselStore {
    /// Tests only: runs `sql` (no results) and returns the number of rows it touched.
    ///
    /// # Errors
    /// The database's error.
    pub async fn execute_sql(&self, sql: &str) -> Result<usize, StorageError> {
        with_connection!(self.pools, |conn| diesel::sql_query(sql)
            .execute(conn)
            .await)
        .map_err(storage_error)
    }

    /// Tests only: runs `sql`, which selects one `bigint` column named `n`, and returns it.
    ///
    /// # Errors
    /// The database's error.
    pub async fn query_i64(&self, sql: &str) -> Result<i64, StorageError> {
        let number: Number = with_connection!(self.pools, |conn| diesel::sql_query(sql)
            .get_result(conn)
            .await)
        .map_err(storage_error)?;
        Ok(number.n)
    }
}

/// Removes search index entries that no trigger removes: PostgreSQL's `song_search` rows
/// and queued ids (SQLite's FTS5 entries go by trigger). Run in the transaction that
/// deletes the songs, before it does: the queue rows go first, which waits for an index
/// batch holding them, so the `song_search` delete after it sees that batch's rows and no
/// entry outlives its song (PostgreSQL search counts and pages `song_search` rows before
/// it reads `songs`).
pub(crate) trait ForgetSongBook {
    /// Every entry of one song book.
    async fn forget_song_book(&mut self, customer: DbUuid, system: i32) -> QueryResult<()>;

    /// The entries of the songs `ids`.
    async fn forget_songs(&mut self, ids: &[i64]) -> QueryResult<()>;
}

impl ForgetSongBook for diesel_async::AsyncPgConnection {
    async fn forget_song_book(&mut self, customer: DbUuid, system: i32) -> QueryResult<()> {
        diesel::sql_query(
            "DELETE FROM songs_unindexed AS u USING songs AS s \
             WHERE u.id = s.id AND s.customer_id = $1 AND s.system_id = $2",
        )
        .bind::<PortableUuid, _>(customer)
        .bind::<Integer, _>(system)
        .execute(self)
        .await?;
        diesel::sql_query("DELETE FROM song_search WHERE customer_id = $1 AND system_id = $2")
            .bind::<PortableUuid, _>(customer)
            .bind::<Integer, _>(system)
            .execute(self)
            .await
            .map(drop)
    }

    async fn forget_songs(&mut self, ids: &[i64]) -> QueryResult<()> {
        for table in ["songs_unindexed", "song_search"] {
            diesel::sql_query(format!("DELETE FROM {table} WHERE id = ANY($1)"))
                .bind::<diesel::sql_types::Array<BigInt>, _>(ids)
                .execute(self)
                .await?;
        }
        Ok(())
    }
}

impl ForgetSongBook for crate::conn::SqliteConnection {
    async fn forget_song_book(&mut self, _customer: DbUuid, _system: i32) -> QueryResult<()> {
        Ok(())
    }

    async fn forget_songs(&mut self, _ids: &[i64]) -> QueryResult<()> {
        Ok(())
    }
}
