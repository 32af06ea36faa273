use super::*;
use crate::ports::MockSongBookRepository;
use crate::serial::{Serial, WithSerial};
use crate::songbook::MAX_SONG_TEXT_CHARS;
use crate::testing::fixtures::song;

// Always `Some`: the upload type is an `Option` because malformed entries are `None`.
#[allow(clippy::unnecessary_wraps)]
fn entry(artist: &str, title: &str) -> UploadedSong {
    Some((artist.to_owned(), title.to_owned()))
}

#[tokio::test]
async fn upload_stores_valid_songs_and_counts_the_rest() {
    let mut repo = MockSongBookRepository::new();
    repo.expect_add_songs()
        .withf(|_, system, songs| {
            *system == SystemId::DEFAULT
                && songs
                    == [
                        song("Queen", "Bohemian Rhapsody"),
                        song("", "Untitled"),
                        song("Queen", "Bohemian Rhapsody"),
                    ]
        })
        .times(1)
        .returning(|_, _, _| Ok(2));
    let entries = vec![
        entry("Queen", "Bohemian Rhapsody"),
        entry("", ""),
        None,
        entry("", "Untitled"),
        entry(&"x".repeat(MAX_SONG_TEXT_CHARS + 1), "Too long"),
        entry("Queen", "Bohemian Rhapsody"),
    ];

    let outcome = SongBookService::new(Arc::new(repo))
        .add_songs(CustomerId::generate(), SystemId::DEFAULT, entries)
        .await
        .unwrap();

    assert_eq!(
        outcome,
        AddSongsOutcome {
            received: 6,
            added: 2,
            rejected: 3
        }
    );
    assert_eq!(outcome.duplicates(), 1);
}

#[tokio::test]
async fn empty_upload_touches_no_storage() {
    let mut repo = MockSongBookRepository::new();
    repo.expect_add_songs().never();

    let outcome = SongBookService::new(Arc::new(repo))
        .add_songs(CustomerId::generate(), SystemId::DEFAULT, Vec::new())
        .await
        .unwrap();

    assert_eq!(outcome, AddSongsOutcome::default());
}

#[tokio::test]
async fn failed_storage_fails_the_upload() {
    let mut repo = MockSongBookRepository::new();
    repo.expect_add_songs()
        .returning(|_, _, _| Err(StorageError::unavailable("down")));

    let err = SongBookService::new(Arc::new(repo))
        .add_songs(
            CustomerId::generate(),
            SystemId::DEFAULT,
            vec![entry("A", "B")],
        )
        .await
        .unwrap_err();

    assert!(matches!(err, SongBookError::Storage(_)), "{err:?}");
}

#[tokio::test]
async fn clear_reports_how_many_songs_were_removed() {
    let mut repo = MockSongBookRepository::new();
    repo.expect_clear_song_book()
        .returning(|_, _| Ok(WithSerial::new(1234, Serial::INITIAL)));

    let removed = SongBookService::new(Arc::new(repo))
        .clear(CustomerId::generate(), SystemId::DEFAULT)
        .await
        .unwrap();

    assert_eq!(removed, 1234);
}

#[tokio::test]
async fn unknown_song_is_song_not_found() {
    let mut repo = MockSongBookRepository::new();
    repo.expect_get_song().returning(|_, _| Ok(None));

    let err = SongBookService::new(Arc::new(repo))
        .get(CustomerId::generate(), SongId::new(5))
        .await
        .unwrap_err();

    assert!(matches!(err, SongBookError::SongNotFound), "{err:?}");
}
