//! One tracing span per request, carrying its request id.
//!
//! The id comes from the caller's `X-Request-Id` when that is a sane token (so a request
//! can be followed across services), otherwise a fresh UUID; it is echoed in the
//! response. Only the method, path, status and duration are logged: never headers,
//! query strings or bodies, which may hold API keys or tokens.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use tracing::Instrument;
use uuid::Uuid;

use crate::boundary;
use crate::state::AppState;

/// The header a request id travels in.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest caller-supplied id that is kept.
const MAX_LEN: usize = 128;

/// The id of the request being served; available from the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn request_id_of(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| acceptable(id))
        .map_or_else(|| Uuid::new_v4().to_string(), str::to_owned)
}

/// The middleware (`actix_web::middleware::from_fn(request_span)`). It also applies
/// the request-level input rules of [`boundary::screen`] (`HEAD` as `GET`, no U+0000
/// in the path or query), so a refused request is logged and carries its id like any
/// other.
///
/// # Errors
/// Passes on errors of the inner services unchanged.
pub async fn request_span(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = request_id_of(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.path(),
    );
    let started = Instant::now();
    let mut response = match boundary::screen(&mut req) {
        Ok(()) => next
            .call(req)
            .instrument(span.clone())
            .await?
            .map_into_left_body(),
        Err(refused) if crate::pages::is_page_path(req.path()) => req
            .into_response(crate::pages::error_page(&refused))
            .map_into_right_body(),
        Err(refused) => req.error_response(refused).map_into_right_body(),
    };
    let status = response.status().as_u16();
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, elapsed_ms, "request failed");
        } else {
            tracing::info!(status, elapsed_ms, "request completed");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let draining = response
        .request()
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.is_draining());
    if draining {
        // The client is told before it reuses the connection, so no request of its is
        // sent on a connection the stop closes.
        response
            .response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_kept_and_odd_ones_replaced() {
        assert!(acceptable("c0ffee-42_a.b:c"));
        assert!(!acceptable(""));
        assert!(!acceptable("has space"));
        assert!(!acceptable(&"x".repeat(MAX_LEN + 1)));
    }
}
