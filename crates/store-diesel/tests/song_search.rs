//! Song search beyond the contract suite: the refold that runs with the migrations, and
//! SQLite's search index kept true by its indexer across uploads and clears.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use keyward_domain::CustomerId;
use keyward_domain::ports::SongBookRepository;
use keyward_domain::songbook::{FOLD_VERSION, Song};
use keyward_domain::testing::songbook::search;
use keyward_domain::venues::SystemId;
use keyward_store_diesel::DieselStore;
use keyward_store_diesel::testing::TestDatabase;

const ONE: SystemId = SystemId::DEFAULT;

async fn titles(store: &DieselStore, customer: CustomerId, text: &str) -> Vec<String> {
    search(store, customer, text)
        .await
        .into_iter()
        .map(|(_, title)| title)
        .collect()
}

/// Songs stored by an older keyward (folded by lower case only, so the decomposed "é"
/// stays decomposed) are refolded by the next `migrate`. `index_sql`, when given, puts
/// the stale folds into the backend's index too (PostgreSQL's `song_search` keeps its own
/// copy of the folded columns).
async fn migrate_refolds_songs_folded_by_an_older_version(
    store: &DieselStore,
    index_sql: Option<&str>,
) {
    // Arrange: two songs, then their folded columns as version 1 wrote them.
    let customer = CustomerId::generate();
    let songs = [
        Song::new("Beyonce\u{301}", "Halo").unwrap(),
        Song::new("\u{ff21}\u{ff22}\u{ff22}\u{ff21}", "Waterloo").unwrap(),
    ];
    store.add_songs(customer, ONE, &songs).await.unwrap();
    store.index_songs_now().await.unwrap();
    store
        .execute_sql("UPDATE songs SET artist_folded = lower(artist), title_folded = lower(title)")
        .await
        .unwrap();
    if let Some(sql) = index_sql {
        store.execute_sql(sql).await.unwrap();
    }
    store
        .execute_sql("UPDATE song_search_state SET fold_version = 1")
        .await
        .unwrap();
    assert!(
        titles(store, customer, "beyoncé").await.is_empty(),
        "the stale fold of a decomposed é does not match a composed one"
    );

    // Act
    store.migrate().await.unwrap();
    store.index_songs_now().await.unwrap();

    // Assert
    assert_eq!(titles(store, customer, "beyoncé").await, ["Halo"]);
    assert_eq!(titles(store, customer, "abba").await, ["Waterloo"]);
    let version = store
        .query_i64("SELECT CAST(fold_version AS bigint) AS n FROM song_search_state")
        .await
        .unwrap();
    assert_eq!(version, i64::from(FOLD_VERSION));
    let refolded = store
        .query_i64("SELECT count(*) AS n FROM songs WHERE artist_folded = 'beyonc\u{e9}'")
        .await
        .unwrap();
    assert_eq!(refolded, 1);
    // A second migrate has nothing left to refold.
    assert_eq!(store.refold_songs().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_migrate_refolds_songs_folded_by_an_older_version() {
    let db = TestDatabase::sqlite();
    migrate_refolds_songs_folded_by_an_older_version(&db.migrated_store().await, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrate_refolds_songs_folded_by_an_older_version() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    migrate_refolds_songs_folded_by_an_older_version(
        &db.migrated_store().await,
        Some(
            "UPDATE song_search AS x SET artist_folded = s.artist_folded, \
             title_folded = s.title_folded FROM songs AS s WHERE s.id = x.id",
        ),
    )
    .await;
}

/// A cleared and re-uploaded song book is found once per song, whether its songs were
/// indexed before the clear, after the re-upload, or not yet; a cleared song leaves
/// nothing behind in the index (`index_rows`: SQL counting what the backend's index and
/// queue hold, as `n`).
async fn index_follows_clears_and_reuploads(store: &DieselStore, index_rows: &str) {
    let customer = CustomerId::generate();
    let songs: Vec<Song> = (0..50)
        .map(|i| Song::new(format!("Artist {i}"), format!("Jewel {i}")).unwrap())
        .collect();

    store.add_songs(customer, ONE, &songs).await.unwrap();
    assert_eq!(store.index_songs_now().await.unwrap(), 50);
    store.clear_song_book(customer, ONE).await.unwrap();
    assert!(titles(store, customer, "jewel").await.is_empty());
    assert_eq!(store.query_i64(index_rows).await.unwrap(), 0);

    store.add_songs(customer, ONE, &songs).await.unwrap();
    store.add_songs(customer, ONE, &songs[..10]).await.unwrap();
    let unindexed = titles(store, customer, "jewel 4").await;
    store.index_songs_now().await.unwrap();
    let indexed = titles(store, customer, "jewel 4").await;

    // "4" in the artist or title: 4, 14, 24, 34, 40..49, in artist order.
    let expected =
        [14, 24, 34, 4, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49].map(|i| format!("Jewel {i}"));
    assert_eq!(unindexed, expected);
    assert_eq!(indexed, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_index_follows_clears_and_reuploads() {
    let db = TestDatabase::sqlite();
    let store = db.migrated_store().await;
    index_follows_clears_and_reuploads(&store, "SELECT count(*) AS n FROM songs_search").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_index_follows_clears_and_reuploads() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let store = db.migrated_store().await;
    index_follows_clears_and_reuploads(
        &store,
        "SELECT (SELECT count(*) FROM song_search) \
         + (SELECT count(*) FROM songs_unindexed) AS n",
    )
    .await;
    // An upload reaches the queue (or, once the index task ran, the index) in its own
    // statement: that is how PostgreSQL's index learns of it.
    let customer = CustomerId::generate();
    store
        .add_songs(customer, ONE, &[Song::new("A", "B").unwrap()])
        .await
        .unwrap();
    let known = store
        .query_i64(&format!(
            "SELECT (SELECT count(*) FROM songs_unindexed AS q JOIN songs AS s ON s.id = q.id \
             WHERE s.customer_id = '{customer}') \
             + (SELECT count(*) FROM song_search WHERE customer_id = '{customer}') AS n"
        ))
        .await
        .unwrap();
    assert_eq!(known, 1);
}

/// Without anyone asking, the indexer task indexes an upload once uploads pause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_indexer_catches_up_after_an_upload() {
    let db = TestDatabase::sqlite();
    let store = db.migrated_store().await;
    let customer = CustomerId::generate();
    let songs: Vec<Song> = (0..300)
        .map(|i| Song::new("Band", format!("Song {i}")).unwrap())
        .collect();
    store.add_songs(customer, ONE, &songs).await.unwrap();

    let pending = || {
        store.query_i64(
            "SELECT count(*) AS n FROM songs \
             WHERE id > (SELECT indexed_through FROM song_search_state)",
        )
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while pending().await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "the indexer never caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let entries = store
        .query_i64("SELECT count(*) AS n FROM songs_search")
        .await
        .unwrap();
    assert_eq!(entries, 300);
}

/// Songs in the index and songs not yet in it are found together, once each.
async fn indexed_and_pending_songs_are_found_together(store: &DieselStore) {
    let customer = CustomerId::generate();
    let other = CustomerId::generate();
    let first: Vec<Song> = (0..20)
        .map(|i| Song::new("Early", format!("Jewel {i:02}")).unwrap())
        .collect();
    store.add_songs(customer, ONE, &first).await.unwrap();
    store.index_songs_now().await.unwrap();
    let late = [Song::new("Late", "Jewel 99").unwrap()];
    store.add_songs(customer, ONE, &late).await.unwrap();
    // Another book's pending songs do not leak in.
    store.add_songs(other, ONE, &late).await.unwrap();

    let found = titles(store, customer, "jewel 9").await;

    assert_eq!(found, ["Jewel 09", "Jewel 19", "Jewel 99"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_indexed_and_pending_songs_are_found_together() {
    let db = TestDatabase::sqlite();
    indexed_and_pending_songs_are_found_together(&db.migrated_store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_indexed_and_pending_songs_are_found_together() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    indexed_and_pending_songs_are_found_together(&db.migrated_store().await).await;
}

/// Reverting 001500 on PostgreSQL, as its `down.sql` does.
const SORT_COLUMNS_DOWN: &str = include_str!(
    "../../../migrations/postgres/2026-12-07-001500_song_search_sort_columns/down.sql"
);

/// A database indexed by a keyward before 001500 (one folded column in `song_search`)
/// keeps finding its songs after the upgrade: the migration queues every song again,
/// search reads the queue until the index task has refilled `song_search` (how far it got
/// depends on timing; `indexed_and_pending_songs_are_found_together` covers a fixed mix),
/// and a song both queued and indexed is listed and counted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_upgrade_to_sort_columns_keeps_every_song_findable() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let store = db.migrated_store().await;
    let customer = CustomerId::generate();
    let songs: Vec<Song> = (0..30)
        .map(|i| Song::new(format!("Artist {i:02}"), format!("Gem {i:02}")).unwrap())
        .collect();
    store.add_songs(customer, ONE, &songs).await.unwrap();
    store.index_songs_now().await.unwrap();
    // Back to the schema before 001500, indexed as it indexed.
    for statement in SORT_COLUMNS_DOWN
        .split(';')
        .filter(|s| !s.trim().is_empty())
    {
        store.execute_sql(statement).await.unwrap();
    }
    store
        .execute_sql(
            "INSERT INTO song_search (id, customer_id, system_id, folded) \
             SELECT id, customer_id, system_id, artist_folded || E'\\n' || title_folded \
             FROM songs",
        )
        .await
        .unwrap();
    store.execute_sql("TRUNCATE songs_unindexed").await.unwrap();
    store
        .execute_sql("DELETE FROM __diesel_schema_migrations WHERE version = '20261207001500'")
        .await
        .unwrap();

    assert_eq!(store.migrate().await.unwrap(), 1);
    // The index task started by `migrate` may already be moving songs from the queue to
    // the index (one statement per batch): between the two, every song is there once.
    let known = store
        .query_i64(
            "SELECT count(DISTINCT id) AS n FROM \
             (SELECT id FROM songs_unindexed UNION ALL SELECT id FROM song_search) AS known",
        )
        .await
        .unwrap();
    let after_migrate = search_page(&store, customer, "gem 1").await;
    store.index_songs_now().await.unwrap();
    let from_index = search_page(&store, customer, "gem 1").await;
    // Queued again while indexed (as the migration does to an indexed song).
    store
        .execute_sql("INSERT INTO songs_unindexed (id) SELECT id FROM songs")
        .await
        .unwrap();
    let from_both = search_page(&store, customer, "gem 1").await;

    assert_eq!(known, 30);
    // "1" in the artist or the title: 01, 10..19 and 21, in artist order.
    let expected: Vec<String> = [1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21]
        .map(|i| format!("Gem {i:02}"))
        .into();
    assert_eq!(after_migrate, (12, expected.clone()));
    assert_eq!(from_index, (12, expected.clone()));
    assert_eq!(from_both, (12, expected));
}

/// The total and the titles of the first page of a search.
async fn search_page(store: &DieselStore, customer: CustomerId, text: &str) -> (u64, Vec<String>) {
    let page = store
        .search_songs(
            customer,
            ONE,
            &keyward_domain::songbook::SongQuery::parse(text),
            keyward_domain::ports::PageRequest::default(),
        )
        .await
        .unwrap();
    let titles = page
        .items
        .into_iter()
        .map(|song| song.song.title().to_owned())
        .collect();
    (page.total, titles)
}
