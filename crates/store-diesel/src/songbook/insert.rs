//! The bulk song insert, whose SQL differs per backend (Diesel cannot combine SQLite's
//! multi-row insert with `ON CONFLICT`):
//!
//! * PostgreSQL: one statement per batch whatever its size — the songs bound as four
//!   text arrays and expanded with `unnest` — so the SQL text, and its prepared
//!   statement, never change.
//! * SQLite: a multi-row `VALUES` list of up to [`SQLITE_SONGS_PER_STATEMENT`] songs.
//!
//! Both skip songs already in the song book (or earlier in the batch) with
//! `ON CONFLICT (customer_id, system_id, artist, title) DO NOTHING` and return how many
//! rows were inserted.

use diesel::QueryResult;
use diesel::sql_types::{Array, Integer, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::conn::SqliteConnection;
use crate::types::{DbUuid, PortableUuid};

/// Songs per SQLite statement: OpenKJ's batch size; six binds each stays far below
/// SQLite's 32,766-bind limit.
const SQLITE_SONGS_PER_STATEMENT: usize = 1000;

const POSTGRES_SQL: &str = "\
INSERT INTO songs (customer_id, system_id, artist, title, artist_folded, title_folded)
SELECT $1, $2, u.artist, u.title, u.artist_folded, u.title_folded
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[])
    AS u(artist, title, artist_folded, title_folded)
ON CONFLICT (customer_id, system_id, artist, title) DO NOTHING";

const SQLITE_INSERT: &str = "INSERT INTO songs (customer_id, system_id, artist, title, artist_folded, title_folded) VALUES ";
const SQLITE_CONFLICT: &str = " ON CONFLICT (customer_id, system_id, artist, title) DO NOTHING";

/// One song's column values, folded copies included.
#[derive(Debug)]
pub(crate) struct SongValues {
    pub(crate) artist: String,
    pub(crate) title: String,
    pub(crate) artist_folded: String,
    pub(crate) title_folded: String,
}

/// Inserts a batch of songs into one song book, skipping duplicates.
pub(crate) trait InsertSongs {
    async fn insert_songs(
        &mut self,
        customer: DbUuid,
        system: i32,
        songs: &[SongValues],
    ) -> QueryResult<u64>;
}

impl InsertSongs for AsyncPgConnection {
    async fn insert_songs(
        &mut self,
        customer: DbUuid,
        system: i32,
        songs: &[SongValues],
    ) -> QueryResult<u64> {
        let column =
            |pick: fn(&SongValues) -> &str| -> Vec<&str> { songs.iter().map(pick).collect() };
        let inserted = diesel::sql_query(POSTGRES_SQL)
            .bind::<PortableUuid, _>(customer)
            .bind::<Integer, _>(system)
            .bind::<Array<Text>, _>(column(|s| &s.artist))
            .bind::<Array<Text>, _>(column(|s| &s.title))
            .bind::<Array<Text>, _>(column(|s| &s.artist_folded))
            .bind::<Array<Text>, _>(column(|s| &s.title_folded))
            .execute(self)
            .await?;
        Ok(inserted as u64)
    }
}

impl InsertSongs for SqliteConnection {
    async fn insert_songs(
        &mut self,
        customer: DbUuid,
        system: i32,
        songs: &[SongValues],
    ) -> QueryResult<u64> {
        let mut inserted = 0u64;
        for chunk in songs.chunks(SQLITE_SONGS_PER_STATEMENT) {
            let values = vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
            let sql = format!("{SQLITE_INSERT}{values}{SQLITE_CONFLICT}");
            let query = chunk
                .iter()
                .fold(diesel::sql_query(sql).into_boxed(), |query, song| {
                    query
                        .bind::<PortableUuid, _>(customer)
                        .bind::<Integer, _>(system)
                        .bind::<Text, _>(song.artist.as_str())
                        .bind::<Text, _>(song.title.as_str())
                        .bind::<Text, _>(song.artist_folded.as_str())
                        .bind::<Text, _>(song.title_folded.as_str())
                });
            inserted += query.execute(self).await? as u64;
        }
        Ok(inserted)
    }
}
