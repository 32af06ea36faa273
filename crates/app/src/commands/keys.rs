//! `keyward keys create | list | revoke | cleanup` (SPEC §11, §14): API key work on the
//! configured database directly, with the same rules as the customer API — the request is
//! validated by the API's own body type and the key is issued by the same service, so the
//! cap, the scope names and `keys.default_ttl_days` apply alike.
//!
//! Text output is for people; `--json` prints the API's shapes for scripts. The key is
//! printed once, on stdout, and nowhere else (not in logs); if it cannot be written
//! there, the key is deleted again, so no key exists that nobody has seen.
//!
//! Unlike `serve` and `migrate`, these commands never create a SQLite database: run from
//! the wrong directory, they would otherwise work on a new, empty file that no server
//! reads.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;

use keyward_domain::KeyId;
use keyward_domain::audit::{self, RequestContext};
use keyward_domain::keys::ApiKey;
use keyward_domain::ports::{KeyFilter, OsSecretGenerator, PageRequest, SystemClock};
use keyward_domain::services::{ApiKeyError, ApiKeyService, AuditTrail};
use keyward_domain::usage::UsageBuffer;
use keyward_domain::{CustomerId, ports::MAX_PAGE_LIMIT};
use keyward_http::customer::api_keys::dto::{
    ApiKeyResponse, CreateApiKeyRequest, IssuedApiKeyResponse,
};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::{KeysCreateArgs, KeysListArgs, KeysRevokeArgs};
use crate::error::AppError;
use crate::settings::Settings;
use crate::storage;

/// The `created_by` of a key issued from the command line.
pub const CLI_ACTOR: &str = "keyward-cli";

/// The audit actor of the key CLI: `{type: "system", id: "cli"}`, no address.
fn cli() -> RequestContext {
    RequestContext::system(audit::CLI_ACTOR)
}

/// The key service on the configured (migrated) database, with the configured policy.
///
/// # Errors
/// `Usage` when `database.url` names a SQLite file that does not exist.
async fn service(settings: &Settings) -> Result<ApiKeyService, AppError> {
    let policy = settings.key_policy()?;
    let store = storage::open_existing(settings).await?;
    let audit = AuditTrail::new(Arc::new(store.clone()), Arc::new(SystemClock));
    Ok(ApiKeyService::new(
        Arc::new(store),
        Arc::new(SystemClock),
        Arc::new(OsSecretGenerator::default()),
        Arc::new(UsageBuffer::new()),
        audit,
        policy,
    ))
}

/// A service error as one line; storage failures keep their cause.
fn key_error(err: ApiKeyError) -> AppError {
    match err {
        ApiKeyError::Storage(err) => AppError::Storage(err),
        other => AppError::Usage(other.to_string()),
    }
}

/// The API names fields in camelCase; on the command line they are flags.
fn flag_named(detail: &str) -> String {
    const FLAGS: [(&str, &str); 4] = [
        ("name:", "--name:"),
        ("description:", "--description:"),
        ("scopes:", "--scopes:"),
        ("expiresAt:", "--expires-at:"),
    ];
    FLAGS
        .iter()
        .find_map(|(field, flag)| {
            detail
                .strip_prefix(field)
                .map(|rest| format!("{flag}{rest}"))
        })
        .unwrap_or_else(|| detail.to_owned())
}

/// Writes `text` and a newline to stdout. Unlike `println!`, a closed pipe or a full
/// disk is an error to report, not a panic.
pub(crate) fn emit(text: &str) -> Result<(), AppError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|err| AppError::Usage(format!("cannot write to stdout: {err}")))
}

fn json(value: &impl Serialize) -> Result<String, AppError> {
    serde_json::to_string_pretty(value)
        .map_err(|err| AppError::Usage(format!("cannot write JSON: {err}")))
}

/// `keys create`: validates like `POST /v1/customer/api-keys`, issues the key and prints
/// it once.
///
/// # Errors
/// `Usage` naming the flag that breaks a rule, the cap, or an expiry in the past;
/// `Database`/`Storage` when the database cannot be used.
pub async fn create(args: KeysCreateArgs, settings: &Settings) -> Result<(), AppError> {
    let request = CreateApiKeyRequest {
        name: args.name,
        description: args.description,
        expires_at: args.expires_at,
        scopes: args
            .scopes
            .into_iter()
            .map(|scope| scope.trim().to_owned())
            .filter(|scope| !scope.is_empty())
            .collect(),
    };
    let new_key = request
        .try_into_domain(CLI_ACTOR.to_owned())
        .map_err(|err| AppError::Usage(flag_named(err.detail())))?;
    let service = service(settings).await?;
    let issued = service
        .create(&cli(), CustomerId::from_uuid(args.customer), new_key)
        .await
        .map_err(|err| match err {
            ApiKeyError::ExpiryNotInFuture => {
                AppError::Usage("--expires-at: must be in the future".to_owned())
            }
            other => key_error(other),
        })?;
    let text = if args.json {
        json(&IssuedApiKeyResponse::from(&issued))?
    } else {
        issued.secret.expose().to_owned()
    };
    if let Err(err) = emit(&text) {
        // Nobody saw the key: take it back rather than leave an unknown key counting
        // against the cap.
        let customer = issued.key.customer_id();
        return Err(
            match service.delete(&cli(), customer, issued.key.id()).await {
                Ok(()) => AppError::Usage(format!("{err}; the new key was deleted again")),
                Err(delete) => AppError::Usage(format!(
                    "{err}; deleting the unseen key {} failed too ({delete}): revoke it",
                    issued.key.id()
                )),
            },
        );
    }
    if args.json {
        return Ok(());
    }
    eprintln!(
        "created API key {} ({}) for customer {}; the key above is shown only this once",
        issued.key.id(),
        visible(issued.key.name().as_str()),
        args.customer
    );
    Ok(())
}

/// The API's key listing shape without paging: every key at once.
#[derive(Debug, Serialize)]
struct KeyList {
    data: Vec<ApiKeyResponse>,
}

/// `keys list`: every key of the customer, newest first.
///
/// # Errors
/// `Database`/`Storage` when the database cannot be used.
pub async fn list(args: &KeysListArgs, settings: &Settings) -> Result<(), AppError> {
    let service = service(settings).await?;
    let customer = CustomerId::from_uuid(args.customer);
    let mut keys = Vec::new();
    for page in 1.. {
        let request = PageRequest::new(page, MAX_PAGE_LIMIT)
            .map_err(|err| AppError::Usage(err.to_string()))?;
        let found = service
            .list(customer, KeyFilter::default(), request)
            .await
            .map_err(key_error)?;
        let last = found.items.len() < MAX_PAGE_LIMIT as usize;
        keys.extend(found.items);
        if last {
            break;
        }
    }
    if args.json {
        return emit(&json(&KeyList {
            data: keys.iter().map(ApiKeyResponse::from).collect(),
        })?);
    }
    emit(table(&keys, OffsetDateTime::now_utc()).trim_end())
}

/// `keys revoke <id>`: revokes the key whatever its customer.
///
/// # Errors
/// `Usage` when no key has that id; `Database`/`Storage` when the database cannot be
/// used.
pub async fn revoke(args: &KeysRevokeArgs, settings: &Settings) -> Result<(), AppError> {
    let service = service(settings).await?;
    let id = KeyId::from_uuid(args.id);
    let found = service.find_any(id).await.map_err(|err| match err {
        ApiKeyError::NotFound => AppError::Usage(format!("no API key has the id {}", args.id)),
        other => key_error(other),
    })?;
    let already = found.is_revoked();
    let key = service
        .revoke(&cli(), found.customer_id(), id)
        .await
        .map_err(key_error)?;
    if args.json {
        return emit(&json(&ApiKeyResponse::from(&key))?);
    }
    let name = visible(key.name().as_str());
    if already {
        emit(&format!("API key {id} ({name}) was already revoked"))
    } else {
        emit(&format!(
            "revoked API key {id} ({name}) of customer {}",
            key.customer_id()
        ))
    }
}

/// # Errors
/// The database cannot be opened, migrated or cleaned.
pub async fn cleanup(settings: &Settings) -> Result<(), AppError> {
    let service = service(settings).await?;
    let deleted = service
        .cleanup_expired(
            &RequestContext::system(audit::CLEANUP_ACTOR),
            settings.expired_retention(),
        )
        .await
        .map_err(AppError::Storage)?;
    emit(&format!(
        "deleted {deleted} API key(s) expired more than {} day(s) ago",
        settings.keys.expired_retention_days
    ))
}

/// Unicode's bidirectional formatting characters (UAX #9: embeddings, overrides,
/// isolates, marks): in a name they would reorder the rest of a table row on a terminal.
const BIDI_CONTROLS: [char; 12] = [
    '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}',
    '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
];

/// A name as it can be shown on a terminal: control characters (a newline, an escape
/// sequence someone put in a key name) and bidirectional overrides are escaped rather
/// than interpreted.
fn visible(text: &str) -> String {
    text.chars()
        .fold(String::with_capacity(text.len()), |mut out, ch| {
            if ch.is_control() || BIDI_CONTROLS.contains(&ch) {
                out.extend(ch.escape_default());
            } else {
                out.push(ch);
            }
            out
        })
}

fn timestamp(at: Option<OffsetDateTime>) -> String {
    at.and_then(|at| at.to_offset(time::UtcOffset::UTC).format(&Rfc3339).ok())
        .unwrap_or_else(|| "-".to_owned())
}

/// What a person needs to tell a key's state at a glance.
fn status(key: &ApiKey, now: OffsetDateTime) -> &'static str {
    if key.is_revoked() {
        "revoked"
    } else if !key.is_active() {
        "inactive"
    } else if key.expires_at().is_some_and(|at| at <= now) {
        "expired"
    } else {
        "active"
    }
}

/// The keys as an aligned text table with a header, or a line saying there are none.
fn table(keys: &[ApiKey], now: OffsetDateTime) -> String {
    if keys.is_empty() {
        return "no API keys\n".to_owned();
    }
    let header = [
        "ID",
        "NAME",
        "PREFIX",
        "STATUS",
        "SCOPES",
        "EXPIRES",
        "LAST USED",
    ]
    .map(str::to_owned);
    let rows: Vec<[String; 7]> = keys
        .iter()
        .map(|key| {
            [
                key.id().to_string(),
                visible(key.name().as_str()),
                key.display_prefix().as_str().to_owned(),
                status(key, now).to_owned(),
                key.scopes().names().join(","),
                timestamp(key.expires_at()),
                timestamp(key.last_used_at()),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|cell| cell.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use keyward_domain::testing::NOW;
    use keyward_domain::testing::api_keys::sample_key;

    use super::*;

    #[test]
    fn api_field_names_become_flags() {
        assert_eq!(
            flag_named("expiresAt: must be an RFC 3339 timestamp"),
            "--expires-at: must be an RFC 3339 timestamp"
        );
        assert_eq!(
            flag_named("name: must be 1 to 100 characters"),
            "--name: must be 1 to 100 characters"
        );
        assert_eq!(flag_named("Invalid scopes: a, b"), "Invalid scopes: a, b");
    }

    #[test]
    fn control_characters_in_names_are_escaped() {
        assert_eq!(visible("bar\n\u{1b}[31mred"), "bar\\n\\u{1b}[31mred");
        assert_eq!(visible("tablet\u{202e}evitca"), "tablet\\u{202e}evitca");
        assert_eq!(visible("Café tablet"), "Café tablet");
    }

    #[test]
    fn the_table_aligns_columns_and_tells_states_apart() {
        let customer = CustomerId::generate();
        let active = sample_key(customer, NOW);
        let mut expired = sample_key(customer, NOW - time::Duration::days(40)).into_parts();
        expired.name = keyward_domain::keys::KeyName::new("Old kiosk").unwrap();
        let expired = ApiKey::from_parts(expired);

        let text = table(&[active.clone(), expired.clone()], NOW);

        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("ID  "), "{text}");
        let status_column = lines[0].find("STATUS").unwrap();
        assert_eq!(&lines[1][status_column..status_column + 6], "active");
        assert_eq!(&lines[2][status_column..status_column + 7], "expired");
        assert!(lines[1].starts_with(&active.id().to_string()));
        assert!(lines[2].contains("Old kiosk"));
    }

    #[test]
    fn an_empty_listing_says_so() {
        assert_eq!(table(&[], NOW), "no API keys\n");
        assert_eq!(table(&[], NOW).trim_end(), "no API keys");
    }
}
