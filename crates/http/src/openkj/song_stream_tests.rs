use std::io::Write;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::http::{StatusCode, header};
use keyward_domain::ports::{MockSongBookRepository, StorageError, SystemClock};
use keyward_domain::services::{OpenKjPolicy, RequestService, SongBookService, VenueService};
use keyward_domain::songbook::Song;
use keyward_store_memory::MemoryStore;
use serde_json::{Value, json};

use super::*;

const CHUNK: usize = SONG_STREAM_CHUNK as usize;

/// The OpenKJ service over `songs`, with venues and requests in memory.
fn service(songs: MockSongBookRepository) -> OpenKjService {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(SystemClock);
    OpenKjService::new(
        VenueService::new(store.clone(), clock.clone(), crate::state::memory_audit()),
        RequestService::new(store.clone(), clock.clone()),
        SongBookService::new(Arc::new(songs)),
        store,
        clock,
        OpenKjPolicy::default(),
    )
}

/// `count` songs with ids from `first` on.
fn songs(first: i64, count: usize) -> Vec<StoredSong> {
    (0..count)
        .map(|i| StoredSong {
            id: SongId::new(first + i64::try_from(i).unwrap()),
            song: Song::new("Artist", format!("Title {i}")).unwrap(),
        })
        .collect()
}

/// A song book whose `songs_after` answers `replies` in turn, recording each `after`.
fn book(
    replies: Vec<Result<Vec<StoredSong>, StorageError>>,
) -> (MockSongBookRepository, Arc<Mutex<Vec<Option<SongId>>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let replies = Mutex::new(replies.into_iter());
    let mut repo = MockSongBookRepository::new();
    repo.expect_songs_after()
        .withf(|_, system, _, limit| {
            *system == Some(SystemId::DEFAULT) && *limit == SONG_STREAM_CHUNK
        })
        .returning(move |_, _, after, _| {
            seen.lock().unwrap().push(after);
            replies
                .lock()
                .unwrap()
                .next()
                .expect("no more reads expected")
        });
    (repo, calls)
}

async fn respond(service: &OpenKjService) -> Result<HttpResponse, OpenKjError> {
    whole_song_book(service, CustomerId::generate(), Some(SystemId::DEFAULT)).await
}

/// The next piece of `body`, as actix would ask for it.
async fn next_piece(body: &mut Pin<Box<BoxBody>>) -> Option<Bytes> {
    futures::future::poll_fn(|cx| body.as_mut().poll_next(cx))
        .await
        .map(|piece| piece.unwrap())
}

async fn whole_body(response: HttpResponse) -> Vec<u8> {
    let mut body = Box::pin(response.into_body());
    let mut out = Vec::new();
    while let Some(piece) = next_piece(&mut body).await {
        out.extend_from_slice(&piece);
    }
    out
}

fn fields(value: &Value) -> Fields<'static> {
    super::super::wire::test_fields(value)
}

#[test]
fn only_get_songs_without_page_limit_or_search_is_the_whole_book() {
    let whole = |value: Value| wants_whole_book(Command::GetSongs, &fields(&value));

    assert!(whole(json!({"api_key": "k", "system_id": 2})));
    assert!(whole(
        json!({"page": null, "limit": null, "searchString": null})
    ));
    assert!(!whole(json!({"page": 1})));
    assert!(!whole(json!({"limit": 50})));
    assert!(!whole(json!({"searchString": ""})));
    assert!(!wants_whole_book(Command::Search, &fields(&json!({}))));
}

#[test]
fn a_listed_song_carries_its_id_as_a_number_and_as_a_decimal_string() {
    let song = StoredSong {
        id: SongId::new(9_007_199_254_740_993),
        song: Song::new("Björk", "\"Army\" of Me").unwrap(),
    };

    let listed = serde_json::to_string(&ListedSong::from(&song)).unwrap();

    assert_eq!(
        serde_json::from_str::<Value>(&listed).unwrap(),
        json!({
            "song_id": 9_007_199_254_740_993_i64,
            "artist": "Björk",
            "title": "\"Army\" of Me",
            "songid": "9007199254740993",
        })
    );
}

#[actix_web::test]
async fn the_next_chunk_is_read_only_when_the_body_asks_for_more() {
    let first = i64::try_from(CHUNK).unwrap();
    let (repo, reads) = book(vec![Ok(songs(1, CHUNK)), Ok(songs(first + 1, 3))]);
    let service = service(repo);

    let response = respond(&service).await.unwrap();
    let reads_before_the_body = reads.lock().unwrap().len();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get(header::CONTENT_TYPE).unwrap(),
        "application/json"
    );
    let mut body = Box::pin(response.into_body());
    let mut pieces = Vec::new();
    let mut reads_after_each_piece = Vec::new();
    while let Some(piece) = next_piece(&mut body).await {
        pieces.push(piece);
        reads_after_each_piece.push(reads.lock().unwrap().len());
    }

    assert_eq!(reads_before_the_body, 1, "the first chunk is read up front");
    assert_eq!(
        reads_after_each_piece,
        [1, 2, 2],
        "the second read waits for the second piece"
    );
    assert_eq!(
        *reads.lock().unwrap(),
        [None, Some(SongId::new(first))],
        "each read starts after the last id sent"
    );
    let reply: Value = serde_json::from_slice(&pieces.concat()).unwrap();
    assert_eq!(reply["command"], "getSongs");
    assert_eq!(reply["error"], false);
    assert_eq!(reply["total"], CHUNK + 3);
    let listed = reply["songs"].as_array().unwrap();
    assert_eq!(listed.len(), CHUNK + 3);
    assert_eq!(listed[CHUNK]["song_id"], first + 1);
    assert_eq!(listed[CHUNK]["songid"], (first + 1).to_string());
}

#[actix_web::test]
async fn a_full_last_chunk_ends_with_a_read_that_finds_nothing() {
    let (repo, reads) = book(vec![Ok(songs(1, CHUNK)), Ok(Vec::new())]);

    let body = whole_body(respond(&service(repo)).await.unwrap()).await;

    let reply: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(reply["songs"].as_array().unwrap().len(), CHUNK);
    assert_eq!(reply["total"], CHUNK);
    assert_eq!(reads.lock().unwrap().len(), 2);
}

#[actix_web::test]
async fn an_empty_song_book_is_an_empty_list_after_one_read() {
    let (repo, reads) = book(vec![Ok(Vec::new())]);

    let body = whole_body(respond(&service(repo)).await.unwrap()).await;

    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"command": "getSongs", "error": false, "songs": [], "total": 0})
    );
    assert_eq!(reads.lock().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_failure_before_the_first_chunk_is_an_error_and_sends_nothing() {
    let refused = StorageError::unavailable(std::io::Error::other("connection refused"));
    let (repo, _) = book(vec![Err(refused)]);

    let outcome = respond(&service(repo)).await;

    assert!(
        matches!(
            outcome,
            Err(OpenKjError::Storage(StorageError::Unavailable(_)))
        ),
        "{outcome:?}"
    );
}

/// Log lines written while a test runs.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[actix_web::test]
async fn a_failure_after_the_first_chunk_cuts_the_body_short_and_warns() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    let lost = StorageError::unavailable(std::io::Error::other("connection reset by peer"));
    let (repo, _) = book(vec![Ok(songs(1, CHUNK)), Err(lost)]);

    let body = whole_body(respond(&service(repo)).await.unwrap()).await;

    let text = String::from_utf8(body).unwrap();
    assert!(
        text.starts_with(r#"{"command":"getSongs","error":false,"songs":["#),
        "{}",
        &text[..80]
    );
    assert_eq!(text.matches("\"song_id\"").count(), CHUNK);
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "a cut-short body must not parse"
    );
    let logged = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert_eq!(logged.lines().count(), 1, "{logged}");
    assert!(logged.contains("WARN"), "{logged}");
    assert!(logged.contains("cut short"), "{logged}");
    assert!(logged.contains("connection reset by peer"), "{logged}");
    assert!(logged.contains(&format!("songs_sent={CHUNK}")), "{logged}");
}

// ---- through the endpoint ---------------------------------------------------------------

/// The endpoint over `songs`, with one key (`requests:write`, `songdb:read`) it knows.
fn endpoint_state(
    songs: MockSongBookRepository,
    secret: &keyward_domain::keys::PlainKey,
) -> actix_web::web::Data<crate::state::AppState> {
    use keyward_domain::keys::ApiKey;
    use keyward_domain::ports::{MockApiKeyRepository, MockUsageRecorder, OsSecretGenerator};
    use keyward_domain::services::{ApiKeyService, KaraokeServices, KeyPolicy};

    let mut parts = keyward_domain::testing::api_keys::sample_key(
        CustomerId::generate(),
        time::OffsetDateTime::now_utc(),
    )
    .into_parts();
    parts.hash = secret.hash();
    parts.display_prefix = secret.display_prefix();
    let key = ApiKey::from_parts(parts);
    let mut keys = MockApiKeyRepository::new();
    keys.expect_find_by_hash()
        .returning(move |hash| Ok((hash == key.hash()).then(|| key.clone())));
    let mut usage = MockUsageRecorder::new();
    usage.expect_record().return_const(());
    let api_keys = ApiKeyService::new(
        Arc::new(keys),
        Arc::new(SystemClock),
        Arc::new(OsSecretGenerator::default()),
        Arc::new(usage),
        crate::state::memory_audit(),
        KeyPolicy::default(),
    );
    let karaoke = KaraokeServices {
        openkj: service(songs),
        ..crate::state::memory_karaoke()
    };
    let jwt = crate::auth::jwt::JwtSettings {
        secret: crate::auth::jwt::JwtSecret::new(b"unused".to_vec()),
        issuer: None,
        audience: None,
        leeway_seconds: crate::auth::jwt::LEEWAY_SECONDS,
    };
    actix_web::web::Data::new(crate::state::AppState::new(
        api_keys,
        crate::state::memory_usage(),
        crate::state::memory_audit(),
        karaoke,
        &jwt,
    ))
}

/// Posts `getSongs` with `fields` to the endpoint; returns the content type and body.
async fn post_get_songs(songs: MockSongBookRepository, fields: Value) -> (String, Vec<u8>) {
    use actix_web::{App, test};
    use keyward_domain::keys::{KeyPrefix, PlainKey};

    let secret = PlainKey::from_random(&KeyPrefix::default(), &[7u8; 32]);
    let app = test::init_service(
        App::new()
            .app_data(endpoint_state(songs, &secret))
            .configure(super::super::configure),
    )
    .await;
    let mut body = fields;
    body["api_key"] = json!(secret.expose());
    body["command"] = json!("getSongs");
    let request = test::TestRequest::post()
        .uri("/openkj/api")
        .set_payload(body.to_string())
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    (content_type, test::read_body(response).await.to_vec())
}

#[actix_web::test]
async fn the_endpoint_answers_a_failed_first_read_with_the_usual_error_envelope() {
    let down = StorageError::unavailable(std::io::Error::other("connection refused"));
    let (repo, _) = book(vec![Err(down)]);

    let (content_type, body) = post_get_songs(repo, json!({"system_id": 1})).await;

    assert_eq!(content_type, "application/json");
    let reply: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(reply["command"], "getSongs");
    assert_eq!(reply["error"], true);
    assert!(
        reply["errorString"]
            .as_str()
            .unwrap()
            .contains("temporarily unavailable"),
        "{reply}"
    );
}

#[actix_web::test]
async fn the_endpoint_streams_the_whole_book_with_the_usual_content_type() {
    let (repo, reads) = book(vec![Ok(songs(1, 2))]);

    let (content_type, body) = post_get_songs(repo, json!({"system_id": 1})).await;

    assert_eq!(content_type, "application/json");
    let reply: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(reply["error"], false);
    assert_eq!(reply["total"], 2);
    assert_eq!(*reads.lock().unwrap(), [None]);
}
