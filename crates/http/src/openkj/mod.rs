//! The OpenKJ compatibility endpoint (SPEC §9): `POST /openkj/api` (also `/openkj/api.php`,
//! `/openkj` and `/`, since OpenKJ posts to exactly the URL the host typed).
//!
//! The real client drops every non-200 reply unread and dispatches on the reply's own
//! `command`, so this handler never lets actix answer for it: it reads and parses the
//! body itself, and every outcome — malformed JSON, an unknown command, a bad key, a
//! missing scope, an empty budget, a storage failure — is HTTP 200 with
//! `{"command": <echo>, "error": true, "errorString": …}`.

mod commands;
mod doc;
mod limits;
mod song_stream;
mod wire;

use std::net::IpAddr;

use actix_web::{HttpRequest, HttpResponse, web};
use keyward_domain::openkj::Command;
use keyward_domain::ports::StorageError;
use keyward_domain::services::{OpenKjError, OpenKjService, VerifiedKey, VerifyError};
use serde_json::Value;

pub use doc::OpenKjDoc;
pub use limits::{OpenKjLimiter, OpenKjLimits, OverBudget};
pub use song_stream::SONG_STREAM_CHUNK;
pub use wire::MAX_BODY_BYTES;

use self::commands::CommandError;
use self::wire::{Fields, Parsed, ReplyFields, failure, parse, read_body, success};
use crate::auth::api_key::verification_result;
use crate::budget::RetryAfter;
use crate::client_ip::client_ip;
use crate::error::ErrorChain;
use crate::metrics::VerificationResult;
use crate::state::AppState;

/// Every path the endpoint answers on. OpenKJ appends nothing to the URL it is given and
/// does not follow redirects, so the common spellings are all served directly.
pub const PATHS: [&str; 6] = [
    "/openkj/api",
    "/openkj/api/",
    "/openkj/api.php",
    "/openkj",
    "/openkj/",
    "/",
];

const UNRECOGNIZED: &str = "Unrecognized command";
const KEY_REQUIRED: &str =
    "An API key is required: enter it in OpenKJ's settings (Network tab, request server)";
const KEY_INVALID: &str = "The API key is invalid, revoked or expired";
const UNAVAILABLE: &str = "The request server is temporarily unavailable; try again shortly";
const INTERNAL: &str = "Internal server error; it has been logged";

pub fn configure(cfg: &mut web::ServiceConfig) {
    for path in PATHS {
        cfg.service(web::resource(path).route(web::post().to(openkj_api)));
    }
}

/// Answers one OpenKJ command. Always HTTP 200 with a JSON object.
pub async fn openkj_api(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let metrics = &state.metrics;
    let body = match read_body(&req, payload).await {
        Ok(body) => body,
        Err(err) => {
            metrics.openkj_command(None, false);
            return failure(None, &err.to_string());
        }
    };
    let (name, fields) = match parse(&body) {
        Parsed::Command { name, fields } => (name, fields),
        Parsed::Invalid { command, reason } => {
            let known = command
                .as_ref()
                .and_then(Value::as_str)
                .and_then(|name| name.parse::<Command>().ok());
            metrics.openkj_command(known, false);
            return failure(command.as_ref(), &reason);
        }
    };
    let echo = || Value::String(name.clone().into_owned());
    let Ok(command) = name.parse::<Command>() else {
        metrics.openkj_command(None, false);
        return failure(Some(&echo()), UNRECOGNIZED);
    };
    let outcome = execute(&state, client_ip(&req), command, &fields).await;
    metrics.openkj_command(Some(command), outcome.is_ok());
    match outcome {
        Ok(Outcome::Reply(reply)) => success(&name, &reply),
        Ok(Outcome::Streamed(response)) => response,
        Err(message) => {
            tracing::debug!(%command, reason = %message, "openkj command refused");
            failure(Some(&echo()), &message)
        }
    }
}

/// What a command produced.
enum Outcome {
    /// The fields of an ordinary reply, to go into the envelope.
    Reply(ReplyFields),
    /// A complete response that streams its body (whole-book `getSongs`).
    Streamed(HttpResponse),
}

/// Authenticates, authorises and budgets the command, then runs it.
async fn execute(
    state: &AppState,
    client: IpAddr,
    command: Command,
    fields: &Fields<'_>,
) -> Result<Outcome, String> {
    if !command.is_authenticated() {
        return Err(OpenKjError::Unsupported.to_string());
    }
    let key = authenticate(state, client, command, fields).await?;
    let openkj = &state.karaoke.openkj;
    state
        .openkj_limiter
        .check(key.key_id, command)
        .map_err(|over| over_budget(&over))?;
    if song_stream::wants_whole_book(command, fields) {
        return commands::get_whole_song_book(openkj, key.customer_id, fields)
            .await
            .map(Outcome::Streamed)
            .map_err(describe);
    }
    commands::run(openkj, &key, client, command, fields)
        .await
        .map(Outcome::Reply)
        .map_err(describe)
}

/// The key in the body's `api_key`, which must allow `command`
/// ([`OpenKjService::required_scopes`]; the key's use is counted with that outcome, SPEC
/// §12). Every kind of bad key reads the same; failed verifications spend `client`'s
/// budget (SPEC §7, a cell taken before the lookup and given back on success), and once
/// it is spent every key from that address is refused until it refills.
async fn authenticate(
    state: &AppState,
    client: IpAddr,
    command: Command,
    fields: &Fields<'_>,
) -> Result<VerifiedKey, String> {
    let presented = fields
        .string("api_key")
        .map_err(|err| err.to_string())?
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .ok_or(KEY_REQUIRED)?;
    let failures = &state.failed_verifications;
    let cell = failures.take(client).map_err(|wait| {
        state.metrics.verification(VerificationResult::RateLimited);
        format!(
            "{}; try again in {} s",
            failures.refusal(),
            RetryAfter::after(wait).seconds()
        )
    })?;
    let verified = state
        .api_keys
        .verify_from(
            presented,
            OpenKjService::required_scopes(command),
            Some(client),
        )
        .await;
    state.metrics.verification(verification_result(&verified));
    // Only a failed verification keeps the cell it took.
    if !matches!(
        verified,
        Err(VerifyError::Malformed(_) | VerifyError::Invalid)
    ) {
        failures.give_back(cell);
    }
    verified.map_err(|err| match err {
        VerifyError::Malformed(_) | VerifyError::Invalid => KEY_INVALID.to_owned(),
        VerifyError::InsufficientScope(scope) => OpenKjError::MissingScope(scope).to_string(),
        VerifyError::Storage(storage) => storage_message(&storage),
    })
}

fn over_budget(over: &OverBudget) -> String {
    let seconds = RetryAfter::after(over.wait).seconds();
    if over.upload {
        format!(
            "Song upload rate limit exceeded (at most {} upload commands at once per API key); try again in {seconds} s",
            over.limit
        )
    } else {
        format!(
            "Rate limit exceeded (at most {} commands per minute per API key); try again in {seconds} s",
            over.limit
        )
    }
}

fn describe(err: CommandError) -> String {
    match err {
        CommandError::OpenKj(OpenKjError::Storage(storage)) => storage_message(&storage),
        other => other.to_string(),
    }
}

/// The reply text for a storage failure, logged here once with its cause (which never
/// reaches the client).
fn storage_message(err: &StorageError) -> String {
    match err {
        StorageError::Unavailable(_) => {
            tracing::warn!(error = %ErrorChain(err), "storage unavailable");
            UNAVAILABLE.to_owned()
        }
        StorageError::Conflict(rule) => format!("conflict: {rule} already exists"),
        StorageError::Other(_) => {
            tracing::error!(error = %ErrorChain(err), "storage failure");
            INTERNAL.to_owned()
        }
    }
}
