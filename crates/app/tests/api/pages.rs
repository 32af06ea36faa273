//! The singer pages (SPEC §15) over HTTP, without a browser, on every backend: search and
//! paging, the form's POST/redirect/GET with its confirmation, errors beside the fields,
//! a closed venue, the shared per-address budget, and HTML (never JSON) for every error
//! of a page path. CORS on the public API (SPEC §8 `public.cors_origins`) at the end.
//! The same flows in a real browser: tests/browser/.

use reqwest::header::{self, HeaderMap};
use reqwest::{Response, StatusCode};
use serde_json::json;

use crate::openkj_client::{Host, sing};
use crate::support::{Backend, TestApp, on_every_backend, spawn_app, spawn_app_with};

on_every_backend!(
    singer_searches_and_pages_through_results,
    singer_requests_a_song_without_javascript,
    form_errors_are_shown_beside_their_fields_and_nothing_is_stored,
    a_closed_venue_says_so_and_refuses_a_submission,
    page_paths_answer_every_error_as_html,
    singer_pages_spend_the_public_budgets,
);

/// A client that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The status, headers and body of an HTML answer (which it must be).
async fn html(response: Response) -> (StatusCode, HeaderMap, String) {
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/html"),
        "{status}: {content_type}"
    );
    (status, headers, response.text().await.unwrap())
}

/// `name=value` of a `Set-Cookie` header naming `name`, for the next request's `Cookie`.
fn cookie_pair(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(|value| value.split(';').next().unwrap_or_default().to_owned())
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Response {
    browser()
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn open_venue(app: &TestApp, host: &Host) {
    host.openkj(app)
        .ok(
            "setAccepting",
            json!({"accepting": true, "system_id": 1, "venue_id": 0}),
        )
        .await;
}

/// `GET path` as a browser, with `cookie` when given: status, headers, HTML.
async fn get_html(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
) -> (StatusCode, HeaderMap, String) {
    let mut request = browser().get(app.url(path));
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    html(request.send().await.unwrap()).await
}

async fn singer_searches_and_pages_through_results(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let mut songs: Vec<(String, String)> = (1..=30)
        .map(|n| (format!("Artist {n:02}"), format!("Love Song {n:02}")))
        .collect();
    songs.push((
        "Björk".to_owned(),
        "<script>alert(1)</script> & \"Co\"".to_owned(),
    ));
    host.openkj(&app).upload(1, &songs).await;
    open_venue(&app, &host).await;
    let page = format!("/v/{}", host.url_name);

    let (status, _, first) = get_html(&app, &format!("{page}?q=LOVE"), None).await;
    let (_, _, second) = get_html(&app, &format!("{page}?q=love&page=2"), None).await;
    let (_, _, hostile) = get_html(&app, &format!("{page}?q=bj%C3%B6rk"), None).await;

    assert_eq!(status, StatusCode::OK);
    assert!(
        first.contains(r#"<h1 id="venue-name">The Rusty Mic</h1>"#),
        "{first}"
    );
    assert!(first.contains(r#"data-accepting="true""#));
    assert!(first.contains("30 songs"), "{first}");
    assert_eq!(first.matches(r#"<li class="song">"#).count(), 25);
    assert!(first.contains("Love Song 01") && !first.contains("Love Song 26"));
    assert!(
        first.contains(r#"rel="next" href="/v/the-rusty-mic?q=LOVE&amp;page=2""#),
        "{first}"
    );
    assert_eq!(second.matches(r#"<li class="song">"#).count(), 5);
    assert!(second.contains("Love Song 30") && second.contains(r#"rel="prev""#));
    assert!(
        hostile.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;"),
        "{hostile}"
    );
    assert!(!hostile.contains("<script>alert"));
}

async fn singer_requests_a_song_without_javascript(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    open_venue(&app, &host).await;
    let page = format!("/v/{}", host.url_name);

    let (form_status, _, form) = get_html(
        &app,
        &format!("{page}/request?artist=Artist+07&title=Love+Song+07"),
        None,
    )
    .await;
    let submitted = post_form(
        &app,
        &format!("{page}/request"),
        &[
            ("artist", "Artist 07"),
            ("title", "Love Song 07"),
            ("singer", "  Alice & Bob; x=1 "),
            ("keyChange", "-2"),
        ],
    )
    .await;
    let submitted_status = submitted.status();
    let location = submitted.headers().get(header::LOCATION).cloned();
    let flash = cookie_pair(submitted.headers(), "kw_flash").unwrap();
    let singer = cookie_pair(submitted.headers(), "kw_singer").unwrap();
    let (_, confirmed_headers, confirmed) = get_html(&app, &page, Some(&flash)).await;
    let (_, _, refilled) = get_html(
        &app,
        &format!("{page}/request?artist=A&title=B"),
        Some(&singer),
    )
    .await;

    assert_eq!(form_status, StatusCode::OK);
    assert!(
        form.contains(r#"name="title" value="Love Song 07""#),
        "{form}"
    );
    assert!(form.contains(r#"<option value="0" selected>"#), "{form}");
    assert_eq!(submitted_status, StatusCode::SEE_OTHER);
    assert_eq!(location.unwrap(), page.as_str());
    assert!(confirmed.contains(r#"id="confirmation""#), "{confirmed}");
    assert!(
        confirmed.contains("Thanks, Alice &amp; Bob; x=1!"),
        "{confirmed}"
    );
    assert!(confirmed.contains("Love Song 07"));
    let cleared = cookie_pair(&confirmed_headers, "kw_flash").unwrap();
    assert_eq!(cleared, "kw_flash=", "the confirmation is shown once");
    assert!(
        refilled.contains(r#"name="singer" value="Alice &amp; Bob; x=1""#),
        "{refilled}"
    );
    let requests = host.openkj(&app).requests(0).await;
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0]["singer"], "Alice & Bob; x=1");
    assert_eq!(requests[0]["artist"], "Artist 07");
    assert_eq!(requests[0]["title"], "Love Song 07");
    assert_eq!(requests[0]["key_change"], -2);
}

async fn form_errors_are_shown_beside_their_fields_and_nothing_is_stored(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    open_venue(&app, &host).await;
    let path = format!("/v/{}/request", host.url_name);

    let (status, _, page) = html(
        post_form(
            &app,
            &path,
            &[
                ("artist", "ABBA"),
                ("title", "Waterloo"),
                ("singer", "   "),
                ("keyChange", "13"),
            ],
        )
        .await,
    )
    .await;
    let (nul_status, _, nul) = html(
        post_form(
            &app,
            &path,
            &[("artist", "ABBA"), ("title", "Waterloo"), ("singer", "A\0")],
        )
        .await,
    )
    .await;
    let (no_song_status, _, no_song) = html(
        post_form(
            &app,
            &path,
            &[("artist", ""), ("title", ""), ("singer", "Ann")],
        )
        .await,
    )
    .await;
    let (cross_site_status, _, cross_site) = html(
        browser()
            .post(app.url(&path))
            .header("sec-fetch-site", "cross-site")
            .form(&[("artist", "A"), ("title", "B"), ("singer", "Ann")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (json_status, _, json_page) = html(
        browser()
            .post(app.url(&path))
            .json(&json!({"singer": "Ann", "artist": "A", "title": "B"}))
            .send()
            .await
            .unwrap(),
    )
    .await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains(r#"id="singer-error""#) && page.contains("must not be empty"),
        "{page}"
    );
    assert!(page.contains(r#"id="keyChange-error""#) && page.contains("from -12 to 12"));
    assert!(page.contains(r#"aria-invalid="true""#));
    assert!(
        page.contains(r#"name="title" value="Waterloo""#),
        "the form is filled again"
    );
    assert_eq!(nul_status, StatusCode::BAD_REQUEST);
    assert!(
        nul.contains(r#"id="singer-error""#) && nul.contains("U+0000"),
        "{nul}"
    );
    assert_eq!(no_song_status, StatusCode::BAD_REQUEST);
    assert!(no_song.contains(r#"id="song-error""#), "{no_song}");
    assert_eq!(cross_site_status, StatusCode::FORBIDDEN);
    assert!(cross_site.contains(r#"id="problem""#), "{cross_site}");
    assert_eq!(json_status, StatusCode::BAD_REQUEST);
    assert!(
        json_page.contains("application/x-www-form-urlencoded"),
        "{json_page}"
    );
    assert!(host.openkj(&app).requests(0).await.is_empty());
}

async fn a_closed_venue_says_so_and_refuses_a_submission(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let page = format!("/v/{}", host.url_name);

    let (_, _, venue) = html(browser().get(app.url(&page)).send().await.unwrap()).await;
    let (_, _, form) = html(
        browser()
            .get(app.url(&format!("{page}/request?artist=A&title=B")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (status, _, refused) = html(
        post_form(
            &app,
            &format!("{page}/request"),
            &[("artist", "A"), ("title", "B"), ("singer", "Ann")],
        )
        .await,
    )
    .await;

    assert!(venue.contains(r#"data-accepting="false""#), "{venue}");
    assert!(venue.contains("Not taking requests right now"));
    assert!(form.contains(r#"id="not-accepting""#), "{form}");
    assert!(!form.contains(r#"id="request-form""#));
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(refused.contains(r#"id="not-accepting""#), "{refused}");
    assert!(host.openkj(&app).requests(0).await.is_empty());
}

async fn page_paths_answer_every_error_as_html(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let page = format!("/v/{}", host.url_name);
    let get = |path: String| browser().get(app.url(&path)).send();

    let cases = [
        (
            get("/v/no-such-venue".to_owned()).await.unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            get("/v/Not%20A%20Slug".to_owned()).await.unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            get(format!("{page}?q=%00")).await.unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            get(format!("{page}?page=0")).await.unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            get(format!("{page}/request")).await.unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            get("/assets/nothing.css".to_owned()).await.unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            get(format!("{page}/request/extra")).await.unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            get("/dashboard/nope".to_owned()).await.unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            browser().put(app.url(&page)).send().await.unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    let (landing_status, _, landing) = html(get("/".to_owned()).await.unwrap()).await;
    let openkj_at_root = host.openkj(&app).post_raw("/", b"{}".to_vec()).await;

    for (response, expected) in cases {
        let url = response.url().to_string();
        let (status, _, body) = html(response).await;
        assert_eq!(status, expected, "{url}");
        assert!(body.contains(r#"id="problem""#), "{url}: {body}");
    }
    assert_eq!(landing_status, StatusCode::OK);
    assert!(landing.contains(r#"href="/docs""#), "{landing}");
    assert_eq!(
        openkj_at_root["error"], true,
        "POST / is still OpenKJ's: {openkj_at_root}"
    );
}

async fn singer_pages_spend_the_public_budgets(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |settings| {
        settings.public.reads_per_minute = 2;
        settings.public.submissions_per_minute = 1;
    })
    .await
    else {
        return;
    };
    let host = Host::new(&app).await;
    open_venue(&app, &host).await;
    let page = app.url(&format!("/v/{}", host.url_name));
    let form = [("artist", "A"), ("title", "B"), ("singer", "Ann")];
    let path = format!("/v/{}/request", host.url_name);

    browser().get(&page).send().await.unwrap();
    // The public API and the pages share one budget per address.
    app.client
        .get(app.url(&format!("/v1/public/venues/{}", host.url_name)))
        .send()
        .await
        .unwrap();
    let read = browser().get(&page).send().await.unwrap();
    let first = post_form(&app, &path, &form).await;
    let second = post_form(&app, &path, &form).await;

    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    for response in [read, second] {
        let retry_after: u64 = response.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let (status, _, body) = html(response).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(retry_after >= 1);
        assert!(body.contains(r#"id="problem""#), "{body}");
    }
}

// ---- CORS on the public API (not storage: the memory backend is enough) ---------------

async fn preflight(app: &TestApp, origin: &str) -> Response {
    app.client
        .request(
            reqwest::Method::OPTIONS,
            app.url("/v1/public/venues/the-rusty-mic/requests"),
        )
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
        .send()
        .await
        .unwrap()
}

fn allow_origin(response: &Response) -> Option<&str> {
    response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn cors_is_off_by_default() {
    let app = spawn_app(Backend::Memory).await.unwrap();
    let host = Host::new(&app).await;

    let read = app
        .client
        .get(app.url(&format!("/v1/public/venues/{}", host.url_name)))
        .header(header::ORIGIN, "https://bar.example")
        .send()
        .await
        .unwrap();
    let refused = preflight(&app, "https://bar.example").await;

    assert_eq!(
        read.status(),
        StatusCode::OK,
        "answered, without CORS headers"
    );
    assert_eq!(allow_origin(&read), None);
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(allow_origin(&refused), None);
}

#[tokio::test]
async fn listed_origins_get_preflights_and_answers_others_do_not() {
    let app = spawn_app_with(Backend::Memory, |settings| {
        settings.public.cors_origins = "https://bar.example, http://localhost:3000".to_owned();
    })
    .await
    .unwrap();
    let host = Host::new(&app).await;
    open_venue(&app, &host).await;

    let allowed = preflight(&app, "https://bar.example").await;
    let stranger = preflight(&app, "https://evil.example").await;
    let submitted = app
        .client
        .post(app.url(&format!("/v1/public/venues/{}/requests", host.url_name)))
        .header(header::ORIGIN, "http://localhost:3000")
        .json(&json!({"singer": "Ann", "artist": "A", "title": "B"}))
        .send()
        .await
        .unwrap();
    let other = app
        .client
        .get(app.url(&format!("/v1/public/venues/{}", host.url_name)))
        .header(header::ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    let customer_api = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/v1/customer/venues"))
        .header(header::ORIGIN, "https://bar.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .send()
        .await
        .unwrap();

    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(allow_origin(&allowed), Some("https://bar.example"));
    let methods = allowed.headers()[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    assert_eq!(allowed.headers()[header::ACCESS_CONTROL_MAX_AGE], "3600");
    assert_eq!(stranger.status(), StatusCode::BAD_REQUEST);
    assert_eq!(submitted.status(), StatusCode::CREATED);
    assert_eq!(allow_origin(&submitted), Some("http://localhost:3000"));
    let exposed = submitted.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("retry-after"), "{exposed}");
    assert_eq!(other.status(), StatusCode::OK);
    assert_eq!(allow_origin(&other), None);
    assert_eq!(
        allow_origin(&customer_api),
        None,
        "only /v1/public is shared"
    );
    assert!(customer_api.status().is_client_error());
}

#[tokio::test]
async fn a_star_lets_any_origin_read_without_credentials() {
    let app = spawn_app_with(Backend::Memory, |settings| {
        settings.public.cors_origins = "*".to_owned();
    })
    .await
    .unwrap();
    let host = Host::new(&app).await;

    let read = app
        .client
        .get(app.url(&format!("/v1/public/venues/{}/songs?q=x", host.url_name)))
        .header(header::ORIGIN, "https://anywhere.example")
        .send()
        .await
        .unwrap();
    let allowed = preflight(&app, "https://anywhere.example").await;

    assert_eq!(allow_origin(&read), Some("*"));
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(allow_origin(&allowed), Some("*"));
    assert!(
        !allowed
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
    );
}

#[tokio::test]
async fn a_singer_submission_through_the_api_still_works_with_cors_on() {
    let app = spawn_app_with(Backend::Memory, |settings| {
        settings.public.cors_origins = "*".to_owned();
    })
    .await
    .unwrap();
    let host = Host::new(&app).await;
    open_venue(&app, &host).await;

    let created = sing(
        &app,
        &host.url_name,
        json!({"singer": "Ann", "artist": "A", "title": "B"}),
    )
    .await;

    assert_eq!(created.status(), StatusCode::CREATED);
}
