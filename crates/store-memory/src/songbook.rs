//! `SongBookRepository` in memory.

use std::collections::HashMap;

use async_trait::async_trait;
use keyward_domain::CustomerId;
use keyward_domain::ports::{Page, PageRequest, SongBookRepository, StorageError};
use keyward_domain::serial::WithSerial;
use keyward_domain::songbook::{Song, SongId, SongQuery, StoredSong, capped_total};
use keyward_domain::venues::SystemId;

use crate::MemoryStore;

#[derive(Debug, Default)]
pub(crate) struct Table {
    /// Each song book maps a song to its id; the map key is what makes duplicates
    /// (byte-for-byte equal artist and title) impossible.
    books: HashMap<(CustomerId, SystemId), HashMap<Song, SongId>>,
    last_id: i64,
}

#[async_trait]
impl SongBookRepository for MemoryStore {
    async fn add_songs(
        &self,
        customer: CustomerId,
        system: SystemId,
        songs: &[Song],
    ) -> Result<u64, StorageError> {
        let mut state = self.state();
        let table = &mut state.songs;
        let book = table.books.entry((customer, system)).or_default();
        let mut added = 0;
        for song in songs {
            if !book.contains_key(song) {
                table.last_id += 1;
                book.insert(song.clone(), SongId::new(table.last_id));
                added += 1;
            }
        }
        Ok(added)
    }

    async fn clear_song_book(
        &self,
        customer: CustomerId,
        system: SystemId,
    ) -> Result<WithSerial<u64>, StorageError> {
        let mut state = self.state();
        let removed = state
            .songs
            .books
            .remove(&(customer, system))
            .map_or(0, |book| book.len() as u64);
        let serial = if removed > 0 {
            state.customers.bump(customer)
        } else {
            state.customers.serial(customer)
        };
        Ok(WithSerial::new(removed, serial))
    }

    async fn search_songs(
        &self,
        customer: CustomerId,
        system: SystemId,
        query: &SongQuery,
        page: PageRequest,
    ) -> Result<Page<StoredSong>, StorageError> {
        let state = self.state();
        let mut matching: Vec<(String, String, StoredSong)> = state
            .songs
            .books
            .get(&(customer, system))
            .into_iter()
            .flatten()
            .filter(|(song, _)| query.matches(song))
            .map(|(song, id)| {
                let stored = StoredSong {
                    id: *id,
                    song: song.clone(),
                };
                (song.artist_folded(), song.title_folded(), stored)
            })
            .collect();
        matching.sort_by(|a, b| (&a.0, &a.1, a.2.id).cmp(&(&b.0, &b.1, b.2.id)));
        let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        Ok(Page {
            total: capped_total(matching.len() as u64),
            items: matching
                .into_iter()
                .skip(offset)
                .take(page.limit() as usize)
                .map(|(_, _, stored)| stored)
                .collect(),
            request: page,
        })
    }

    async fn get_song(
        &self,
        customer: CustomerId,
        id: SongId,
    ) -> Result<Option<StoredSong>, StorageError> {
        let state = self.state();
        let found = state
            .songs
            .books
            .iter()
            .filter(|((owner, _), _)| *owner == customer)
            .flat_map(|(_, book)| book.iter())
            .find(|(_, song_id)| **song_id == id)
            .map(|(song, _)| StoredSong {
                id,
                song: song.clone(),
            });
        Ok(found)
    }

    /// Scans the customer's books and sorts what is left by id: O(n log n) per chunk,
    /// which is fine for tests and demos.
    async fn songs_after(
        &self,
        customer: CustomerId,
        system: Option<SystemId>,
        after: Option<SongId>,
        limit: u32,
    ) -> Result<Vec<StoredSong>, StorageError> {
        let state = self.state();
        let mut remaining: Vec<(SongId, &Song)> = state
            .songs
            .books
            .iter()
            .filter(|((owner, book), _)| *owner == customer && system.is_none_or(|s| s == *book))
            .flat_map(|(_, book)| book.iter())
            .filter(|(_, id)| after.is_none_or(|after| **id > after))
            .map(|(song, id)| (*id, song))
            .collect();
        remaining.sort_unstable_by_key(|(id, _)| *id);
        Ok(remaining
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|(id, song)| StoredSong {
                id,
                song: song.clone(),
            })
            .collect())
    }
}
