//! Assembles the actix application: shared state, extractor configuration, routes,
//! the problem+json fallback and the request span; and binds it to a listener.
//!
//! The binary and the black-box tests use exactly this, so what is tested is what runs.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError, web};

use crate::boundary;
use crate::error::{ApiError, PROBLEM_JSON, ProblemType};
use crate::request_id::request_span;
use crate::state::AppState;
use crate::{
    admin, customer, health, integration, internal, metrics, openapi, openkj, pages, public,
    validate, vault,
};

/// Registers state, extractor error handlers and every route module. Later route
/// modules (OpenKJ, vault, …) add one `.configure(…)` line here.
pub fn configure(cfg: &mut web::ServiceConfig, state: &web::Data<AppState>) {
    let limit = state.body_limit;
    cfg.app_data(state.clone())
        .app_data(limit)
        .app_data(
            web::JsonConfig::default()
                .limit(limit.0)
                .error_handler(json_error),
        )
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        // actix tries resources in this order, and a pattern with a `{segment}` is a regex
        // match: the hot paths (probes, verification, OpenKJ polling) go first, so they
        // never pay for the regexes of the routes below.
        .configure(health::configure)
        .configure(validate::configure)
        // `GET /` before the OpenKJ endpoint's `POST /` (see `configure_landing`).
        .configure(pages::configure_landing)
        .configure(openkj::configure)
        .configure(customer::configure)
        .configure(integration::configure)
        .configure(|cfg| public::configure(cfg, &state.public_cors_origins))
        .configure(pages::configure)
        .configure(admin::configure)
        .configure(vault::configure)
        .configure(internal::configure)
        .configure(metrics::configure)
        .configure(openapi::configure);
}

/// The complete application for one worker.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let observe = metrics::observe_requests(state.clone());
    App::new()
        .configure(move |cfg| configure(cfg, &state))
        .default_service(web::to(no_route))
        .wrap(ErrorHandlers::new().default_handler(problem_fallback))
        .wrap(from_fn(request_span))
        // Outermost, so requests the input boundary refuses are counted too.
        .wrap_fn(observe)
}

/// How the HTTP server runs.
#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    /// Worker threads; `None` lets actix pick (one per physical core).
    pub workers: Option<usize>,
    /// How long a graceful stop waits for in-flight requests.
    pub shutdown_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            workers: None,
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// Starts serving on `listener`. Signals are left to the caller, which stops the server
/// through its handle (`server.handle().stop(true)`) and then flushes what it buffers.
///
/// # Errors
/// When the listener cannot be used.
pub fn serve(
    listener: TcpListener,
    state: web::Data<AppState>,
    options: ServerOptions,
) -> std::io::Result<Server> {
    let mut server = HttpServer::new(move || app(state.clone()))
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(options.shutdown_timeout.as_secs());
    if let Some(workers) = options.workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}

async fn no_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let error = ApiError::not_found(format!("no route matches {}", req.path()));
    if pages::is_page_path(req.path()) {
        return Ok(pages::error_page(&error));
    }
    Err(error)
}

/// Rewrites any error response that is not problem+json yet (actix's own 405s, a
/// missing explorer asset, …) so every error of the API has the same shape; on a page
/// path ([`pages::is_page_path`]) the error becomes an HTML page instead. Pages' own
/// HTML answers pass unchanged.
#[allow(
    clippy::unnecessary_wraps,
    reason = "the signature ErrorHandlers requires"
)]
fn problem_fallback<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let already_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    let already_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/html"));
    if already_problem || already_html {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let kind = ProblemType::for_status(status);
    let detail = match kind {
        ProblemType::ResourceNotFound => format!("no route matches {}", res.request().path()),
        ProblemType::MethodNotAllowed => format!(
            "{} is not allowed on {}",
            boundary::original_method(res.request()),
            res.request().path()
        ),
        _ => status.canonical_reason().unwrap_or(kind.title()).to_owned(),
    };
    let allow = res.headers().get(header::ALLOW).cloned();
    let page = pages::is_page_path(res.request().path());
    let (req, _) = res.into_parts();
    let error = ApiError::new(kind, detail);
    let mut response = if page {
        pages::error_page(&error)
    } else {
        error.error_response()
    };
    if let Some(allow) = allow {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}

fn json_error(err: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api = match err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::payload_too_large(limit),
        JsonPayloadError::ContentType => {
            ApiError::validation("Content-Type: must be application/json")
        }
        JsonPayloadError::Deserialize(inner) => ApiError::invalid_field("body", inner),
        other => ApiError::invalid_field("body", other),
    };
    api.into()
}

fn query_error(err: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    query_problem(err).into()
}

/// 400 for a query string that does not fit its parameters, naming `query`.
pub(crate) fn query_problem(err: QueryPayloadError) -> ApiError {
    let QueryPayloadError::Deserialize(inner) = err else {
        return ApiError::invalid_field("query", err);
    };
    ApiError::invalid_field("query", inner)
}

fn path_error(err: PathError, _: &HttpRequest) -> actix_web::Error {
    let PathError::Deserialize(inner) = err else {
        return ApiError::invalid_field("path", err).into();
    };
    ApiError::invalid_field("path", inner).into()
}
