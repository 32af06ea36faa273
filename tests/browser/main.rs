//! The singer pages (docs/PAGES.md, SPEC §15) in a real headless Chromium, driven through
//! chromedriver: the built binary on SQLite, a song book uploaded the way OpenKJ uploads
//! it, a singer searching and asking for a song with JavaScript on and off, and OpenKJ's
//! `getRequests` showing what arrived. The pages are found by the stable markup
//! docs/PAGES.md lists, nothing else. The customer dashboard's scenarios are in
//! `dashboard.rs`. Every page visited is saved as a screenshot at phone and desktop
//! width (`support::screenshot_dir`).
//!
//! Needs `chromium` and `chromedriver` (Debian: `chromium`, `chromium-driver`); without
//! them each test prints a `SKIPPED` line and passes, unless `CI` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dashboard;
mod support;

use std::collections::BTreeSet;

use fantoccini::Locator;
use fantoccini::key::Key;
use reqwest::StatusCode;
use support::{Browser, Env, Js, Venue, song_book};

/// A song title no page may execute or mangle.
const HOSTILE_TITLE: &str =
    r#"<script>alert("pwned")</script> "Quoted" & <img src=x onerror="window.__pwned=1">"#;
const HOSTILE_ARTIST: &str = r#"<b>Bold</b> & "Co" 'n' Sons"#;
const HOSTILE_VENUE: &str = r#"Bar "<i>Q</i>" & Co"#;
/// Also not a cookie's attributes (the name is remembered in `kw_singer`).
const HOSTILE_SINGER: &str = r#"<img src=y onerror="window.__pwned=2">Eve & "Mallory"; Max-Age=0"#;

fn owned(songs: &[(&str, &str)]) -> Vec<(String, String)> {
    songs
        .iter()
        .map(|(a, t)| ((*a).to_owned(), (*t).to_owned()))
        .collect()
}

fn request(singer: &str, artist: &str, title: &str, key: i64) -> (String, String, String, i64) {
    (singer.to_owned(), artist.to_owned(), title.to_owned(), key)
}

/// `/v/{urlName}/request?artist=…&title=…`, encoded.
fn request_form_path(venue: &Venue, artist: &str, title: &str) -> String {
    let url = reqwest::Url::parse_with_params(
        &format!("http://x/v/{}/request", venue.url_name),
        &[("artist", artist), ("title", title)],
    )
    .unwrap();
    format!("{}?{}", url.path(), url.query().unwrap_or_default())
}

/// Clicks the `a.request-link` of the result whose artist and title are these.
async fn click_request_link(browser: &Browser, artist: &str, title: &str) {
    let items = browser.find_all("ol#results > li.song").await;
    for li in items {
        let a = li.find(Locator::Css(".artist")).await.unwrap().text().await;
        let t = li.find(Locator::Css(".title")).await.unwrap().text().await;
        if a.as_deref().ok() == Some(artist) && t.as_deref().ok() == Some(title) {
            let link = li
                .find(Locator::Css("a.request-link"))
                .await
                .unwrap_or_else(|e| panic!("no a.request-link for {artist} – {title}: {e}"));
            link.click().await.unwrap();
            return;
        }
    }
    panic!("no result {artist} – {title} to click");
}

/// The request form's hidden song fields.
async fn form_song(browser: &Browser) -> (String, String) {
    let artist = browser
        .prop("form#request-form input[name=artist]", "value")
        .await
        .unwrap_or_default();
    let title = browser
        .prop("form#request-form input[name=title]", "value")
        .await
        .unwrap_or_default();
    (artist, title)
}

/// Waits until the current URL has `q=<query>` (a plain GET search) at `path`.
async fn wait_for_search(browser: &Browser, path: &str, query: &str) {
    let (path, query) = (path.to_owned(), query.to_owned());
    browser
        .eventually(&format!("the search page for {query:?}"), move |client| {
            let (path, query) = (path.clone(), query.clone());
            async move {
                let url = client.current_url().await?;
                let q = url
                    .query_pairs()
                    .find(|(k, _)| k == "q")
                    .map(|(_, v)| v.into_owned());
                Ok((url.path() == path && q.as_deref() == Some(query.as_str())).then_some(()))
            }
        })
        .await;
}

/// With "midnight" searched (60 songs): three pages of 25, 25 and 10 through
/// `nav.pager a[rel=next]`, each with the paging links it should have.
async fn page_through_midnight(browser: &mut Browser) {
    let count = browser.text("#result-count").await;
    assert!(count.contains("60"), "#result-count: {count:?}");
    let mut seen = BTreeSet::new();
    for (number, expected) in [(1, 25), (2, 25), (3, 10)] {
        let songs = browser
            .results_when(&format!("page {number} of \"midnight\""), |songs| {
                songs.len() == expected
                    && songs.iter().all(|(_, t)| t.contains("Midnight"))
                    && songs.iter().all(|s| !seen.contains(s))
            })
            .await;
        seen.extend(songs);
        browser.screenshot(&format!("midnight-page-{number}")).await;
        assert_eq!(
            browser.visible("nav.pager a[rel=prev]").await,
            number > 1,
            "a[rel=prev] on page {number}"
        );
        assert_eq!(
            browser.visible("nav.pager a[rel=next]").await,
            number < 3,
            "a[rel=next] on page {number}"
        );
        if number < 3 {
            browser.click("nav.pager a[rel=next]").await;
        }
    }
    assert_eq!(seen.len(), 60);
}

/// `#singer-error` is a non-empty `.field-error` right above or below `input#singer`.
async fn assert_singer_error_beside_the_field(browser: &Browser) {
    let error = browser.find("#singer-error").await;
    assert!(
        error
            .attr("class")
            .await
            .unwrap()
            .is_some_and(|c| c.split_whitespace().any(|c| c == "field-error")),
        "#singer-error is not a .field-error"
    );
    assert!(!error.text().await.unwrap().trim().is_empty());
    let (_, error_y, _, error_height) = error.rectangle().await.unwrap();
    let (_, field_y, _, field_height) = browser
        .find("input#singer")
        .await
        .rectangle()
        .await
        .unwrap();
    let gap = if error_y >= field_y {
        error_y - (field_y + field_height)
    } else {
        field_y - (error_y + error_height)
    };
    assert!(
        gap < 48.0,
        "#singer-error is {gap}px away from the field, not next to it"
    );
}

/// Fails unless no dialog is open and nothing set `window.__pwned` (JavaScript sessions).
async fn assert_nothing_ran(browser: &Browser) {
    assert_eq!(browser.alert_open().await, None, "a dialog opened");
    assert_eq!(
        browser.script("return typeof window.__pwned").await,
        serde_json::json!("undefined"),
        "an injected handler ran"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_singer_searches_as_they_type_and_requests_a_song_with_javascript() {
    let Some(env) = Env::start().await else {
        return;
    };
    env.api.add_songs(&song_book()).await;
    let venue = env.api.venue("The Rusty Mic", "the-rusty-mic", true).await;
    let page = format!("/v/{}", venue.url_name);
    let mut browser = env.browser(Js::On, "js").await;

    // The venue page.
    browser.open(&page).await;
    assert_eq!(browser.text("#venue-name").await, "The Rusty Mic");
    assert_eq!(
        browser
            .attr("#venue-status", "data-accepting")
            .await
            .as_deref(),
        Some("true")
    );
    browser.screenshot("venue-page").await;

    // Typing updates the results in place: the marker set on this page survives.
    browser
        .script("window.__kwMarker = 'same page'; return null")
        .await;
    browser.type_into("input#q", "queen").await;
    let songs = browser
        .results_when("the three songs matching \"queen\"", |songs| {
            songs.len() == 3
        })
        .await;
    assert_eq!(
        songs.into_iter().collect::<BTreeSet<_>>(),
        owned(&[
            ("ABBA", "Dancing Queen"),
            ("Queen", "Bohemian Rhapsody"),
            ("Queen", "Don't Stop Me Now"),
        ])
        .into_iter()
        .collect()
    );
    assert_eq!(
        browser.script("return window.__kwMarker").await,
        serde_json::json!("same page"),
        "the search navigated away instead of updating the page"
    );
    assert_eq!(browser.url().await.path(), page);
    let count = browser.text("#result-count").await;
    assert!(count.contains('3'), "#result-count: {count:?}");
    assert!(
        !browser.visible("nav.pager a[rel=next]").await,
        "a next-page link for a single page of results"
    );
    browser.screenshot("search-queen").await;

    // The request form of one of them.
    click_request_link(&browser, "Queen", "Don't Stop Me Now").await;
    browser.wait_for_path(&format!("{page}/request")).await;
    assert_eq!(
        form_song(&browser).await,
        ("Queen".to_owned(), "Don't Stop Me Now".to_owned())
    );
    browser.screenshot("request-form").await;
    browser.type_into("input#singer", "Alice").await;
    browser
        .find("select#keyChange")
        .await
        .select_by_value("-2")
        .await
        .expect("select a key change of -2");
    browser.screenshot("request-form-filled").await;
    browser.click("button#submit-request").await;

    // Back on the singer page, with a confirmation.
    browser.wait_for_path(&page).await;
    let confirmation = browser.text("#confirmation").await;
    assert!(
        confirmation.contains("Alice") && confirmation.contains("Don't Stop Me Now"),
        "#confirmation: {confirmation:?}"
    );
    assert_eq!(
        browser.attr("#confirmation", "role").await.as_deref(),
        Some("status")
    );
    browser.screenshot("confirmation").await;
    let alice = request("Alice", "Queen", "Don't Stop Me Now", -2);
    assert_eq!(env.api.requests(&venue).await, vec![alice.clone()]);

    // Reloading the confirmation sends nothing again, and the confirmation was read once.
    browser.client().refresh().await.unwrap();
    browser.find("#venue-name").await;
    assert!(!browser.exists("#confirmation").await);
    assert_eq!(env.api.requests(&venue).await, vec![alice]);

    // The next request form remembers the singer's name.
    browser.type_into("input#q", "waterloo").await;
    browser
        .results_when("ABBA – Waterloo", |songs| {
            songs == owned(&[("ABBA", "Waterloo")])
        })
        .await;
    click_request_link(&browser, "ABBA", "Waterloo").await;
    browser.wait_for_path(&format!("{page}/request")).await;
    assert_eq!(
        browser.prop("input#singer", "value").await.as_deref(),
        Some("Alice")
    );
    browser.screenshot("request-form-remembered").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_javascript_typed_results_page_through_the_pager() {
    let Some(env) = Env::start().await else {
        return;
    };
    env.api.add_songs(&song_book()).await;
    let venue = env.api.venue("Night Bus", "night-bus", true).await;
    let page = format!("/v/{}", venue.url_name);
    let mut browser = env.browser(Js::On, "js-paging").await;
    // From a page of one result (no next page), a new search typed in place.
    browser.open(&format!("{page}?q=waterloo")).await;
    browser
        .results_when("ABBA – Waterloo", |songs| {
            songs == owned(&[("ABBA", "Waterloo")])
        })
        .await;
    assert!(!browser.visible("nav.pager a[rel=next]").await);
    browser.screenshot("search-waterloo").await;
    browser.find("input#q").await.clear().await.unwrap();
    browser.type_into("input#q", "midnight").await;
    browser
        .results_when("the first page of \"midnight\"", |songs| {
            songs.len() == 25 && songs.iter().all(|(_, t)| t.contains("Midnight"))
        })
        .await;
    page_through_midnight(&mut browser).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_javascript_search_paging_errors_and_requests_are_plain_forms() {
    let Some(env) = Env::start().await else {
        return;
    };
    env.api.add_songs(&song_book()).await;
    let venue = env
        .api
        .venue("Karaoke Corner", "karaoke-corner", true)
        .await;
    let page = format!("/v/{}", venue.url_name);
    let mut browser = env.browser(Js::Off, "nojs").await;

    browser.open(&page).await;
    assert_eq!(browser.text("#venue-name").await, "Karaoke Corner");
    browser.screenshot("venue-page").await;

    // Enter in the search field submits the GET form.
    browser
        .type_into("input#q", &format!("waterloo{}", char::from(Key::Enter)))
        .await;
    wait_for_search(&browser, &page, "waterloo").await;
    browser
        .results_when("ABBA – Waterloo", |songs| {
            songs == owned(&[("ABBA", "Waterloo")])
        })
        .await;
    browser.screenshot("search-waterloo").await;

    // Its request form; an empty name comes back with the error beside the field and
    // everything else still filled in.
    click_request_link(&browser, "ABBA", "Waterloo").await;
    browser.wait_for_path(&format!("{page}/request")).await;
    assert_eq!(
        form_song(&browser).await,
        ("ABBA".to_owned(), "Waterloo".to_owned())
    );
    browser.screenshot("request-form").await;
    // A `required` field keeps the browser from sending an empty one; blanks get past
    // it and are empty once trimmed (SPEC §8: 1 to 100 characters).
    if browser.attr("input#singer", "required").await.is_some() {
        browser.type_into("input#singer", "   ").await;
    }
    browser
        .find("select#keyChange")
        .await
        .select_by_value("3")
        .await
        .expect("select a key change of +3");
    browser.click("button#submit-request").await;
    assert_singer_error_beside_the_field(&browser).await;
    assert_eq!(
        form_song(&browser).await,
        ("ABBA".to_owned(), "Waterloo".to_owned())
    );
    assert_eq!(
        browser.prop("select#keyChange", "value").await.as_deref(),
        Some("3")
    );
    browser.screenshot("singer-error").await;
    assert_eq!(env.api.requests(&venue).await, vec![]);
    let refused = env
        .api
        .http
        .post(format!("{}{page}/request", env.base()))
        .form(&[
            ("singer", ""),
            ("artist", "ABBA"),
            ("title", "Waterloo"),
            ("keyChange", "0"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(env.api.requests(&venue).await, vec![]);

    browser.find("input#singer").await.clear().await.unwrap();
    browser.type_into("input#singer", "Bob").await;
    browser.click("button#submit-request").await;
    browser.wait_for_path(&page).await;
    let confirmation = browser.text("#confirmation").await;
    assert!(
        confirmation.contains("Bob") && confirmation.contains("Waterloo"),
        "#confirmation: {confirmation:?}"
    );
    browser.screenshot("confirmation").await;
    assert_eq!(
        env.api.requests(&venue).await,
        vec![request("Bob", "ABBA", "Waterloo", 3)]
    );

    // 60 songs say "Midnight": three pages of 25, 25 and 10.
    browser.find("input#q").await.clear().await.unwrap();
    browser
        .type_into("input#q", &format!("midnight{}", char::from(Key::Enter)))
        .await;
    wait_for_search(&browser, &page, "midnight").await;
    page_through_midnight(&mut browser).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_not_taking_requests_shows_no_request_form() {
    let Some(env) = Env::start().await else {
        return;
    };
    env.api.add_songs(&song_book()).await;
    let venue = env.api.venue("Quiet Night", "quiet-night", false).await;
    let page = format!("/v/{}", venue.url_name);
    let mut browser = env.browser(Js::On, "closed").await;

    browser.open(&page).await;
    assert_eq!(
        browser
            .attr("#venue-status", "data-accepting")
            .await
            .as_deref(),
        Some("false")
    );
    let status = browser.text("#venue-status").await;
    assert!(status.contains("Not taking requests"), "{status:?}");
    browser.screenshot("venue-page").await;

    browser
        .open(&request_form_path(&venue, "ABBA", "Waterloo"))
        .await;
    assert!(!browser.text("#not-accepting").await.trim().is_empty());
    assert!(!browser.exists("form#request-form").await);
    browser.screenshot("request-form").await;

    // A submission that raced the switch is refused, and OpenKJ sees nothing.
    let refused = env
        .api
        .http
        .post(format!("{}{page}/request", env.base()))
        .form(&[
            ("singer", "Carol"),
            ("artist", "ABBA"),
            ("title", "Waterloo"),
            ("keyChange", "0"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(env.api.requests(&venue).await, vec![]);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_venue_is_a_404_page() {
    let Some(env) = Env::start().await else {
        return;
    };
    for path in [
        "/v/no-such-venue",
        "/v/no-such-venue/request?artist=ABBA&title=Waterloo",
    ] {
        let answer = env
            .api
            .http
            .get(format!("{}{path}", env.base()))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
        let content_type = answer.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
    }
    let mut browser = env.browser(Js::On, "unknown").await;
    browser.open("/v/no-such-venue").await;
    let problem = browser.text("#problem").await;
    assert!(!problem.trim().is_empty());
    let body = browser.text("body").await;
    assert!(
        !body.contains("\"status\"") && !body.contains("panicked"),
        "{body}"
    );
    browser.screenshot("404").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_song_venue_and_singer_text_is_shown_as_text() {
    let Some(env) = Env::start().await else {
        return;
    };
    let mut songs = song_book();
    songs.push((HOSTILE_ARTIST.to_owned(), HOSTILE_TITLE.to_owned()));
    env.api.add_songs(&songs).await;
    let venue = env.api.venue(HOSTILE_VENUE, "hostile-bar", true).await;
    assert_eq!(venue.name, HOSTILE_VENUE);
    let page = format!("/v/{}", venue.url_name);
    let hostile = owned(&[(HOSTILE_ARTIST, HOSTILE_TITLE)]);
    let mut browser = env.browser(Js::On, "hostile").await;

    // The venue's name, and the song found by typing (results drawn by the page's script).
    browser.open(&page).await;
    assert_eq!(browser.text_content("#venue-name").await, HOSTILE_VENUE);
    assert_nothing_ran(&browser).await;
    browser.type_into("input#q", "pwned").await;
    browser
        .results_when("the hostile song, typed", |songs| songs == hostile)
        .await;
    assert_eq!(
        browser.text_content("ol#results > li.song .title").await,
        HOSTILE_TITLE
    );
    assert_nothing_ran(&browser).await;
    browser.screenshot("search-typed").await;

    // The same song in the page as the server renders it.
    browser.open(&format!("{page}?q=pwned")).await;
    browser
        .results_when("the hostile song, rendered", |songs| songs == hostile)
        .await;
    assert_eq!(
        browser.text_content("ol#results > li.song .artist").await,
        HOSTILE_ARTIST
    );
    assert_nothing_ran(&browser).await;
    browser.screenshot("search-rendered").await;

    // Its request form carries it verbatim, and the request arrives verbatim.
    click_request_link(&browser, HOSTILE_ARTIST, HOSTILE_TITLE).await;
    browser.wait_for_path(&format!("{page}/request")).await;
    assert_eq!(
        form_song(&browser).await,
        (HOSTILE_ARTIST.to_owned(), HOSTILE_TITLE.to_owned())
    );
    assert_nothing_ran(&browser).await;
    browser.screenshot("request-form").await;
    browser.type_into("input#singer", HOSTILE_SINGER).await;
    browser.click("button#submit-request").await;
    browser.wait_for_path(&page).await;
    assert_eq!(
        env.api.requests(&venue).await,
        vec![request(HOSTILE_SINGER, HOSTILE_ARTIST, HOSTILE_TITLE, 0)]
    );
    browser.find("#confirmation").await;
    assert_nothing_ran(&browser).await;
    browser.screenshot("confirmation").await;
    let confirmation = browser.text_content("#confirmation").await;
    assert!(
        confirmation.contains(HOSTILE_SINGER)
            && confirmation.contains(HOSTILE_ARTIST)
            && confirmation.contains(HOSTILE_TITLE),
        "#confirmation: {confirmation:?}"
    );

    // The next request form is filled in with the name as typed.
    browser
        .open(&request_form_path(&venue, "ABBA", "Waterloo"))
        .await;
    assert_eq!(
        browser.prop("input#singer", "value").await.as_deref(),
        Some(HOSTILE_SINGER)
    );
    assert_nothing_ran(&browser).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_landing_page_leads_to_the_api_explorer() {
    let Some(env) = Env::start().await else {
        return;
    };
    let mut browser = env.browser(Js::On, "landing").await;
    browser.open("/").await;
    browser.find("a[href='/docs']").await;
    browser.screenshot("landing").await;
    browser.click("a[href='/docs']").await;
    browser.wait_for_path("/docs/").await;
    // Swagger UI, from the binary's own assets, has drawn the operations.
    browser.find(".swagger-ui .opblock").await;
    browser.screenshot("api-explorer").await;
    browser.close().await;
}
