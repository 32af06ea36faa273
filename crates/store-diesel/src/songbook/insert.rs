//! The bulk song insert, whose SQL differs per backend (Diesel cannot combine SQLite's
//! multi-row insert with `ON CONFLICT`):
//!
//! * PostgreSQL: one statement per batch whatever its size — the songs bound as four
//!   text arrays and expanded with `unnest` — so the SQL text, and its prepared
//!   statement, never change.
//! * SQLite: one statement per batch too — the songs bound as a single JSON array of
//!   `[artist, title, artist_folded, title_folded]` and expanded with `json_each` (SQLite
//!   3.38+ `->>`). A 1,000-row `VALUES` list with 6,000 binds spent more time parsing the
//!   statement and moving binds than inserting (ADR 0052).
//!
//! Both skip songs already in the song book (or earlier in the batch) with
//! `ON CONFLICT (customer_id, system_id, artist, title) DO NOTHING` and return how many
//! rows were inserted.

use diesel::QueryResult;
use diesel::sql_types::{Array, Integer, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::conn::SqliteConnection;
use crate::types::{DbUuid, PortableUuid};

/// Inserts the batch and queues the new songs for the search index task (ADR 0052).
const POSTGRES_SQL: &str = "\
WITH inserted AS (
    INSERT INTO songs (customer_id, system_id, artist, title, artist_folded, title_folded)
    SELECT $1, $2, u.artist, u.title, u.artist_folded, u.title_folded
    FROM unnest($3::text[], $4::text[], $5::text[], $6::text[])
        AS u(artist, title, artist_folded, title_folded)
    ON CONFLICT (customer_id, system_id, artist, title) DO NOTHING
    RETURNING id
)
INSERT INTO songs_unindexed (id) SELECT id FROM inserted";

/// `WHERE true` keeps SQLite from reading `ON CONFLICT` as a join constraint.
const SQLITE_SQL: &str = "\
INSERT INTO songs (customer_id, system_id, artist, title, artist_folded, title_folded)
SELECT ?, ?, value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?) WHERE true
ON CONFLICT (customer_id, system_id, artist, title) DO NOTHING";

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
        let rows: Vec<[&str; 4]> = songs
            .iter()
            .map(|song| {
                [
                    song.artist.as_str(),
                    song.title.as_str(),
                    song.artist_folded.as_str(),
                    song.title_folded.as_str(),
                ]
            })
            .collect();
        let rows = serde_json::to_string(&rows)
            .map_err(|err| diesel::result::Error::SerializationError(Box::new(err)))?;
        let inserted = diesel::sql_query(SQLITE_SQL)
            .bind::<PortableUuid, _>(customer)
            .bind::<Integer, _>(system)
            .bind::<Text, _>(rows)
            .execute(self)
            .await? as u64;
        Ok(inserted)
    }
}
