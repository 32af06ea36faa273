//! The OpenAPI description of the OpenKJ endpoint. Its real contract is the OpenKJ
//! protocol (`docs/OPENKJ_INTEGRATION.md`); these schemas only show the envelope every
//! command shares, for readers of `/docs`.

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// A command as OpenKJ sends it: `command`, `api_key`, and the command's own fields
/// (`venue_id`, `request_id`, `accepting`, `system_id`, `songs`, …).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"api_key": "kw_…", "command": "getRequests", "venue_id": 0}))]
pub struct OpenKjCommand {
    pub command: String,
    pub api_key: String,
}

/// Every reply: HTTP 200, the command echoed, a boolean `error`, `errorString` when it
/// is `true`, and the command's own fields (`serial`, `venues`, `requests`, …). Nothing
/// the client sends makes it answer anything but 200 (OpenKJ drops other replies unread).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"command": "getSerial", "error": false, "serial": 42}))]
pub struct OpenKjReply {
    /// The request's `command`, echoed as it was sent (a string for every real client;
    /// another JSON type when the request had one). Absent only when the body named no
    /// command at all: empty, not JSON, not an object, or without `command`.
    #[schema(value_type = Option<serde_json::Value>)]
    pub command: Option<serde_json::Value>,
    pub error: bool,
    /// Why the command failed: present exactly when `error` is `true`.
    #[schema(value_type = String, required = false)]
    pub error_string: Option<String>,
}

/// Run one OpenKJ command (also answered on `/openkj/api.php`, `/openkj` and `/`).
///
/// `getSongs` without `page`, `limit` and `searchString` lists the whole song book of
/// `system_id` (every system when absent) as `songs: [{song_id, artist, title, songid}]`
/// in upload order, then `total`; that reply is streamed (chunked, no `Content-Length`),
/// and a failure after it started ends the body early, so the JSON does not parse.
#[utoipa::path(
    post,
    path = "/openkj/api",
    tag = "OpenKJ",
    request_body = OpenKjCommand,
    responses(
        (status = 200, description = "Always 200, also for errors (error: true, errorString). A whole-book getSongs reply is streamed.", body = OpenKjReply),
    )
)]
#[allow(
    dead_code,
    reason = "documents `openkj_api`, whose signature utoipa cannot read"
)]
fn openkj_api_doc() {}

#[derive(Debug, OpenApi)]
#[openapi(paths(openkj_api_doc), components(schemas(OpenKjCommand, OpenKjReply)))]
pub struct OpenKjDoc;
