//! Contract scenarios for [`SongBookRepository`](crate::ports::SongBookRepository).

use super::fixtures::song;
use crate::ids::CustomerId;
use crate::ports::{OpenKjStore, PageRequest};
use crate::songbook::{SONG_SEARCH_TOTAL_CAP, Song, SongId, SongQuery, StoredSong, fold};
use crate::venues::SystemId;

/// Stamps out every scenario below for an adapter; `setup` returns
/// `Option<(Arc<dyn OpenKjStore>, guard)>`.
#[macro_export]
macro_rules! song_book_repository_contract {
    ($setup:path) => {
        $crate::__stamp_contract!($setup, songbook;
            added_songs_are_stored_byte_for_byte,
            duplicates_are_skipped_within_and_across_batches,
            songs_differing_only_in_case_or_spacing_are_distinct,
            thousand_song_batch_is_stored_whole,
            song_books_are_separate_per_customer_and_per_system,
            adding_songs_does_not_move_the_serial,
            clear_empties_only_that_song_book_and_moves_the_serial,
            clearing_an_empty_song_book_keeps_the_serial,
            search_needs_every_term_in_artist_or_title_ignoring_case,
            search_treats_like_wildcards_as_plain_characters,
            search_orders_by_folded_artist_then_title_and_pages,
            get_song_finds_only_the_customers_own_songs,
            search_folds_unicode_normalization_and_case,
            search_finds_terms_shorter_than_a_trigram,
            search_total_counts_up_to_the_cap,
            search_agrees_with_the_reference_on_a_large_book,
            search_stays_inside_one_song_book,
            search_for_nul_or_punctuation_finds_only_what_holds_it,
            songs_after_lists_a_song_book_chunk_by_chunk_in_id_order,
            songs_after_respects_after_and_limit,
            songs_after_without_a_system_lists_every_song_book_of_the_customer_only,
            songs_after_lists_songs_added_between_chunks_and_drops_removed_ones,
        );
    };
}

const ONE: SystemId = SystemId::DEFAULT;

fn system(id: i32) -> SystemId {
    SystemId::new(id).unwrap()
}

async fn everything(store: &dyn OpenKjStore, customer: CustomerId, sys: SystemId) -> Vec<Song> {
    let mut songs = Vec::new();
    for page in 1.. {
        let request = PageRequest::new(page, 100).unwrap();
        let found = store
            .search_songs(customer, sys, &SongQuery::all(), request)
            .await
            .unwrap();
        if found.items.is_empty() {
            break;
        }
        songs.extend(found.items.into_iter().map(|s| s.song));
    }
    songs
}

/// The first page (100 songs) of `text` searched in `customer`'s song book 1, as
/// `(artist, title)` pairs; for adapters' own song search tests too.
///
/// # Panics
/// When the search fails.
pub async fn search(
    store: &dyn OpenKjStore,
    customer: CustomerId,
    text: &str,
) -> Vec<(String, String)> {
    store
        .search_songs(
            customer,
            ONE,
            &SongQuery::parse(text),
            PageRequest::default(),
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|s| (s.song.artist().to_owned(), s.song.title().to_owned()))
        .collect()
}

pub async fn added_songs_are_stored_byte_for_byte(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let songs = [
        song("Queen", "Bohemian Rhapsody"),
        song("Björk", "Army of Me"),
        song("AC/DC", "Back In Black"),
        song("", "Untitled"),
        song("Guns N' Roses", "\"Sweet Child O' Mine\""),
        song("  Spaced  Out ", "Tab\tand 🎤 emoji"),
        song("50% Off", "under_score \\ backslash"),
    ];

    let added = store.add_songs(customer, ONE, &songs).await.unwrap();

    assert_eq!(added, songs.len() as u64);
    let mut stored = everything(store, customer, ONE).await;
    let mut expected = songs.to_vec();
    stored.sort_by(|a, b| (a.artist(), a.title()).cmp(&(b.artist(), b.title())));
    expected.sort_by(|a, b| (a.artist(), a.title()).cmp(&(b.artist(), b.title())));
    assert_eq!(stored, expected);
}

pub async fn duplicates_are_skipped_within_and_across_batches(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let queen = song("Queen", "Bohemian Rhapsody");
    store
        .add_songs(customer, ONE, std::slice::from_ref(&queen))
        .await
        .unwrap();

    let added = store
        .add_songs(
            customer,
            ONE,
            &[
                queen.clone(),
                song("ABBA", "Waterloo"),
                song("ABBA", "Waterloo"),
            ],
        )
        .await
        .unwrap();

    assert_eq!(added, 1);
    assert_eq!(everything(store, customer, ONE).await.len(), 2);
}

pub async fn songs_differing_only_in_case_or_spacing_are_distinct(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let variants = [
        song("Queen", "Bohemian Rhapsody"),
        song("queen", "Bohemian Rhapsody"),
        song("Queen ", "Bohemian Rhapsody"),
        song("Queen", "Bohemian  Rhapsody"),
    ];

    let added = store.add_songs(customer, ONE, &variants).await.unwrap();

    assert_eq!(added, 4);
}

pub async fn thousand_song_batch_is_stored_whole(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let batch: Vec<Song> = (0..1000)
        .rev()
        .map(|i| song(&format!("Artist {:04}", i / 10), &format!("Title {i:04}")))
        .collect();

    let added = store.add_songs(customer, ONE, &batch).await.unwrap();

    assert_eq!(added, 1000);
    let page = store
        .search_songs(
            customer,
            ONE,
            &SongQuery::all(),
            PageRequest::new(1, 1).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(page.total, 1000);
}

pub async fn song_books_are_separate_per_customer_and_per_system(store: &dyn OpenKjStore) {
    let (one, two) = (CustomerId::generate(), CustomerId::generate());
    store
        .add_songs(one, ONE, &[song("Queen", "Bohemian Rhapsody")])
        .await
        .unwrap();
    store
        .add_songs(one, system(2), &[song("ABBA", "Waterloo")])
        .await
        .unwrap();
    store
        .add_songs(two, ONE, &[song("Björk", "Army of Me")])
        .await
        .unwrap();

    assert_eq!(
        everything(store, one, ONE).await,
        [song("Queen", "Bohemian Rhapsody")]
    );
    assert_eq!(
        everything(store, one, system(2)).await,
        [song("ABBA", "Waterloo")]
    );
    assert_eq!(
        everything(store, two, ONE).await,
        [song("Björk", "Army of Me")]
    );
}

pub async fn adding_songs_does_not_move_the_serial(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let before = store.current_serial(customer).await.unwrap();

    store
        .add_songs(customer, ONE, &[song("Queen", "Bohemian Rhapsody")])
        .await
        .unwrap();

    assert_eq!(store.current_serial(customer).await.unwrap(), before);
}

pub async fn clear_empties_only_that_song_book_and_moves_the_serial(store: &dyn OpenKjStore) {
    let (customer, other) = (CustomerId::generate(), CustomerId::generate());
    let two_songs = [song("Queen", "Bohemian Rhapsody"), song("ABBA", "Waterloo")];
    store.add_songs(customer, ONE, &two_songs).await.unwrap();
    store
        .add_songs(customer, system(2), &two_songs)
        .await
        .unwrap();
    store.add_songs(other, ONE, &two_songs).await.unwrap();
    let before = store.current_serial(customer).await.unwrap();

    let cleared = store.clear_song_book(customer, ONE).await.unwrap();

    assert_eq!(cleared.value, 2);
    assert_eq!(cleared.serial, before.next());
    assert!(everything(store, customer, ONE).await.is_empty());
    assert_eq!(everything(store, customer, system(2)).await.len(), 2);
    assert_eq!(everything(store, other, ONE).await.len(), 2);
}

pub async fn clearing_an_empty_song_book_keeps_the_serial(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let before = store.current_serial(customer).await.unwrap();

    let cleared = store.clear_song_book(customer, ONE).await.unwrap();

    assert_eq!(cleared.value, 0);
    assert_eq!(cleared.serial, before);
}

pub async fn search_needs_every_term_in_artist_or_title_ignoring_case(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    store
        .add_songs(
            customer,
            ONE,
            &[
                song("Queen", "Bohemian Rhapsody"),
                song("Queen", "Under Pressure"),
                song("Björk", "Army of Me"),
                song("ABBA", "Queen of Hearts?"),
            ],
        )
        .await
        .unwrap();

    let pressure = search(store, customer, "QUEEN pressure").await;
    let bjork = search(store, customer, "BJÖRK").await;
    let nothing = search(store, customer, "queen waterloo").await;

    assert_eq!(pressure, [("Queen".into(), "Under Pressure".into())]);
    assert_eq!(bjork, [("Björk".into(), "Army of Me".into())]);
    assert!(nothing.is_empty());
    assert_eq!(search(store, customer, "queen").await.len(), 3);
}

pub async fn search_treats_like_wildcards_as_plain_characters(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    store
        .add_songs(
            customer,
            ONE,
            &[
                song("50% Off", "A_B"),
                song("500 Off", "AxB"),
                song("Back\\slash", "x"),
            ],
        )
        .await
        .unwrap();

    assert_eq!(search(store, customer, "50%").await.len(), 1);
    assert_eq!(search(store, customer, "a_b").await.len(), 1);
    assert_eq!(search(store, customer, "k\\s").await.len(), 1);
}

pub async fn search_orders_by_folded_artist_then_title_and_pages(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    store
        .add_songs(
            customer,
            ONE,
            &[
                song("queen", "b"),
                song("ABBA", "Waterloo"),
                song("Queen", "A"),
                song("abba", "Dancing Queen"),
                song("Zappa", "z"),
            ],
        )
        .await
        .unwrap();

    let first = store
        .search_songs(
            customer,
            ONE,
            &SongQuery::all(),
            PageRequest::new(1, 3).unwrap(),
        )
        .await
        .unwrap();
    let second = store
        .search_songs(
            customer,
            ONE,
            &SongQuery::all(),
            PageRequest::new(2, 3).unwrap(),
        )
        .await
        .unwrap();

    let titles = |songs: &[StoredSong]| -> Vec<String> {
        songs.iter().map(|s| s.song.title().to_owned()).collect()
    };
    assert_eq!(first.total, 5);
    assert_eq!(titles(&first.items), ["Dancing Queen", "Waterloo", "A"]);
    assert_eq!(titles(&second.items), ["b", "z"]);
}

pub async fn get_song_finds_only_the_customers_own_songs(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    store
        .add_songs(customer, system(2), &[song("ABBA", "Waterloo")])
        .await
        .unwrap();
    let stored = store
        .search_songs(
            customer,
            system(2),
            &SongQuery::all(),
            PageRequest::default(),
        )
        .await
        .unwrap()
        .items
        .remove(0);

    let mine = store.get_song(customer, stored.id).await.unwrap();
    let foreign = store
        .get_song(CustomerId::generate(), stored.id)
        .await
        .unwrap();
    let missing = store
        .get_song(customer, SongId::new(stored.id.get() + 1_000_000))
        .await
        .unwrap();

    assert_eq!(mine, Some(stored));
    assert_eq!(foreign, None);
    assert_eq!(missing, None);
}

pub async fn search_folds_unicode_normalization_and_case(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    store
        .add_songs(
            customer,
            ONE,
            &[
                // "é" precomposed (U+00E9) and decomposed (e + U+0301).
                song("Beyonc\u{e9}", "Halo"),
                song("Beyonce\u{301}", "Halo"),
                // Full-width letters and a ligature (compatibility forms).
                song("\u{ff21}\u{ff22}\u{ff22}\u{ff21}", "Waterloo"),
                song("Florence", "\u{fb01}re"),
                song("Beyonce", "Plain e, no accent"),
            ],
        )
        .await
        .unwrap();

    let composed = search(store, customer, "BEYONC\u{c9}").await;
    let decomposed = search(store, customer, "beyonce\u{301} halo").await;

    let accented = |found: &[(String, String)]| found.iter().filter(|(_, t)| t == "Halo").count();
    assert_eq!(composed.len(), 2, "{composed:?}");
    assert_eq!(accented(&composed), 2);
    assert_eq!(decomposed.len(), 2, "{decomposed:?}");
    assert_eq!(search(store, customer, "abba").await.len(), 1);
    assert_eq!(search(store, customer, "FIRE").await.len(), 1);
    // Accents are not removed: "beyonce" without one finds only the plain song.
    assert_eq!(
        search(store, customer, "beyonce").await,
        [("Beyonce".into(), "Plain e, no accent".into())]
    );
}

pub async fn search_finds_terms_shorter_than_a_trigram(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    store
        .add_songs(
            customer,
            ONE,
            &[
                song("U2", "One"),
                song("Queen", "Bohemian Rhapsody"),
                song("AC/DC", "T.N.T."),
                song("Toto", "Africa"),
            ],
        )
        .await
        .unwrap();

    assert_eq!(
        search(store, customer, "u2").await,
        [("U2".into(), "One".into())]
    );
    assert_eq!(search(store, customer, "u").await.len(), 2); // U2, Queen
    assert_eq!(
        search(store, customer, "/").await,
        [("AC/DC".into(), "T.N.T.".into())]
    );
    // A short term beside an indexable one.
    assert_eq!(
        search(store, customer, "t. ac/dc").await,
        [("AC/DC".into(), "T.N.T.".into())]
    );
    assert_eq!(
        search(store, customer, "to ca").await,
        [("Toto".into(), "Africa".into())]
    );
    assert!(search(store, customer, "zq").await.is_empty());
}

/// `count` songs "Artist NNNN" / "Common song NNNN".
fn numbered_songs(count: usize) -> Vec<Song> {
    (0..count)
        .map(|i| song(&format!("Artist {i:04}"), &format!("Common song {i:04}")))
        .collect()
}

pub async fn search_total_counts_up_to_the_cap(store: &dyn OpenKjStore) {
    let cap = usize::try_from(SONG_SEARCH_TOTAL_CAP).unwrap();
    let customer = CustomerId::generate();
    store
        .add_songs(customer, ONE, &numbered_songs(cap + 50))
        .await
        .unwrap();
    let find = |text: &str, page: u32| {
        let query = SongQuery::parse(text);
        async move {
            store
                .search_songs(customer, ONE, &query, PageRequest::new(page, 100).unwrap())
                .await
                .unwrap()
        }
    };

    let everything = find("common", 1).await;
    let past_the_cap = find("song", 11).await;
    // "Artist 0xxx" and "Artist 1000".."Artist 1049": 1,000 + 50 songs hold "artist";
    // "0" occurs in 1,000 + 50 numbers; "04" in "00x4".."09x4" style numbers only.
    let below = find("artist 10", 1).await;

    assert_eq!(everything.total, SONG_SEARCH_TOTAL_CAP);
    assert_eq!(everything.items.len(), 100);
    assert_eq!(everything.items[0].song.artist(), "Artist 0000");
    assert_eq!(past_the_cap.total, SONG_SEARCH_TOTAL_CAP);
    assert_eq!(
        past_the_cap.items.len(),
        50,
        "pages past the cap still list songs"
    );
    assert_eq!(past_the_cap.items[0].song.artist(), "Artist 1000");
    // "10" occurs in 0010, 0100..0109, 0110, 0210, …, 0910, 1000..1049 (fewer than the cap).
    let expected = numbered_songs(cap + 50)
        .into_iter()
        .filter(|s| SongQuery::parse("artist 10").matches(s))
        .count() as u64;
    assert!(expected < SONG_SEARCH_TOTAL_CAP);
    assert_eq!(below.total, expected);
}

/// A book big enough that a word in every song and a word in a few need different plans
/// on the SQL backends; every answer must equal the reference semantics.
pub async fn search_agrees_with_the_reference_on_a_large_book(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let mut songs: Vec<Song> = (0..6000)
        .map(|i| {
            let artist = format!("Band {:03}", i % 600);
            let title = if i % 1000 == 7 {
                format!("Rare Jewel {i}")
            } else {
                format!("Track {i} of the Book")
            };
            song(&artist, &title)
        })
        .collect();
    songs.push(song("Ünïcode Band", "Crème Brûlée 50%"));
    for batch in songs.chunks(1000) {
        store.add_songs(customer, ONE, batch).await.unwrap();
    }

    for text in [
        "book",
        "track book",
        "jewel",
        "rare 1",
        "band 05",
        "band 059 track",
        "crème 50%",
        "e",
        "7 of",
        "nothing-like-this",
        "book jewel",
    ] {
        let query = SongQuery::parse(text);
        let mut expected: Vec<&Song> = songs.iter().filter(|s| query.matches(s)).collect();
        expected.sort_by_key(|s| (fold(s.artist()), fold(s.title())));
        for page in [1, 2, 30] {
            let request = PageRequest::new(page, 100).unwrap();
            let found = store
                .search_songs(customer, ONE, &query, request)
                .await
                .unwrap();
            let want: Vec<(String, String)> = expected
                .iter()
                .skip(usize::try_from(request.offset()).unwrap())
                .take(100)
                .map(|s| (s.artist().to_owned(), s.title().to_owned()))
                .collect();
            let got: Vec<(String, String)> = found
                .items
                .iter()
                .map(|s| (s.song.artist().to_owned(), s.song.title().to_owned()))
                .collect();
            assert_eq!(got, want, "query {text:?}, page {page}");
            assert_eq!(
                found.total,
                (expected.len() as u64).min(SONG_SEARCH_TOTAL_CAP),
                "query {text:?}"
            );
        }
    }
}

pub async fn search_stays_inside_one_song_book(store: &dyn OpenKjStore) {
    let (mine, theirs) = (CustomerId::generate(), CustomerId::generate());
    store
        .add_songs(mine, ONE, &[song("Shared Artist", "Mine")])
        .await
        .unwrap();
    store
        .add_songs(mine, system(2), &[song("Shared Artist", "Other system")])
        .await
        .unwrap();
    store
        .add_songs(theirs, ONE, &[song("Shared Artist", "Theirs")])
        .await
        .unwrap();

    for text in [
        "shared artist",
        "shared",
        "sh",
        "artist mine",
        "theirs",
        "other",
    ] {
        let found = search(store, mine, text).await;
        assert!(
            found.iter().all(|(_, title)| title == "Mine"),
            "{text:?} leaked: {found:?}"
        );
    }
    assert_eq!(search(store, mine, "shared").await.len(), 1);
}

/// The song book (`system`, or every book of the customer) as [`search_songs`] lists it
/// — a different query from the one under test — re-sorted by id.
async fn by_id(
    store: &dyn OpenKjStore,
    customer: CustomerId,
    systems: &[SystemId],
) -> Vec<StoredSong> {
    let mut songs = Vec::new();
    for &sys in systems {
        for page in 1.. {
            let request = PageRequest::new(page, 100).unwrap();
            let found = store
                .search_songs(customer, sys, &SongQuery::all(), request)
                .await
                .unwrap();
            if found.items.is_empty() {
                break;
            }
            songs.extend(found.items);
        }
    }
    songs.sort_by_key(|s| s.id);
    songs
}

/// Lists with `songs_after` chunk by chunk, as `getSongs` does, from `after`; returns
/// the chunks, the last one shorter than `limit`.
async fn chunked(
    store: &dyn OpenKjStore,
    customer: CustomerId,
    sys: Option<SystemId>,
    mut after: Option<SongId>,
    limit: u32,
) -> Vec<Vec<StoredSong>> {
    let mut chunks = Vec::new();
    for _ in 0..1000 {
        let chunk = store
            .songs_after(customer, sys, after, limit)
            .await
            .unwrap();
        let full = chunk.len() == limit as usize;
        after = chunk.last().map(|s| s.id).or(after);
        chunks.push(chunk);
        if !full {
            return chunks;
        }
    }
    panic!("songs_after never returned a short chunk");
}

fn titles(songs: &[StoredSong]) -> Vec<&str> {
    songs.iter().map(|s| s.song.title()).collect()
}

pub async fn songs_after_lists_a_song_book_chunk_by_chunk_in_id_order(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let first = [
        song("Queen", "b1"),
        song("ABBA", "b2"),
        song("Zappa", "b3"),
        song("abba", "b4"),
    ];
    let second = [song("Björk", "c1"), song("AC/DC", "c2"), song("", "c3")];
    store.add_songs(customer, ONE, &first).await.unwrap();
    store.add_songs(customer, ONE, &second).await.unwrap();

    let chunks = chunked(store, customer, Some(ONE), None, 3).await;

    let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
    assert_eq!(sizes, [3, 3, 1]);
    let listed: Vec<StoredSong> = chunks.concat();
    assert_eq!(listed, by_id(store, customer, &[ONE]).await);
    assert!(listed.windows(2).all(|w| w[0].id < w[1].id), "{listed:?}");
    let (earlier, later) = listed.split_at(first.len());
    assert!(
        earlier.iter().all(|s| s.song.title().starts_with('b')),
        "upload order: {listed:?}"
    );
    assert!(
        later.iter().all(|s| s.song.title().starts_with('c')),
        "upload order: {listed:?}"
    );
}

pub async fn songs_after_respects_after_and_limit(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    let six: Vec<Song> = (1..=6)
        .map(|i| song("Artist", &format!("Title {i}")))
        .collect();
    store.add_songs(customer, ONE, &six).await.unwrap();
    let all = by_id(store, customer, &[ONE]).await;
    let ids: Vec<SongId> = all.iter().map(|s| s.id).collect();
    let list =
        |after: Option<SongId>, limit: u32| store.songs_after(customer, Some(ONE), after, limit);

    let nothing = list(None, 0).await.unwrap();
    let everything = list(None, 100).await.unwrap();
    let from_the_lowest = list(Some(SongId::new(i64::MIN)), 100).await.unwrap();
    let middle = list(Some(ids[2]), 2).await.unwrap();
    let past_the_end = list(Some(ids[5]), 10).await.unwrap();
    let chunks = chunked(store, customer, Some(ONE), None, 3).await;

    assert_eq!(all.len(), 6);
    assert!(nothing.is_empty());
    assert_eq!(everything, all);
    assert_eq!(from_the_lowest, all);
    assert_eq!(middle, all[3..5]);
    assert!(past_the_end.is_empty());
    let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        [3, 3, 0],
        "a full last chunk is followed by an empty one"
    );
}

pub async fn songs_after_without_a_system_lists_every_song_book_of_the_customer_only(
    store: &dyn OpenKjStore,
) {
    let (customer, other) = (CustomerId::generate(), CustomerId::generate());
    // One song per call: ids follow the order of the calls.
    for (sys, title) in [(ONE, "a"), (system(2), "b"), (ONE, "c"), (system(3), "d")] {
        store
            .add_songs(customer, sys, &[song("Mine", title)])
            .await
            .unwrap();
    }
    store
        .add_songs(other, ONE, &[song("Theirs", "x")])
        .await
        .unwrap();
    store
        .add_songs(other, system(2), &[song("Theirs", "y")])
        .await
        .unwrap();

    let every_book = chunked(store, customer, None, None, 2).await.concat();
    let system_one = chunked(store, customer, Some(ONE), None, 2).await.concat();
    let system_two = store
        .songs_after(customer, Some(system(2)), None, 10)
        .await
        .unwrap();
    let system_four = store
        .songs_after(customer, Some(system(4)), None, 10)
        .await
        .unwrap();
    let theirs = store.songs_after(other, None, None, 10).await.unwrap();

    assert_eq!(titles(&every_book), ["a", "b", "c", "d"]);
    assert_eq!(
        every_book,
        by_id(store, customer, &[ONE, system(2), system(3)]).await
    );
    assert_eq!(titles(&system_one), ["a", "c"]);
    assert_eq!(titles(&system_two), ["b"]);
    assert!(system_four.is_empty());
    assert_eq!(titles(&theirs), ["x", "y"]);
}

pub async fn songs_after_lists_songs_added_between_chunks_and_drops_removed_ones(
    store: &dyn OpenKjStore,
) {
    let customer = CustomerId::generate();
    let four: Vec<Song> = (1..=4).map(|i| song("Old", &format!("one {i}"))).collect();
    store.add_songs(customer, ONE, &four).await.unwrap();
    store
        .add_songs(
            customer,
            system(2),
            &[song("Old", "two 1"), song("Old", "two 2")],
        )
        .await
        .unwrap();
    let first = store.songs_after(customer, None, None, 3).await.unwrap();
    let cursor = first.last().unwrap().id;

    store
        .add_songs(customer, ONE, &[song("New", "one 5"), song("New", "one 6")])
        .await
        .unwrap();
    store.clear_song_book(customer, system(2)).await.unwrap();
    let rest = chunked(store, customer, None, Some(cursor), 3)
        .await
        .concat();

    let expected: Vec<StoredSong> = by_id(store, customer, &[ONE, system(2)])
        .await
        .into_iter()
        .filter(|s| s.id > cursor)
        .collect();
    assert_eq!(rest, expected);
    assert_eq!(
        rest.len(),
        3,
        "the fourth old song and both new ones: {rest:?}"
    );
    assert!(
        rest.iter().all(|s| !s.song.title().starts_with("two")),
        "{rest:?}"
    );
    assert!(
        rest.iter().all(|s| !first.iter().any(|f| f.id == s.id)),
        "listed twice: {rest:?}"
    );
    let new: Vec<&str> = rest
        .iter()
        .filter(|s| s.song.artist() == "New")
        .map(|s| s.song.title())
        .collect();
    assert_eq!(new.len(), 2, "{rest:?}");
}

/// NUL is in no song (`Song::new` refuses it), so a term holding it finds nothing rather
/// than failing; punctuation-only terms (no trigram for an index) are plain substrings.
pub async fn search_for_nul_or_punctuation_finds_only_what_holds_it(store: &dyn OpenKjStore) {
    let customer = CustomerId::generate();
    store
        .add_songs(
            customer,
            ONE,
            &[
                song("Dash", "---"),
                song("Bang", "Hey!!! Ho"),
                song("Abba", "SOS"),
            ],
        )
        .await
        .unwrap();

    assert!(search(store, customer, "\0ab").await.is_empty());
    assert!(search(store, customer, "abba \0").await.is_empty());
    let too_long = "a".repeat(crate::songbook::MAX_FOLDED_SONG_TEXT_BYTES + 1);
    assert!(search(store, customer, &too_long).await.is_empty());
    assert_eq!(
        search(store, customer, "---").await,
        [("Dash".into(), "---".into())]
    );
    assert_eq!(
        search(store, customer, "!!! hey").await,
        [("Bang".into(), "Hey!!! Ho".into())]
    );
}
