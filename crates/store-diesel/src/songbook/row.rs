//! `songs` rows as read, and the LIKE patterns song search uses.

use diesel::prelude::*;
use keyward_domain::ports::StorageError;
use keyward_domain::songbook::{Song, SongId, StoredSong};

use crate::customer_state::CorruptColumn;
use crate::schema::songs;

/// The columns of `songs` a search returns.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = songs)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct SongRow {
    pub(crate) id: i64,
    pub(crate) artist: String,
    pub(crate) title: String,
}

impl TryFrom<SongRow> for StoredSong {
    type Error = StorageError;

    fn try_from(row: SongRow) -> Result<Self, StorageError> {
        Ok(StoredSong {
            id: SongId::new(row.id),
            song: Song::new(row.artist, row.title)
                .map_err(|_| StorageError::other(CorruptColumn("songs.artist/title")))?,
        })
    }
}

/// The escape character of every LIKE pattern below: PostgreSQL's default, so patterns
/// need no `ESCAPE` clause (which would keep `pg_trgm` from using its index).
pub(crate) const LIKE_ESCAPE: char = '\\';

/// `%term%` with `%`, `_` and the escape character itself matched literally.
pub(crate) fn contains_pattern(term: &str) -> String {
    let mut pattern = String::with_capacity(term.len() + 2);
    pattern.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | LIKE_ESCAPE) {
            pattern.push(LIKE_ESCAPE);
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn like_wildcards_and_the_escape_are_escaped() {
        assert_eq!(contains_pattern("50%"), "%50\\%%");
        assert_eq!(contains_pattern("a_b"), "%a\\_b%");
        assert_eq!(contains_pattern("k\\s"), "%k\\\\s%");
        assert_eq!(contains_pattern("björk"), "%björk%");
    }
}
