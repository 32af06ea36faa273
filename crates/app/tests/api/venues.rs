//! Venues, requests and song books over the customer API (bearer JWT), the integration
//! API (`X-API-Key`) and the public singer API, on every backend.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::openkj_client::{Host, VENUE_PERMISSIONS, create_venue, sing, sing_ok};
use crate::support::{
    Backend, Customer, on_every_backend, problem, rate_limited, spawn_app, spawn_app_with,
};

on_every_backend!(
    created_venue_has_the_documented_shape_and_derived_url_name,
    taken_url_names_conflict_when_explicit_and_get_a_suffix_when_derived,
    venue_lifecycle_read_patch_delete,
    venue_of_another_customer_is_not_found,
    venue_routes_check_permissions_and_fields,
    request_history_lists_queue_and_processed_requests,
    customer_song_book_search_pages_by_artist,
    integration_routes_need_their_scopes,
    integration_submission_respects_accepting,
    public_venue_page_search_and_submission,
    public_song_search_folds_normalization_and_reports_capped_totals,
    public_submissions_are_rate_limited_per_client,
);

async fn json_of(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

fn venue_customer() -> Customer {
    Customer::with_permissions(VENUE_PERMISSIONS)
}

async fn created_venue_has_the_documented_shape_and_derived_url_name(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = venue_customer();

    let venue = create_venue(&app, &customer, json!({"name": "Café Zürich Karaoke"})).await;

    let mut keys: Vec<&str> = venue
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "acceptingRequests",
            "createdAt",
            "id",
            "name",
            "openkjVenueId",
            "systemId",
            "urlName"
        ]
    );
    assert_eq!(venue["urlName"], "cafe-zuerich-karaoke");
    assert_eq!(venue["openkjVenueId"], 0);
    assert_eq!(venue["acceptingRequests"], false);
    assert_eq!(venue["systemId"], 1);
    assert!(venue["createdAt"].as_str().unwrap().ends_with('Z'));
}

async fn taken_url_names_conflict_when_explicit_and_get_a_suffix_when_derived(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (one, two) = (venue_customer(), venue_customer());
    let slug = format!("mic-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    create_venue(&app, &one, json!({"name": slug.clone()})).await;

    let explicit = app
        .post("/v1/customer/venues", &two)
        .json(&json!({"name": "Mine", "urlName": slug}))
        .send()
        .await
        .unwrap();
    let derived = create_venue(&app, &two, json!({"name": slug.clone()})).await;

    let body = problem(explicit, StatusCode::CONFLICT, "conflict").await;
    assert!(
        body["detail"].as_str().unwrap().contains("urlName"),
        "{body}"
    );
    assert_eq!(derived["urlName"], format!("{slug}-2"));
}

async fn venue_lifecycle_read_patch_delete(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let customer = venue_customer();
    let venue = create_venue(&app, &customer, json!({"name": "Bar", "openkjVenueId": 7})).await;
    let path = format!("/v1/customer/venues/{}", venue["id"].as_str().unwrap());

    let read = json_of(
        app.get(&path, &customer).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let patched = json_of(
        app.patch(&path, &customer)
            .json(&json!({"name": "Renamed", "acceptingRequests": true, "systemId": 2}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let listed = json_of(
        app.get("/v1/customer/venues", &customer)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let deleted = app.delete(&path, &customer).send().await.unwrap();
    let gone = app.get(&path, &customer).send().await.unwrap();

    assert_eq!(read, venue);
    assert_eq!(patched["name"], "Renamed");
    assert_eq!(patched["acceptingRequests"], true);
    assert_eq!(patched["systemId"], 2);
    assert_eq!(patched["openkjVenueId"], 7);
    assert_eq!(patched["urlName"], venue["urlName"]);
    assert_eq!(listed["data"][0]["name"], "Renamed");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    problem(gone, StatusCode::NOT_FOUND, "resource_not_found").await;
}

async fn venue_of_another_customer_is_not_found(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (owner, stranger) = (venue_customer(), venue_customer());
    let venue = create_venue(&app, &owner, json!({"name": "Bar"})).await;
    let path = format!("/v1/customer/venues/{}", venue["id"].as_str().unwrap());

    let read = app.get(&path, &stranger).send().await.unwrap();
    let renamed = app
        .patch(&path, &stranger)
        .json(&json!({"name": "Mine now"}))
        .send()
        .await
        .unwrap();
    let delete = app.delete(&path, &stranger).send().await.unwrap();
    let requests = app
        .get(&format!("{path}/requests"), &stranger)
        .send()
        .await
        .unwrap();
    let listed = json_of(
        app.get("/v1/customer/venues", &stranger)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;

    for response in [read, renamed, delete, requests] {
        problem(response, StatusCode::NOT_FOUND, "resource_not_found").await;
    }
    assert_eq!(listed["data"], json!([]));
}

async fn venue_routes_check_permissions_and_fields(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let reader = Customer::with_permissions(&["venues:read"]);
    let writer = venue_customer();

    let forbidden = app
        .post("/v1/customer/venues", &reader)
        .json(&json!({"name": "Bar"}))
        .send()
        .await
        .unwrap();
    let anonymous = app
        .client
        .get(app.url("/v1/customer/venues"))
        .send()
        .await
        .unwrap();
    let bad_slug = app
        .post("/v1/customer/venues", &writer)
        .json(&json!({"name": "Bar", "urlName": "Not A Slug"}))
        .send()
        .await
        .unwrap();
    let unknown_field = app
        .post("/v1/customer/venues", &writer)
        .json(&json!({"name": "Bar", "colour": "red"}))
        .send()
        .await
        .unwrap();
    let bad_id = app
        .get("/v1/customer/venues/not-a-uuid", &writer)
        .send()
        .await
        .unwrap();
    let null_patch = app
        .patch(
            &format!("/v1/customer/venues/{}", uuid::Uuid::new_v4()),
            &writer,
        )
        .json(&json!({"name": null}))
        .send()
        .await
        .unwrap();

    problem(forbidden, StatusCode::FORBIDDEN, "authorization_denied").await;
    problem(anonymous, StatusCode::UNAUTHORIZED, "authentication_failed").await;
    for (response, field) in [
        (bad_slug, "urlName"),
        (unknown_field, "colour"),
        (bad_id, "id"),
        (null_patch, "name"),
    ] {
        let body = problem(response, StatusCode::BAD_REQUEST, "validation_error").await;
        assert!(
            body["detail"].as_str().unwrap().starts_with(field),
            "{body}"
        );
    }
}

async fn request_history_lists_queue_and_processed_requests(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    openkj
        .ok(
            "setAccepting",
            json!({"accepting": true, "system_id": 1, "venue_id": 0}),
        )
        .await;
    let first = sing_ok(&app, &host.url_name, "Alice", "ABBA", "Waterloo").await;
    sing_ok(&app, &host.url_name, "Bob", "Queen", "Bohemian Rhapsody").await;
    openkj
        .ok("deleteRequest", json!({"request_id": first, "venue_id": 0}))
        .await;
    let venues = json_of(
        app.get("/v1/customer/venues", &host.customer)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let path = format!(
        "/v1/customer/venues/{}/requests",
        venues["data"][0]["id"].as_str().unwrap()
    );
    let list = |query: &'static str| {
        let url = format!("{path}{query}");
        let request = app.get(&url, &host.customer);
        async move { json_of(request.send().await.unwrap(), StatusCode::OK).await }
    };

    let queued = list("").await;
    let processed = list("?status=processed").await;
    let all = list("?status=all&limit=1&page=2").await;
    let bad = app
        .get(&format!("{path}?status=done"), &host.customer)
        .send()
        .await
        .unwrap();

    assert_eq!(queued["data"][0]["singer"], "Bob");
    assert_eq!(queued["data"][0]["processed"], false);
    assert_eq!(queued["data"][0]["processedAt"], Value::Null);
    assert_eq!(processed["data"][0]["requestId"], first);
    assert_eq!(processed["data"][0]["processed"], true);
    assert!(processed["data"][0]["processedAt"].is_string());
    assert_eq!(all["pagination"]["total"], 2);
    assert_eq!(all["data"][0]["singer"], "Bob");
    problem(bad, StatusCode::BAD_REQUEST, "validation_error").await;
}

async fn customer_song_book_search_pages_by_artist(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let songs = [
        ("queen", "b"),
        ("ABBA", "Waterloo"),
        ("Queen", "A"),
        ("abba", "Dancing Queen"),
    ]
    .map(|(a, t)| (a.to_owned(), t.to_owned()));
    host.openkj(&app).upload(2, &songs).await;

    let page = json_of(
        app.get(
            "/v1/customer/songdb?systemId=2&q=QUEEN&limit=2",
            &host.customer,
        )
        .send()
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    let empty_system = json_of(
        app.get("/v1/customer/songdb", &host.customer)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let bad = app
        .get("/v1/customer/songdb?systemId=0", &host.customer)
        .send()
        .await
        .unwrap();

    let titles: Vec<&Value> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["title"])
        .collect();
    assert_eq!(titles, [&json!("Dancing Queen"), &json!("A")]);
    assert_eq!(page["pagination"]["total"], 3);
    assert_eq!(page["pagination"]["totalPages"], 2);
    assert_eq!(empty_system["pagination"]["total"], 0);
    problem(bad, StatusCode::BAD_REQUEST, "validation_error").await;
}

async fn integration_routes_need_their_scopes(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::with_scopes(&app, &["requests:read"]).await;
    let call = |path: &str| {
        app.client
            .get(app.url(path))
            .header("X-API-Key", &host.key)
            .send()
    };

    let requests = call("/v1/venues/0/requests").await.unwrap();
    let venues = call("/v1/venues").await.unwrap();
    let songs = call("/v1/songdb").await.unwrap();
    let unknown_venue = call("/v1/venues/5/requests").await.unwrap();
    let bad_venue = call("/v1/venues/minus-one/requests").await.unwrap();
    let anonymous = app.client.get(app.url("/v1/venues")).send().await.unwrap();

    assert_eq!(json_of(requests, StatusCode::OK).await["data"], json!([]));
    problem(venues, StatusCode::FORBIDDEN, "authorization_denied").await;
    problem(songs, StatusCode::FORBIDDEN, "authorization_denied").await;
    problem(unknown_venue, StatusCode::NOT_FOUND, "resource_not_found").await;
    problem(bad_venue, StatusCode::BAD_REQUEST, "validation_error").await;
    problem(anonymous, StatusCode::UNAUTHORIZED, "authentication_failed").await;
}

async fn integration_submission_respects_accepting(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::with_scopes(&app, &["requests:write", "venues:write", "songdb:read"]).await;
    let submit = || {
        app.client
            .post(app.url("/v1/venues/0/requests"))
            .header("X-API-Key", &host.key)
            .json(
                &json!({"singer": "Alice", "artist": "ABBA", "title": "Waterloo", "keyChange": 2}),
            )
            .send()
    };
    let closed = submit().await.unwrap();
    host.openkj(&app)
        .ok(
            "setAccepting",
            json!({"accepting": true, "system_id": 1, "venue_id": 0}),
        )
        .await;

    let created = json_of(submit().await.unwrap(), StatusCode::CREATED).await;
    let venues = json_of(
        app.client
            .get(app.url("/v1/venues"))
            .header("X-API-Key", &host.key)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;

    problem(closed, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(created["keyChange"], 2);
    assert_eq!(created["processed"], false);
    assert_ne!(created["requestId"], 0);
    assert_eq!(venues["data"][0]["acceptingRequests"], true);
}

async fn public_venue_page_search_and_submission(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let openkj = host.openkj(&app);
    openkj
        .upload(1, &[("Björk".to_owned(), "Army of Me".to_owned())])
        .await;
    let page_path = format!("/v1/public/venues/{}", host.url_name.to_uppercase());
    let get = |path: String| app.client.get(app.url(&path)).send();

    let page = json_of(get(page_path.clone()).await.unwrap(), StatusCode::OK).await;
    let songs = json_of(
        get(format!("{page_path}/songs?q=army")).await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let closed = sing(
        &app,
        &host.url_name,
        json!({"singer": "Alice", "artist": "Björk", "title": "Army of Me"}),
    )
    .await;
    openkj
        .ok(
            "setAccepting",
            json!({"accepting": true, "system_id": 1, "venue_id": 0}),
        )
        .await;
    let created = sing(
        &app,
        &host.url_name,
        json!({"singer": " Alice ", "artist": "Björk", "title": "Army of Me"}),
    )
    .await;
    let invalid = sing(
        &app,
        &host.url_name,
        json!({"singer": "", "artist": "A", "title": "B"}),
    )
    .await;
    let unknown = get("/v1/public/venues/no-such-venue".to_owned())
        .await
        .unwrap();
    let malformed = get("/v1/public/venues/Not%20A%20Slug".to_owned())
        .await
        .unwrap();

    assert_eq!(
        page,
        json!({"name": "The Rusty Mic", "urlName": host.url_name, "acceptingRequests": false})
    );
    assert_eq!(songs["data"][0]["artist"], "Björk");
    problem(closed, StatusCode::CONFLICT, "conflict").await;
    let created = json_of(created, StatusCode::CREATED).await;
    assert_eq!(created.as_object().unwrap().len(), 1, "{created}");
    assert_eq!(openkj.requests(0).await[0]["singer"], "Alice");
    problem(invalid, StatusCode::BAD_REQUEST, "validation_error").await;
    problem(unknown, StatusCode::NOT_FOUND, "resource_not_found").await;
    problem(malformed, StatusCode::NOT_FOUND, "resource_not_found").await;
}

async fn public_submissions_are_rate_limited_per_client(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |settings| {
        settings.public.submissions_per_minute = 2;
        settings.public.reads_per_minute = 3;
    })
    .await
    else {
        return;
    };
    let host = Host::new(&app).await;
    let body = json!({"singer": "Alice", "artist": "A", "title": "B"});
    for _ in 0..2 {
        sing(&app, &host.url_name, body.clone()).await;
    }
    let page = app.url(&format!("/v1/public/venues/{}", host.url_name));
    for _ in 0..3 {
        app.client.get(&page).send().await.unwrap();
    }

    let submission = sing(&app, &host.url_name, body).await;
    let read = app.client.get(&page).send().await.unwrap();

    for response in [submission, read] {
        let (seconds, _) = rate_limited(response).await;
        assert!(seconds >= 1);
    }
}

/// SPEC §8 through the singer API: `Beyonce\u0301` and `Beyoncé` are one word, and the
/// page says whether its total stopped counting (ADR 0052).
async fn public_song_search_folds_normalization_and_reports_capped_totals(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = Host::new(&app).await;
    let mut songs: Vec<(String, String)> = (0..1001)
        .map(|i| ("Band".to_owned(), format!("Song {i:04}")))
        .collect();
    songs.push(("Beyonce\u{301}".to_owned(), "Halo".to_owned()));
    songs.push(("Beyonc\u{e9}".to_owned(), "Halo".to_owned()));
    host.openkj(&app).upload(1, &songs).await;
    let url_name = host.url_name.clone();
    let app = &app;
    let search = |q: &str| {
        let path = format!("/v1/public/venues/{url_name}/songs?q={q}&limit=5");
        async move {
            json_of(
                app.client.get(app.url(&path)).send().await.unwrap(),
                StatusCode::OK,
            )
            .await
        }
    };

    let composed = search("BEYONC%C3%89").await;
    let decomposed = search("beyonce%CC%81%20halo").await;
    let common = search("song").await;

    assert_eq!(composed["data"].as_array().unwrap().len(), 2, "{composed}");
    assert_eq!(
        decomposed["data"].as_array().unwrap().len(),
        2,
        "{decomposed}"
    );
    assert_eq!(
        composed["pagination"],
        json!({"page": 1, "limit": 5, "total": 2, "totalPages": 1, "totalCapped": false})
    );
    assert_eq!(
        common["pagination"],
        json!({"page": 1, "limit": 5, "total": 1000, "totalPages": 200, "totalCapped": true})
    );
    assert_eq!(common["data"][0]["title"], "Song 0000");
}
