//! `SongBookRepository` on Diesel. Uploads are bulk inserts (see [`insert`]) in one
//! transaction, so a 200,000-song library is a couple of hundred statements, not
//! 200,000 round trips. Search uses each engine's trigram index and re-checks candidates
//! against the folded columns, ordering by them bytewise, which both backends do
//! identically ([`search`], ADR 0033 and 0052); [`index`] keeps the index true.

mod index;
mod insert;
mod row;
mod search;

use index::ForgetSongBook;
pub(crate) use index::IndexerSlot;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use keyward_domain::CustomerId;
use keyward_domain::ports::{Page, PageRequest, SongBookRepository, StorageError};
use keyward_domain::serial::WithSerial;
use keyward_domain::songbook::{Song, SongId, SongQuery, StoredSong};
use keyward_domain::venues::SystemId;

use self::insert::{InsertSongs, SongValues};
use self::row::SongRow;
use self::search::{FoundSong, SearchRequest, SearchSongs};
use crate::DieselStore;
use crate::conn::{TxError, with_connection, write_transaction};
use crate::customer_state::{CustomerRows, finish, now, tx_storage_error};
use crate::error::storage_error;
use crate::schema::songs;
use crate::types::DbUuid;

fn to_songs(rows: Vec<SongRow>) -> Result<Vec<StoredSong>, StorageError> {
    rows.into_iter().map(StoredSong::try_from).collect()
}

#[async_trait]
impl SongBookRepository for DieselStore {
    async fn add_songs(
        &self,
        customer: CustomerId,
        system: SystemId,
        songs: &[Song],
    ) -> Result<u64, StorageError> {
        if songs.is_empty() {
            return Ok(0);
        }
        let customer = DbUuid(customer.as_uuid());
        let values: Vec<SongValues> = songs
            .iter()
            .map(|song| SongValues {
                artist: song.artist().to_owned(),
                title: song.title().to_owned(),
                artist_folded: song.artist_folded(),
                title_folded: song.title_folded(),
            })
            .collect();
        let added = write_transaction!(self.pools, |conn| {
            conn.ensure_customer(customer, now()).await?;
            let added = conn.insert_songs(customer, system.get(), &values).await?;
            Ok::<_, TxError<StorageError>>(added)
        })
        .map_err(tx_storage_error)?;
        if added > 0 {
            if self.index_on_upload {
                self.index_songs_now().await?;
            }
            self.songs_added();
        }
        Ok(added)
    }

    async fn clear_song_book(
        &self,
        customer: CustomerId,
        system: SystemId,
    ) -> Result<WithSerial<u64>, StorageError> {
        let customer = DbUuid(customer.as_uuid());
        write_transaction!(self.pools, |conn| {
            let state = conn.lock_state(customer).await?;
            conn.forget_song_book(customer, system.get()).await?;
            let removed = diesel::delete(
                songs::table
                    .filter(songs::customer_id.eq(customer))
                    .filter(songs::system_id.eq(system.get())),
            )
            .execute(conn)
            .await? as u64;
            let serial = finish(conn, customer, state, removed > 0).await?;
            Ok::<_, TxError<StorageError>>(WithSerial::new(removed, serial))
        })
        .map_err(tx_storage_error)
    }

    async fn search_songs(
        &self,
        customer: CustomerId,
        system: SystemId,
        query: &SongQuery,
        page: PageRequest,
    ) -> Result<Page<StoredSong>, StorageError> {
        // No song holds NUL (`Song::new`), and neither FTS5 nor PostgreSQL text can take
        // it; an over-long term costs the index a lookup per trigram for nothing.
        if !query.can_match() {
            return Ok(Page {
                items: Vec::new(),
                total: 0,
                request: page,
            });
        }
        let request = SearchRequest {
            customer: DbUuid(customer.as_uuid()),
            system: system.get(),
            terms: query.terms(),
            limit: i64::from(page.limit()),
            offset: i64::try_from(page.offset()).unwrap_or(i64::MAX),
        };
        let (total, rows): (u64, Vec<FoundSong>) =
            with_connection!(self.pools, |conn| conn.search_songs(&request).await)
                .map_err(storage_error)?;
        let items = rows
            .into_iter()
            .map(|row| {
                StoredSong::try_from(SongRow {
                    id: row.id,
                    artist: row.artist,
                    title: row.title,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            total,
            request: page,
        })
    }

    async fn get_song(
        &self,
        customer: CustomerId,
        id: SongId,
    ) -> Result<Option<StoredSong>, StorageError> {
        let customer = DbUuid(customer.as_uuid());
        let row: Option<SongRow> = with_connection!(self.pools, |conn| {
            songs::table
                .filter(songs::id.eq(id.get()))
                .filter(songs::customer_id.eq(customer))
                .select(SongRow::as_select())
                .first(conn)
                .await
                .optional()
        })
        .map_err(storage_error)?;
        row.map(StoredSong::try_from).transpose()
    }

    /// One query per chunk: `customer_id = ? [AND system_id = ?] AND id > ? ORDER BY id
    /// LIMIT ?`, on a connection checked out for that one statement, so a long listing
    /// never holds a connection between chunks. PostgreSQL walks the primary key;
    /// SQLite walks `songs_customer_order_idx (customer_id, id)` (without it each chunk
    /// sorted the whole book; measured in `docs/PERFORMANCE.md`).
    async fn songs_after(
        &self,
        customer: CustomerId,
        system: Option<SystemId>,
        after: Option<SongId>,
        limit: u32,
    ) -> Result<Vec<StoredSong>, StorageError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let customer = DbUuid(customer.as_uuid());
        let system = system.map(SystemId::get);
        let after = after.map(SongId::get);
        let rows: Vec<SongRow> = with_connection!(self.pools, |conn| {
            let mut query = songs::table
                .filter(songs::customer_id.eq(customer))
                .into_boxed();
            if let Some(system) = system {
                query = query.filter(songs::system_id.eq(system));
            }
            if let Some(after) = after {
                query = query.filter(songs::id.gt(after));
            }
            query
                .order(songs::id.asc())
                .limit(i64::from(limit))
                .select(SongRow::as_select())
                .load(conn)
                .await
        })
        .map_err(storage_error)?;
        to_songs(rows)
    }
}
