//! A test double of the real OpenKJ client (Qt 5): it posts each command the way
//! `QJsonDocument::toJson()` writes it — pretty-printed with a 4-space indent, keys in
//! alphabetical order, a trailing newline — with `Content-Type: application/json` and
//! Qt's default `User-Agent: Mozilla/5.0`, and it reads replies the way `QJsonValue`
//! does, which is why the type assertions below are strict.
//!
//! Also: helpers that set up a customer with a venue and a key, and the upload loop of
//! OpenKJ's "Update remote DB" with its quirks.

use reqwest::StatusCode;
use serde::Serialize;
use serde_json::ser::PrettyFormatter;
use serde_json::{Value, json};

use crate::support::{Customer, TestApp};

/// Permissions of the customer the OpenKJ tests act as.
pub const VENUE_PERMISSIONS: &[&str] = &[
    "api_keys:read",
    "api_keys:write",
    "venues:read",
    "venues:write",
];

/// Scopes OpenKJ needs for everything it does.
pub const CLIENT_SCOPES: &[&str] = &["requests:write", "venues:write", "songdb:write"];

/// `value` as Qt 5 writes it: 4-space indent, keys in alphabetical order, trailing
/// newline.
pub fn qt_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut out, PrettyFormatter::with_indent(b"    "));
    sorted(value).serialize(&mut serializer).unwrap();
    out.push(b'\n');
    out
}

/// `value` with every object's keys in alphabetical order, whatever order the map type
/// keeps (insertion order when the `preserve_order` feature of `serde_json` is on).
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut keys: Vec<&String> = object.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|key| (key.clone(), sorted(&object[key])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// One OpenKJ installation talking to `app` with `key`.
pub struct OpenKj<'a> {
    pub app: &'a TestApp,
    pub key: String,
    pub path: &'static str,
}

impl<'a> OpenKj<'a> {
    pub fn new(app: &'a TestApp, key: &str) -> Self {
        Self {
            app,
            key: key.to_owned(),
            path: "/openkj/api",
        }
    }

    /// Posts raw bytes as OpenKJ would and returns the JSON reply, checking the parts
    /// of the envelope every reply must have: HTTP 200 and a JSON object.
    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> Value {
        let response = self
            .app
            .client
            .post(self.app.url(path))
            .header("Content-Type", "application/json")
            .header("User-Agent", "Mozilla/5.0")
            .header("Accept-Language", "en-US,*")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "OpenKJ drops non-200");
        let reply: Value = response.json().await.unwrap();
        assert!(reply.is_object(), "{reply}");
        assert!(reply["error"].is_boolean(), "error must be a bool: {reply}");
        reply
    }

    /// Sends `command` with `fields` and this installation's key.
    pub async fn send(&self, command: &str, fields: Value) -> Value {
        let mut body = fields;
        body["api_key"] = json!(self.key);
        body["command"] = json!(command);
        let reply = self.post_raw(self.path, qt_json(&body)).await;
        assert_eq!(reply["command"], command, "{reply}");
        reply
    }

    /// Sends `command` and asserts it succeeded.
    pub async fn ok(&self, command: &str, fields: Value) -> Value {
        let reply = self.send(command, fields).await;
        assert_eq!(reply["error"], false, "{command}: {reply}");
        let error_string = &reply["errorString"];
        assert!(
            error_string.is_null() || error_string == "",
            "a success must not carry an errorString: {reply}"
        );
        reply
    }

    /// Sends `command` and asserts it failed, returning the `errorString`.
    pub async fn refused(&self, command: &str, fields: Value) -> String {
        let reply = self.send(command, fields).await;
        assert_eq!(reply["error"], true, "{command}: {reply}");
        let message = reply["errorString"].as_str().unwrap().to_owned();
        assert!(!message.is_empty(), "{reply}");
        message
    }

    pub async fn serial(&self) -> i64 {
        let reply = self.ok("getSerial", json!({})).await;
        int32(&reply["serial"])
    }

    pub async fn requests(&self, venue: i64) -> Vec<Value> {
        let reply = self.ok("getRequests", json!({"venue_id": venue})).await;
        let requests = reply["requests"].as_array().unwrap().clone();
        for request in &requests {
            assert_request_types(request);
        }
        requests
    }

    pub async fn venues(&self) -> Vec<Value> {
        let reply = self.ok("getVenues", json!({})).await;
        let venues = reply["venues"].as_array().unwrap().clone();
        for venue in &venues {
            int32(&venue["venue_id"]);
            assert!(venue["name"].is_string(), "{venue}");
            assert!(venue["url_name"].is_string(), "{venue}");
            assert!(venue["accepting"].is_boolean(), "{venue}");
        }
        venues
    }

    /// OpenKJ's "Update remote DB": `clearDatabase`, then the batches of
    /// [`openkj_upload_batches`] one after the other, each waiting for its reply.
    pub async fn upload(&self, system: i64, songs: &[(String, String)]) -> Vec<Value> {
        self.ok("clearDatabase", json!({"system_id": system})).await;
        let mut replies = Vec::new();
        for batch in openkj_upload_batches(songs) {
            let songs: Vec<Value> = batch
                .iter()
                .map(|(artist, title)| json!({"artist": artist, "title": title}))
                .collect();
            replies.push(
                self.ok("addSongs", json!({"songs": songs, "system_id": system}))
                    .await,
            );
        }
        replies
    }

    /// Sends `getSongs` with `fields` and returns the reply's headers and its body as
    /// sent, checking only HTTP 200: the body of a whole-book reply is streamed, and a
    /// test looks at the raw bytes before parsing them.
    pub async fn get_songs_raw(&self, fields: Value) -> (reqwest::header::HeaderMap, Vec<u8>) {
        let mut body = fields;
        body["api_key"] = json!(self.key);
        body["command"] = json!("getSongs");
        let response = self
            .app
            .client
            .post(self.app.url(self.path))
            .header("Content-Type", "application/json")
            .header("User-Agent", "Mozilla/5.0")
            .body(qt_json(&body))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "OpenKJ drops non-200");
        let headers = response.headers().clone();
        (headers, response.bytes().await.unwrap().to_vec())
    }
}

/// The batches OpenKJ's upload loop really sends for `songs` (distinct, ordered by
/// artist and title): 1000 per batch, each batch in reverse order, one song skipped
/// after every full batch, and a final request that may be empty (see
/// `docs/OPENKJ_INTEGRATION.md`, "Known client quirks").
pub fn openkj_upload_batches<T: Clone>(songs: &[T]) -> Vec<Vec<T>> {
    let mut batches = Vec::new();
    let mut batch: Vec<T> = Vec::new();
    let mut next = 0;
    while next < songs.len() {
        batch.insert(0, songs[next].clone());
        next += 1;
        if batch.len() == 1000 {
            batches.push(std::mem::take(&mut batch));
            next += 1;
        }
    }
    batches.push(batch);
    batches
}

/// A JSON integer in int32 range, as Qt's `toInt()` accepts it.
pub fn int32(value: &Value) -> i64 {
    let n = value
        .as_i64()
        .unwrap_or_else(|| panic!("not an integer: {value}"));
    assert!(i32::try_from(n).is_ok(), "not an int32: {n}");
    assert!(!value.is_f64(), "written with a fraction: {value}");
    n
}

/// Every field of a `getRequests` element, with OpenKJ's types.
pub fn assert_request_types(request: &Value) {
    assert_ne!(int32(&request["request_id"]), 0, "{request}");
    int32(&request["request_time"]);
    int32(&request["key_change"]);
    for field in ["artist", "title", "singer"] {
        assert!(request[field].is_string(), "{field}: {request}");
    }
}

/// A customer with venue permissions, one venue, and a key with OpenKJ's scopes.
pub struct Host {
    pub customer: Customer,
    pub key: String,
    /// The venue's `openkjVenueId`.
    pub venue: i64,
    pub url_name: String,
}

impl Host {
    pub async fn new(app: &TestApp) -> Self {
        Self::with_scopes(app, CLIENT_SCOPES).await
    }

    pub async fn with_scopes(app: &TestApp, scopes: &[&str]) -> Self {
        let customer = Customer::with_permissions(VENUE_PERMISSIONS);
        let key = app.create_key_with_scopes(&customer, scopes).await["key"]
            .as_str()
            .unwrap()
            .to_owned();
        let venue = create_venue(app, &customer, json!({"name": "The Rusty Mic"})).await;
        Self {
            customer,
            key,
            venue: venue["openkjVenueId"].as_i64().unwrap(),
            url_name: venue["urlName"].as_str().unwrap().to_owned(),
        }
    }

    pub fn openkj<'a>(&self, app: &'a TestApp) -> OpenKj<'a> {
        OpenKj::new(app, &self.key)
    }
}

/// Creates a venue through the customer API and returns its JSON.
pub async fn create_venue(app: &TestApp, customer: &Customer, body: Value) -> Value {
    let response = app
        .post("/v1/customer/venues", customer)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// A singer's request through the public API; returns the response.
pub async fn sing(app: &TestApp, url_name: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/v1/public/venues/{url_name}/requests")))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A singer's request that must be accepted; returns its `requestId`.
pub async fn sing_ok(
    app: &TestApp,
    url_name: &str,
    singer: &str,
    artist: &str,
    title: &str,
) -> i64 {
    let response = sing(
        app,
        url_name,
        json!({"singer": singer, "artist": artist, "title": title}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["requestId"].as_i64().unwrap()
}

#[test]
fn upload_batches_follow_the_real_clients_loop() {
    let sizes = |total: usize| -> Vec<usize> {
        openkj_upload_batches(&vec![(); total])
            .iter()
            .map(Vec::len)
            .collect()
    };

    assert_eq!(sizes(0), [0]);
    assert_eq!(sizes(1000), [1000, 0]);
    assert_eq!(sizes(1001), [1000, 0]);
    assert_eq!(sizes(5000), [1000, 1000, 1000, 1000, 996]);
    assert_eq!(openkj_upload_batches(&[1, 2, 3]), [vec![3, 2, 1]]);
}

#[test]
fn qt_json_is_indented_sorted_and_newline_terminated() {
    let body = qt_json(&json!({"command": "getSerial", "api_key": "k"}));

    assert_eq!(
        String::from_utf8(body).unwrap(),
        "{\n    \"api_key\": \"k\",\n    \"command\": \"getSerial\"\n}\n"
    );
}
