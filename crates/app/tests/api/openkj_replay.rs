//! The OpenKJ endpoint spoken to exactly like the real client, on every backend: the
//! start-up and polling sequence, the conformance vectors of §8 of the protocol document
//! (numbered below), and the song upload loop with its quirks.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::openkj_client::{
    Host, OpenKj, assert_request_types, create_venue, int32, openkj_upload_batches, qt_json, sing,
    sing_ok,
};
use crate::support::{Backend, on_every_backend, spawn_app};

on_every_backend!(
    start_up_and_polling_sequence_sees_a_singer_request,
    serial_is_a_stable_non_zero_int32,
    bad_and_empty_keys_are_refused_in_the_envelope,
    entitlement_and_alert_answer_with_strict_types,
    venues_list_with_strict_types_and_venue_zero_is_real,
    opening_and_closing_a_venue_moves_the_serial,
    singer_request_appears_with_every_field_typed,
    requests_are_listed_oldest_first_and_per_venue,
    delete_and_clear_take_requests_out_and_move_the_serial,
    song_upload_replays_the_clients_loop_and_keeps_text_verbatim,
    full_batches_back_to_back_all_succeed,
    duplicates_and_odd_strings_never_fail_a_batch,
    song_books_are_per_system,
    unknown_command_and_test_hook_are_errors_in_the_envelope,
    every_documented_path_answers_without_redirect,
    key_order_and_whitespace_do_not_matter,
    singer_side_commands_work_for_a_single_venue_account,
    seed_commands_get_songs_and_add_request,
    get_songs_without_paging_lists_one_whole_song_book,
    get_songs_without_a_system_lists_every_song_book_of_the_account,
    get_songs_streams_a_book_of_several_chunks_whole_and_in_order,
    get_songs_paged_or_searched_still_pages_and_carries_songid,
);

/// 1-7: what OpenKJ sends when it starts (getEntitledSystemCount, getVenues, getAlert),
/// then its polling: getSerial, and getRequests + getVenues whenever the serial moved.
async fn start_up_and_polling_sequence_sees_a_singer_request(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    let count = openkj.ok("getEntitledSystemCount", json!({})).await;
    assert!(int32(&count["count"]) >= 1);
    let venues = openkj.venues().await;
    assert_eq!(venues.len(), 1);
    let selected = int32(&venues[0]["venue_id"]);
    openkj.ok("getAlert", json!({})).await;
    let first = openkj.serial().await;
    assert!(openkj.requests(selected).await.is_empty());

    openkj
        .ok(
            "setAccepting",
            json!({"accepting": true, "system_id": 1, "venue_id": selected}),
        )
        .await;
    sing_ok(&app, &host.url_name, "Alice", "ABBA", "Waterloo").await;
    let polled = openkj.serial().await;

    assert_ne!(polled, first, "a change must move the serial");
    let requests = openkj.requests(selected).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["singer"], "Alice");
    assert_eq!(openkj.serial().await, polled, "no change, same serial");
}

/// 1, 2, 28: `serial` is a non-zero int32 and repeats while nothing changes; a success
/// carries no errorString (the Test button fails on any non-empty one).
async fn serial_is_a_stable_non_zero_int32(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let openkj = Host::new(&app).await.openkj(&app);

    let reply = openkj.ok("getSerial", json!({})).await;
    let again = openkj.serial().await;

    assert_ne!(int32(&reply["serial"]), 0);
    assert_eq!(int32(&reply["serial"]), again);
}

/// 3, 4: a wrong or empty key is HTTP 200, `error: true`, a non-empty `errorString`,
/// and no `serial`.
async fn bad_and_empty_keys_are_refused_in_the_envelope(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let mut tampered_key = host.key.clone();
    let swapped = if &tampered_key[10..11] == "a" {
        "b"
    } else {
        "a"
    };
    tampered_key.replace_range(10..11, swapped);

    for key in ["kw_not-a-key", "", "   ", tampered_key.as_str()] {
        let openkj = OpenKj::new(&app, key);
        let reply = openkj.send("getSerial", json!({})).await;
        assert_eq!(reply["error"], true, "{key:?}: {reply}");
        assert!(!reply["errorString"].as_str().unwrap().is_empty());
        assert!(reply.get("serial").is_none_or(|s| s == 0), "{reply}");
        openkj.refused("getVenues", json!({})).await;
    }
}

/// 5, 6, 7, 28: `count` is an int ≥ 1; `alert` is a bool, false for a healthy key, with
/// string title/message, also when SongbookAgent adds `app: "standalone"`.
async fn entitlement_and_alert_answer_with_strict_types(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let openkj = Host::new(&app).await.openkj(&app);

    let count = openkj.ok("getEntitledSystemCount", json!({})).await;
    let alert = openkj.ok("getAlert", json!({})).await;
    let agent = openkj.ok("getAlert", json!({"app": "standalone"})).await;

    assert!(int32(&count["count"]) >= 1);
    for reply in [alert, agent] {
        assert_eq!(reply["alert"], false, "{reply}");
        assert!(reply["title"].is_string() && reply["message"].is_string());
    }
}

/// 8, 18, 28: venues carry int ids, string names, bool accepting; the first venue is
/// id 0, and venue 0 answers `getRequests` with a list.
async fn venues_list_with_strict_types_and_venue_zero_is_real(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    create_venue(&app, &host.customer, json!({"name": "Second Stage"})).await;
    let openkj = host.openkj(&app);

    let venues = openkj.venues().await;
    let reply = openkj.ok("getRequests", json!({"venue_id": 0})).await;

    let ids: Vec<i64> = venues.iter().map(|v| int32(&v["venue_id"])).collect();
    assert_eq!(ids, [0, 1]);
    assert_eq!(venues[0]["name"], "The Rusty Mic");
    assert_eq!(venues[0]["url_name"], host.url_name.as_str());
    assert_eq!(venues[0]["accepting"], false);
    assert_eq!(reply["requests"], json!([]));
}

/// 9, 10: `setAccepting` opens and closes the venue; each change moves the serial and
/// `getVenues` shows a JSON bool.
async fn opening_and_closing_a_venue_moves_the_serial(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    let closed = openkj.serial().await;

    let open = json!({"accepting": true, "system_id": 1, "venue_id": host.venue});
    openkj.ok("setAccepting", open).await;
    let opened = openkj.serial().await;
    let shown_open = openkj.venues().await[0]["accepting"].clone();
    let close = json!({"accepting": false, "system_id": 1, "venue_id": host.venue});
    openkj.ok("setAccepting", close).await;
    let reclosed = openkj.serial().await;
    let shown_closed = openkj.venues().await[0]["accepting"].clone();

    assert_ne!(opened, closed);
    assert_ne!(reclosed, opened);
    assert_eq!(shown_open, true);
    assert_eq!(shown_closed, false);
    let unknown = json!({"accepting": true, "system_id": 1, "venue_id": 99});
    openkj.refused("setAccepting", unknown).await;
}

/// 11, 12, 28: an empty queue is `[]`; a singer's request shows up with an int32 id,
/// the epoch-seconds time, the key change, and text exactly as submitted.
async fn singer_request_appears_with_every_field_typed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    let open = json!({"accepting": true, "system_id": 1, "venue_id": host.venue});
    openkj.ok("setAccepting", open).await;
    assert_eq!(openkj.requests(host.venue).await, Vec::<Value>::new());
    let before = openkj.serial().await;

    let response = sing(
        &app,
        &host.url_name,
        json!({"singer": "Alice", "artist": "ABBA", "title": "Waterloo", "keyChange": -2}),
    )
    .await;

    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    assert_ne!(openkj.serial().await, before);
    let requests = openkj.requests(host.venue).await;
    let request = &requests[0];
    assert_request_types(request);
    assert_eq!(request["artist"], "ABBA");
    assert_eq!(request["title"], "Waterloo");
    assert_eq!(request["singer"], "Alice");
    assert_eq!(request["key_change"], -2);
    let now = app.clock_now().unix_timestamp();
    assert!(
        (int32(&request["request_time"]) - now).abs() <= 5,
        "{request}"
    );
}

/// 13, 14: a later request is listed after an earlier one; a request at another venue
/// of the same account is not listed.
async fn requests_are_listed_oldest_first_and_per_venue(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let other = create_venue(
        &app,
        &host.customer,
        json!({"name": "Second Stage", "acceptingRequests": true}),
    )
    .await;
    let openkj = host.openkj(&app);
    let open = json!({"accepting": true, "system_id": 1, "venue_id": host.venue});
    openkj.ok("setAccepting", open).await;

    sing_ok(&app, &host.url_name, "First", "A", "One").await;
    app.clock.advance(time::Duration::seconds(2));
    sing_ok(
        &app,
        other["urlName"].as_str().unwrap(),
        "Elsewhere",
        "B",
        "Two",
    )
    .await;
    sing_ok(&app, &host.url_name, "Second", "C", "Three").await;

    let singers: Vec<Value> = openkj
        .requests(host.venue)
        .await
        .iter()
        .map(|r| r["singer"].clone())
        .collect();
    assert_eq!(singers, [json!("First"), json!("Second")]);
    let elsewhere = openkj.requests(int32(&other["openkjVenueId"])).await;
    assert_eq!(elsewhere.len(), 1);
}

/// 15, 16, 17: deleting a request removes it and moves the serial; deleting an unknown
/// id is a harmless success; clearing empties the queue and moves the serial.
async fn delete_and_clear_take_requests_out_and_move_the_serial(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    let open = json!({"accepting": true, "system_id": 1, "venue_id": host.venue});
    openkj.ok("setAccepting", open).await;
    let first = sing_ok(&app, &host.url_name, "Alice", "ABBA", "Waterloo").await;
    sing_ok(&app, &host.url_name, "Bob", "Queen", "Bohemian Rhapsody").await;
    let before_delete = openkj.serial().await;

    openkj
        .ok(
            "deleteRequest",
            json!({"request_id": first, "venue_id": host.venue}),
        )
        .await;
    let after_delete = openkj.serial().await;
    let remaining = openkj.requests(host.venue).await;
    openkj
        .ok(
            "deleteRequest",
            json!({"request_id": 999_999_999, "venue_id": host.venue}),
        )
        .await;
    let after_unknown = openkj.serial().await;
    openkj
        .ok("clearRequests", json!({"venue_id": host.venue}))
        .await;
    let after_clear = openkj.serial().await;

    assert_ne!(after_delete, before_delete);
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0]["singer"], "Bob");
    assert_eq!(after_unknown, after_delete);
    assert_ne!(after_clear, after_unknown);
    assert!(openkj.requests(host.venue).await.is_empty());
}

/// 19, 20, 21: the upload loop of "Update remote DB" (reverse-order batches, the song
/// skipped after each full batch, the trailing empty batch) stores every song it sends
/// byte for byte, and singers find them.
async fn song_upload_replays_the_clients_loop_and_keeps_text_verbatim(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    let mut library: Vec<(String, String)> = (0..2001)
        .map(|i| (format!("Artist {:04}", i / 3), format!("Title {i:04}")))
        .collect();
    library.extend([
        ("AC/DC".to_owned(), "Back In Black".to_owned()),
        ("Björk".to_owned(), "Army of Me".to_owned()),
        ("Queen".to_owned(), "Bohemian Rhapsody".to_owned()),
    ]);
    library.sort();
    let sent: Vec<(String, String)> = openkj_upload_batches(&library).concat();

    let replies = openkj.upload(1, &library).await;

    assert!(replies.iter().all(|r| r["error"] == false));
    // The whole book (search totals stop counting at 1,000).
    let stored = openkj.ok("getSongs", json!({"system_id": 1})).await["songs"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(stored, sent.len());
    let capped = app
        .get("/v1/customer/songdb?systemId=1&limit=1", &host.customer)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["pagination"]
        .clone();
    assert_eq!(capped["total"], 1000);
    assert_eq!(capped["totalCapped"], true);
    let paged = openkj
        .ok("getSongs", json!({"system_id": 1, "limit": 1}))
        .await;
    assert_eq!(
        (paged["total"].clone(), paged["total_capped"].clone()),
        (json!(1000), json!(true))
    );
    assert_eq!(
        sent.len(),
        library.len() - 2,
        "the client skips two songs here"
    );
    let found = app
        .client
        .get(app.url(&format!(
            "/v1/public/venues/{}/songs?q=bjÖrk",
            host.url_name
        )))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(found["data"][0]["artist"], "Björk");
    assert_eq!(found["data"][0]["title"], "Army of Me");
}

/// 22 and the SPEC's upload budget: 200 batches of 1000 songs, back to back, pretty
/// printed (~150 KB each) — every reply a success.
async fn full_batches_back_to_back_all_succeed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    openkj.ok("clearDatabase", json!({"system_id": 1})).await;

    for batch in 0..200 {
        let songs: Vec<Value> = (0..1000)
            .map(|i| json!({"artist": format!("Artist {batch:03}"), "title": format!("Song {i:04}")}))
            .collect();
        let reply = openkj
            .ok("addSongs", json!({"songs": songs, "system_id": 1}))
            .await;
        assert_eq!(reply["added"], 1000, "batch {batch}: {reply}");
    }

    assert_ne!(openkj.serial().await, 0, "polling still has its own budget");
}

/// 23: a batch repeating stored songs, with an empty artist and quotes, succeeds; the
/// duplicate is skipped, the quotes are kept.
async fn duplicates_and_odd_strings_never_fail_a_batch(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    let queen = json!({"artist": "Queen", "title": "Bohemian Rhapsody"});
    openkj
        .ok(
            "addSongs",
            json!({"songs": [queen.clone()], "system_id": 1}),
        )
        .await;

    let reply = openkj
        .ok(
            "addSongs",
            json!({"songs": [
                queen,
                {"artist": "", "title": "Untitled"},
                {"artist": "Guns N' Roses", "title": "\"Sweet Child O' Mine\""},
                {"artist": "", "title": ""},
                "not a song",
            ], "system_id": 1}),
        )
        .await;

    assert_eq!(reply["entries_processed"], 5);
    assert_eq!(reply["added"], 2);
    assert_eq!(reply["duplicates"], 1);
    assert_eq!(reply["rejected"], 2);
    let songs = openkj
        .ok("getSongs", json!({"searchString": "sweet", "system_id": 1}))
        .await;
    assert_eq!(songs["songs"][0]["title"], "\"Sweet Child O' Mine\"");
}

/// 24: `clearDatabase` + `addSongs` for system 2 leave system 1's song book alone.
async fn song_books_are_per_system(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    let one = vec![("Queen".to_owned(), "Bohemian Rhapsody".to_owned())];
    let two = vec![("ABBA".to_owned(), "Waterloo".to_owned())];
    openkj.upload(1, &one).await;

    openkj.upload(2, &two).await;

    let system_one = openkj.ok("getSongs", json!({"system_id": 1})).await;
    let system_two = openkj.ok("getSongs", json!({"system_id": 2})).await;
    assert_eq!(system_one["total"], 1);
    assert_eq!(system_one["songs"][0]["artist"], "Queen");
    assert_eq!(system_two["songs"][0]["artist"], "ABBA");
}

/// 25, 26: an unknown command and the key-less torture-test hook are HTTP 200 with the
/// command echoed, `error: true` and a non-empty errorString.
async fn unknown_command_and_test_hook_are_errors_in_the_envelope(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);

    openkj.refused("fooBar", json!({})).await;
    let hook = openkj
        .post_raw(
            "/openkj/api",
            qt_json(&json!({"command": "testingAddRandomRequest", "venue_id": host.venue})),
        )
        .await;

    assert_eq!(hook["command"], "testingAddRandomRequest");
    assert_eq!(hook["error"], true);
    assert!(!hook["errorString"].as_str().unwrap().is_empty());
}

/// 27: the request of (1) answers the same on every path the endpoint documents.
async fn every_documented_path_answers_without_redirect(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let body = json!({"api_key": host.key, "command": "getSerial"});

    for path in [
        "/openkj/api",
        "/openkj/api.php",
        "/openkj",
        "/openkj/",
        "/openkj/api/",
        "/",
    ] {
        let reply = OpenKj::new(&app, &host.key)
            .post_raw(path, qt_json(&body))
            .await;
        assert_eq!(reply["command"], "getSerial", "{path}");
        assert_eq!(reply["error"], false, "{path}");
        assert_ne!(int32(&reply["serial"]), 0, "{path}");
    }
}

/// 30: the same `setAccepting` with keys reversed and compact formatting works the same.
async fn key_order_and_whitespace_do_not_matter(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    let compact = format!(
        r#"{{"venue_id":{},"system_id":1,"command":"setAccepting","api_key":"{}","accepting":true}}"#,
        host.venue, host.key
    );

    let reply = openkj.post_raw("/openkj/api", compact.into_bytes()).await;

    assert_eq!(reply["error"], false, "{reply}");
    assert_eq!(openkj.venues().await[0]["accepting"], true);
}

/// The community servers' singer-side commands: with one venue they need no
/// `venue_id`; `search` finds songs by every word and `submitRequest` queues one.
async fn singer_side_commands_work_for_a_single_venue_account(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    openkj
        .upload(1, &[("Queen".to_owned(), "Under Pressure".to_owned())])
        .await;
    let test = openkj.ok("connectionTest", json!({})).await;
    let found = openkj
        .ok("search", json!({"searchString": "queen PRESSURE"}))
        .await;
    let song_id = found["songs"][0]["song_id"].as_i64().unwrap();
    let submission = json!({"singerName": "Alice", "songId": song_id});
    let closed = openkj.ok("venueAccepting", json!({})).await;
    let refused = openkj.refused("submitRequest", submission.clone()).await;
    openkj
        .ok(
            "setAccepting",
            json!({"accepting": true, "system_id": 1, "venue_id": host.venue}),
        )
        .await;

    let submitted = openkj.ok("submitRequest", submission).await;

    assert_eq!(test["connection"], "ok");
    assert_eq!(found["songs"][0]["title"], "Under Pressure");
    assert_eq!(closed["accepting"], false);
    assert!(refused.contains("not accepting"), "{refused}");
    assert_ne!(int32(&submitted["request_id"]), 0);
    assert_eq!(
        openkj.requests(host.venue).await[0]["title"],
        "Under Pressure"
    );
}

/// The seed design's commands: `getSongs` pages a song book, `addRequest` queues a
/// request under the accepting rule.
async fn seed_commands_get_songs_and_add_request(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    let songs: Vec<(String, String)> = (0..5)
        .map(|i| ("Artist".to_owned(), format!("Song {i}")))
        .collect();
    openkj.upload(1, &songs).await;
    let request = json!({
        "artist": "ABBA", "key_change": 3, "singer": "Alice", "title": "Waterloo", "venue_id": host.venue
    });

    let page = openkj
        .ok("getSongs", json!({"limit": 2, "page": 2, "system_id": 1}))
        .await;
    let closed = openkj.refused("addRequest", request.clone()).await;
    openkj
        .ok(
            "setAccepting",
            json!({"accepting": true, "system_id": 1, "venue_id": host.venue}),
        )
        .await;
    let added = openkj.ok("addRequest", request).await;

    assert_eq!(page["total"], 5);
    assert_eq!(page["songs"][0]["title"], "Song 2");
    assert!(closed.contains("not accepting"), "{closed}");
    assert_ne!(int32(&added["request_id"]), 0);
    assert_eq!(openkj.requests(host.venue).await[0]["key_change"], 3);
}

/// The `songs` of a `getSongs` reply as `(song_id, artist, title)`, checking each song's
/// types: `song_id` a JSON integer, `songid` the same id as a decimal string (SPEC §9).
fn listed(reply: &Value) -> Vec<(i64, String, String)> {
    reply["songs"]
        .as_array()
        .unwrap_or_else(|| panic!("no songs: {reply}"))
        .iter()
        .map(|song| {
            let id = song["song_id"]
                .as_i64()
                .unwrap_or_else(|| panic!("song_id: {song}"));
            assert!(!song["song_id"].is_f64(), "{song}");
            assert_eq!(song["songid"], json!(id.to_string()), "{song}");
            let text = |field: &str| song[field].as_str().unwrap().to_owned();
            (id, text("artist"), text("title"))
        })
        .collect()
}

/// Adds each song with its own `addSongs`, so upload order is song-id order.
async fn add_one_by_one(openkj: &OpenKj<'_>, system: i64, songs: &[(&str, &str)]) {
    for (artist, title) in songs {
        let song = json!({"artist": artist, "title": title});
        let reply = openkj
            .ok("addSongs", json!({"songs": [song], "system_id": system}))
            .await;
        assert_eq!(reply["added"], 1, "{reply}");
    }
}

/// SPEC §9: `getSongs` without `page`, `limit` (or `searchString`) is the whole song book
/// of `system_id`, in upload order, each song `{song_id, artist, title, songid}`, in the
/// usual envelope and with the usual `Content-Type`.
async fn get_songs_without_paging_lists_one_whole_song_book(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let openkj = Host::new(&app).await.openkj(&app);
    let system_one = [
        ("Queen", "Bohemian Rhapsody"),
        ("Björk", "Army of Me"),
        ("", "Untitled"),
        ("Guns N' Roses", "\"Sweet Child O' Mine\""),
        ("AC/DC", "Back In Black"),
    ];
    add_one_by_one(&openkj, 1, &system_one).await;
    add_one_by_one(&openkj, 2, &[("ABBA", "Waterloo")]).await;
    let paged = openkj
        .ok("getSongs", json!({"limit": 100, "system_id": 1}))
        .await;

    let (headers, body) = openkj.get_songs_raw(json!({"system_id": 1})).await;

    assert_eq!(headers["content-type"], "application/json");
    let reply: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(reply["command"], "getSongs");
    assert_eq!(reply["error"], false);
    assert!(reply.get("errorString").is_none(), "{reply}");
    assert!(
        reply.get("page").is_none() && reply.get("limit").is_none(),
        "{reply}"
    );
    let songs = listed(&reply);
    let texts: Vec<(&str, &str)> = songs
        .iter()
        .map(|(_, artist, title)| (artist.as_str(), title.as_str()))
        .collect();
    assert_eq!(texts, system_one);
    assert_eq!(reply["total"], system_one.len());
    let ids: HashSet<i64> = songs.iter().map(|(id, _, _)| *id).collect();
    let paged_ids: HashSet<i64> = listed(&paged).iter().map(|(id, _, _)| *id).collect();
    assert_eq!(ids, paged_ids, "the same songs as the paged reply");
}

/// SPEC §9: without `system_id`, `getSongs` lists every song book of the account (and
/// nothing of another account), still in upload order.
async fn get_songs_without_a_system_lists_every_song_book_of_the_account(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let openkj = Host::new(&app).await.openkj(&app);
    let other_host = Host::new(&app).await;
    let other = other_host.openkj(&app);
    add_one_by_one(&openkj, 1, &[("A", "one")]).await;
    add_one_by_one(&openkj, 2, &[("B", "two")]).await;
    add_one_by_one(&other, 1, &[("X", "theirs")]).await;
    add_one_by_one(&openkj, 1, &[("C", "three")]).await;
    add_one_by_one(&openkj, 4, &[("D", "four")]).await;

    let mine = openkj.ok("getSongs", json!({})).await;
    let theirs = other.ok("getSongs", json!({})).await;
    let only_two = openkj.ok("getSongs", json!({"system_id": 2})).await;

    let titles = |reply: &Value| -> Vec<String> {
        listed(reply)
            .into_iter()
            .map(|(_, _, title)| title)
            .collect()
    };
    assert_eq!(titles(&mine), ["one", "two", "three", "four"]);
    assert_eq!(mine["total"], 4);
    assert_eq!(titles(&theirs), ["theirs"]);
    assert_eq!(titles(&only_two), ["two"]);
}

/// A song book several stream chunks long arrives whole: streamed (no `Content-Length`),
/// one JSON document, every song exactly once, in upload order.
async fn get_songs_streams_a_book_of_several_chunks_whole_and_in_order(backend: Backend) {
    const SONGS: usize = 10_345;
    let chunk = keyward_http::openkj::SONG_STREAM_CHUNK as usize;
    assert!(SONGS > 2 * chunk, "the book must span several chunks");
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let openkj = Host::new(&app).await.openkj(&app);
    let library: Vec<(String, String)> = (0..SONGS)
        .map(|i| (format!("Artist {:03}", i % 617), format!("Title {i:05}")))
        .collect();
    let batches: Vec<&[(String, String)]> = library.chunks(1000).collect();
    for batch in &batches {
        let songs: Vec<Value> = batch
            .iter()
            .map(|(artist, title)| json!({"artist": artist, "title": title}))
            .collect();
        let reply = openkj
            .ok("addSongs", json!({"songs": songs, "system_id": 1}))
            .await;
        assert_eq!(reply["added"], batch.len(), "{reply}");
    }
    add_one_by_one(&openkj, 2, &[("Elsewhere", "Not in system 1")]).await;

    let (headers, body) = openkj.get_songs_raw(json!({"system_id": 1})).await;

    assert!(
        headers.get("content-length").is_none(),
        "streamed, not built in memory: {headers:?}"
    );
    let reply: Value = serde_json::from_slice(&body).expect("one JSON document");
    let songs = listed(&reply);
    assert_eq!(songs.len(), SONGS);
    assert_eq!(reply["total"], SONGS);
    assert!(
        songs.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "song ids ascend, so no song comes twice"
    );
    let mut rest = songs.as_slice();
    for (number, batch) in batches.iter().enumerate() {
        let (these, later) = rest.split_at(batch.len());
        let got: HashSet<(&str, &str)> = these
            .iter()
            .map(|(_, artist, title)| (artist.as_str(), title.as_str()))
            .collect();
        let sent: HashSet<(&str, &str)> = batch
            .iter()
            .map(|(artist, title)| (artist.as_str(), title.as_str()))
            .collect();
        assert_eq!(got, sent, "batch {number} in upload order");
        rest = later;
    }
}

/// With `page`, `limit` or `searchString`, `getSongs` pages as before and now carries
/// `songid` too; `search` keeps its reply (no `songid`: SPEC §9 asks it of `getSongs`).
async fn get_songs_paged_or_searched_still_pages_and_carries_songid(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let openkj = Host::new(&app).await.openkj(&app);
    let five: Vec<(String, String)> = (0..5)
        .map(|i| ("Artist".to_owned(), format!("Song {i}")))
        .collect();
    let five: Vec<(&str, &str)> = five.iter().map(|(a, t)| (a.as_str(), t.as_str())).collect();
    add_one_by_one(&openkj, 1, &five).await;

    let page = openkj
        .ok("getSongs", json!({"limit": 2, "page": 2, "system_id": 1}))
        .await;
    let searched = openkj
        .ok("getSongs", json!({"searchString": "SONG 4"}))
        .await;
    let search = openkj.ok("search", json!({"searchString": "song 4"})).await;

    assert_eq!(
        (page["page"].clone(), page["limit"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(page["total"], 5);
    let titles: Vec<String> = listed(&page).into_iter().map(|(_, _, t)| t).collect();
    assert_eq!(titles, ["Song 2", "Song 3"]);
    assert_eq!(searched["total"], 1);
    assert_eq!(searched["total_capped"], false);
    assert_eq!(searched["page"], 1);
    assert_eq!(listed(&searched)[0].2, "Song 4");
    let found = &search["songs"][0];
    assert_eq!(found["title"], "Song 4");
    assert_eq!(found["song_id"], searched["songs"][0]["song_id"]);
    assert!(found.get("songid").is_none(), "{search}");
}
