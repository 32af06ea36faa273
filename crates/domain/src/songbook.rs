//! Song books: the `{artist, title}` list each OpenKJ system uploads, which singers search.
//!
//! Songs are stored exactly as uploaded — no trimming, no re-casing — because OpenKJ later
//! searches its own database for `"<artist> <title>"` of a request and must find it.

use std::fmt;

/// Longest artist or title. Keeps a song's unique index within PostgreSQL's b-tree row
/// limit (255 characters × 4 bytes × 2 columns < 2704 bytes).
pub const MAX_SONG_TEXT_CHARS: usize = 255;
/// Longest folded artist or title in bytes (UTF-8). NFKC can expand a character up to 18
/// (U+FDFA), so 255 characters could fold to far more than the search order index
/// (customer, system, folded artist, folded title, id) may hold; this keeps both folded
/// columns together within PostgreSQL's b-tree row limit, like the raw text.
pub const MAX_FOLDED_SONG_TEXT_BYTES: usize = MAX_SONG_TEXT_CHARS * 4;
/// Most terms a search uses; later ones are ignored.
pub const MAX_SEARCH_TERMS: usize = 10;
/// A song search counts matches up to this many: `total` is exact below it and equals it
/// when a search finds this many or more (see [`total_is_capped`]). Counting
/// every match of a word found in every title of a 200,000-song book would cost a scan of
/// the whole book on every keystroke (ADR 0052).
pub const SONG_SEARCH_TOTAL_CAP: u64 = 1000;

/// An artist/title pair, verbatim. The artist may be empty (OpenKJ uploads such rows), but
/// not both fields; neither may exceed 255 characters or contain NUL (PostgreSQL text
/// cannot hold it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Song {
    artist: String,
    title: String,
}

/// Why a song was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSong {
    #[error("artist and title must not both be empty")]
    Empty,
    #[error(
        "artist and title must be at most {MAX_SONG_TEXT_CHARS} characters each \
         (and {MAX_FOLDED_SONG_TEXT_BYTES} bytes once folded for search)"
    )]
    TooLong,
    #[error("artist and title must not contain NUL characters")]
    Nul,
}

impl Song {
    pub fn new(artist: impl Into<String>, title: impl Into<String>) -> Result<Self, InvalidSong> {
        let (artist, title) = (artist.into(), title.into());
        if artist.is_empty() && title.is_empty() {
            return Err(InvalidSong::Empty);
        }
        let too_long = |s: &str| s.chars().count() > MAX_SONG_TEXT_CHARS;
        if too_long(&artist) || too_long(&title) {
            return Err(InvalidSong::TooLong);
        }
        if artist.contains('\0') || title.contains('\0') {
            return Err(InvalidSong::Nul);
        }
        // ASCII folds to its own length; only other text can grow.
        let folds_too_long = |s: &str| !s.is_ascii() && fold(s).len() > MAX_FOLDED_SONG_TEXT_BYTES;
        if folds_too_long(&artist) || folds_too_long(&title) {
            return Err(InvalidSong::TooLong);
        }
        Ok(Self { artist, title })
    }

    pub fn artist(&self) -> &str {
        &self.artist
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    /// The artist folded for case-insensitive search and ordering; adapters store this
    /// so every backend matches and sorts the same way (byte order of the folded text).
    pub fn artist_folded(&self) -> String {
        fold(&self.artist)
    }

    /// The title folded like [`Song::artist_folded`].
    pub fn title_folded(&self) -> String {
        fold(&self.title)
    }
}

/// Which [`fold`] the stored folded columns were computed with. Storage records it and
/// refolds every stored song when it is older (1: lower case only; 2: NFKC, then lower
/// case).
pub const FOLD_VERSION: i32 = 2;

/// Folding used by song search and its ordering (SPEC §8: case- and
/// normalization-insensitive): Unicode compatibility normalization (NFKC, so
/// `Beyonce\u{301}`, `Beyoncé` and a full-width `Ｂｅｙｏｎｃé` fold alike), then Unicode
/// lower case, then NFKC again because lower-casing can leave text unnormalized (e.g.
/// `İ` becomes `i` and a combining dot). Idempotent: `fold(&fold(s)) == fold(s)`.
///
/// ASCII text skips the normalizer (NFKC leaves it unchanged); uploads are mostly ASCII.
pub fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let lowered: String = text.nfkc().flat_map(char::to_lowercase).collect();
    lowered.nfkc().collect()
}

/// The `total` a song search reports for `matches` matching songs: `matches` below
/// [`SONG_SEARCH_TOTAL_CAP`], the cap from there on.
pub fn capped_total(matches: u64) -> u64 {
    matches.min(SONG_SEARCH_TOTAL_CAP)
}

/// Whether a song search's `total` is the cap (there may be more matches), i.e. what the
/// HTTP APIs report as `totalCapped`.
pub fn total_is_capped(total: u64) -> bool {
    total >= SONG_SEARCH_TOTAL_CAP
}

/// A stored song's id: assigned by storage, only used by singer-side commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SongId(i64);

impl SongId {
    pub const fn new(id: i64) -> Self {
        Self(id)
    }

    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for SongId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A song as stored in a song book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSong {
    pub id: SongId,
    pub song: Song,
}

/// A song search: every term must occur, case-insensitively, in the artist or the title.
/// No terms matches every song.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SongQuery {
    terms: Vec<String>,
}

impl SongQuery {
    /// Splits `text` on white space into folded terms, without duplicates, keeping at
    /// most [`MAX_SEARCH_TERMS`]. A term longer than any song field just finds nothing.
    pub fn parse(text: &str) -> Self {
        let mut terms: Vec<String> = Vec::new();
        for term in text.split_whitespace().map(fold) {
            if terms.len() == MAX_SEARCH_TERMS {
                break;
            }
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
        Self { terms }
    }

    /// The query that matches every song.
    pub fn all() -> Self {
        Self::default()
    }

    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// Whether some song could match at all: `false` when a term holds NUL (no song
    /// does) or is longer than any folded field may be ([`MAX_FOLDED_SONG_TEXT_BYTES`]).
    /// Adapters answer such a query with an empty page without asking their index — which
    /// for a 10,000-character term on the public API would mean thousands of trigram
    /// lookups — or their database, which cannot take NUL in text.
    pub fn can_match(&self) -> bool {
        self.terms
            .iter()
            .all(|term| !term.contains('\0') && term.len() <= MAX_FOLDED_SONG_TEXT_BYTES)
    }

    /// Whether `song` matches; the reference semantics adapters reproduce in SQL.
    pub fn matches(&self, song: &Song) -> bool {
        let (artist, title) = (song.artist_folded(), song.title_folded());
        self.terms
            .iter()
            .all(|term| artist.contains(term.as_str()) || title.contains(term.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn song_keeps_its_text_byte_for_byte() {
        let song = Song::new(" Guns N' Roses ", "\"Sweet Child O' Mine\"").unwrap();
        assert_eq!(song.artist(), " Guns N' Roses ");
        assert_eq!(song.title(), "\"Sweet Child O' Mine\"");
    }

    #[test]
    fn song_with_empty_artist_is_allowed() {
        assert_eq!(Song::new("", "Untitled").unwrap().artist(), "");
    }

    #[test]
    fn song_without_artist_and_title_is_refused() {
        assert_eq!(Song::new("", ""), Err(InvalidSong::Empty));
    }

    #[test]
    fn song_longer_than_the_limit_is_refused() {
        let long = "é".repeat(MAX_SONG_TEXT_CHARS + 1);
        assert_eq!(Song::new(long.clone(), "x"), Err(InvalidSong::TooLong));
        assert_eq!(Song::new("x", long), Err(InvalidSong::TooLong));
        assert!(Song::new("é".repeat(MAX_SONG_TEXT_CHARS), "x").is_ok());
    }

    #[test]
    fn song_whose_fold_expands_past_the_index_limit_is_refused() {
        // U+FDFA is one character that NFKC expands to 18.
        let expanding = "\u{fdfa}".repeat(100);
        assert!(fold(&expanding).len() > MAX_FOLDED_SONG_TEXT_BYTES);
        assert_eq!(Song::new(expanding.clone(), "x"), Err(InvalidSong::TooLong));
        assert_eq!(Song::new("x", expanding), Err(InvalidSong::TooLong));
        assert!(Song::new("\u{fdfa}".repeat(10), "x").is_ok());
        assert!(
            Song::new(
                "é".repeat(MAX_SONG_TEXT_CHARS),
                "é".repeat(MAX_SONG_TEXT_CHARS)
            )
            .is_ok()
        );
    }

    #[test]
    fn song_with_nul_is_refused() {
        assert_eq!(Song::new("a\0b", "x"), Err(InvalidSong::Nul));
    }

    #[test]
    fn query_terms_are_folded_deduplicated_and_capped() {
        let query = SongQuery::parse("  Queen  queen BOHEMIAN ");
        assert_eq!(query.terms(), ["queen", "bohemian"]);
        let many = (0..20)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(SongQuery::parse(&many).terms().len(), MAX_SEARCH_TERMS);
    }

    #[test]
    fn fold_normalizes_and_lowercases() {
        assert_eq!(fold("Beyonce\u{301}"), fold("BEYONCÉ"));
        assert_eq!(fold("Beyonce\u{301}"), "beyonc\u{e9}");
        // Compatibility forms: full-width letters and the "ﬁ" ligature.
        assert_eq!(fold("ＡＢＢＡ"), "abba");
        assert_eq!(fold("Ｂｅｙｏｎｃé"), "beyoncé");
        assert_eq!(fold("ﬁre"), "fire");
        assert_eq!(fold("Mötley CRÜE"), "mötley crüe");
        assert_eq!(fold("AC/DC 50% A_B"), "ac/dc 50% a_b");
    }

    #[test]
    fn fold_is_idempotent() {
        for text in [
            "İstanbul",
            "ΣΊΣΥΦΟΣ",
            "Beyonce\u{301}",
            "ǅemal",
            "ẞ",
            "x\u{345}\u{301}",
        ] {
            let once = fold(text);
            assert_eq!(fold(&once), once, "{text:?}");
        }
    }

    #[test]
    fn queries_with_nul_or_over_long_terms_cannot_match() {
        assert!(SongQuery::parse("abba waterloo").can_match());
        assert!(SongQuery::all().can_match());
        assert!(!SongQuery::parse("ab\0ba").can_match());
        assert!(SongQuery::parse(&"x".repeat(MAX_FOLDED_SONG_TEXT_BYTES)).can_match());
        assert!(
            !SongQuery::parse(&format!(
                "abba {}",
                "x".repeat(MAX_FOLDED_SONG_TEXT_BYTES + 1)
            ))
            .can_match()
        );
    }

    #[test]
    fn totals_saturate_at_the_cap() {
        assert_eq!(capped_total(0), 0);
        assert_eq!(capped_total(999), 999);
        assert!(!total_is_capped(999));
        assert_eq!(capped_total(1000), 1000);
        assert_eq!(capped_total(200_000), 1000);
        assert!(total_is_capped(capped_total(200_000)));
    }

    #[test]
    fn every_term_must_occur_in_artist_or_title() {
        let song = Song::new("Björk", "Army of Me").unwrap();
        assert!(SongQuery::parse("BJÖRK army").matches(&song));
        assert!(SongQuery::all().matches(&song));
        assert!(!SongQuery::parse("björk waterloo").matches(&song));
        let decomposed = Song::new("Beyonce\u{301}", "Halo").unwrap();
        assert!(SongQuery::parse("beyoncé").matches(&decomposed));
        assert!(SongQuery::parse("BEYONCE\u{301}").matches(&Song::new("Beyoncé", "x").unwrap()));
    }
}
