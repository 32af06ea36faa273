//! The public singer API (SPEC §8): no authentication; a venue is named by its URL name.
//! Every route is metered per client IP (429 with `Retry-After` past the budget).
//!
//! Pages of other origins may call it when `public.cors_origins` lists them ([`cors`]).
//!
//! The client IP is the TCP peer, or behind a proxy named in `server.trusted_proxies`
//! the address that proxy forwarded ([`crate::client_ip`]).

mod cors;
mod limits;

use actix_web::{HttpRequest, HttpResponse, web};
use keyward_domain::venues::{UrlName, Venue};
use utoipa::OpenApi;

pub use cors::{CorsOrigins, InvalidOrigin};
pub use limits::{PublicLimiter, PublicLimits};

use crate::client_ip::client_ip;
use crate::error::{ApiError, Problem};
use crate::extract::JsonBody;
use crate::state::AppState;
use crate::venues::{
    PublicSongsQuery, PublicVenueResponse, SongPage, SongPagination, SubmitRequestBody,
    SubmittedRequestResponse,
};

/// Registers the public API under `/v1/public`, behind the CORS policy of
/// `public.cors_origins` ([`CorsOrigins::middleware`]).
pub fn configure(cfg: &mut web::ServiceConfig, origins: &CorsOrigins) {
    cfg.service(
        web::scope("/v1/public")
            .wrap(origins.middleware())
            .service(web::resource("/venues/{urlName}").route(web::get().to(get_public_venue)))
            .service(
                web::resource("/venues/{urlName}/songs").route(web::get().to(list_public_songs)),
            )
            .service(
                web::resource("/venues/{urlName}/requests")
                    .route(web::post().to(create_public_request)),
            ),
    );
}

#[derive(Debug, OpenApi)]
#[openapi(
    paths(get_public_venue, list_public_songs, create_public_request),
    components(schemas(
        PublicVenueResponse,
        SongPage,
        SongPagination,
        SubmitRequestBody,
        SubmittedRequestResponse,
        Problem
    ))
)]
pub struct PublicDoc;

/// The venue named by the `{urlName}` path parameter (case-insensitive). A name that
/// breaks the slug rules cannot exist, so it is a 404 like an unknown one.
pub(crate) async fn venue_of(state: &AppState, req: &HttpRequest) -> Result<Venue, ApiError> {
    let not_found = || ApiError::not_found("venue not found");
    let raw = req.match_info().get("urlName").ok_or_else(not_found)?;
    let url_name = UrlName::new(raw.to_ascii_lowercase()).map_err(|_| not_found())?;
    Ok(state.karaoke.venues.find_by_url_name(&url_name).await?)
}

/// A venue's public page: its name and whether it takes requests now.
#[utoipa::path(
    get,
    path = "/v1/public/venues/{urlName}",
    tag = "Singers",
    params(("urlName" = String, Path, description = "The venue's URL name")),
    responses(
        (status = 200, description = "The venue", body = PublicVenueResponse),
        (status = 404, description = "No such venue", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_public_venue(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<web::Json<PublicVenueResponse>, ApiError> {
    state.public_limiter.check_read(client_ip(&req))?;
    let venue = venue_of(&state, &req).await?;
    Ok(web::Json(PublicVenueResponse::from(&venue)))
}

/// Search the song book the venue shows.
#[utoipa::path(
    get,
    path = "/v1/public/venues/{urlName}/songs",
    tag = "Singers",
    params(("urlName" = String, Path, description = "The venue's URL name"), PublicSongsQuery),
    responses(
        (status = 200, description = "One page of songs, by artist then title", body = SongPage),
        (status = 400, description = "Bad page or limit", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such venue", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_public_songs(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<PublicSongsQuery>,
) -> Result<web::Json<SongPage>, ApiError> {
    state.public_limiter.check_read(client_ip(&req))?;
    let (songs, page) = query.into_inner().try_into_domain()?;
    let venue = venue_of(&state, &req).await?;
    let found = state
        .karaoke
        .songs
        .search(venue.customer_id(), venue.system_id(), &songs, page)
        .await?;
    Ok(web::Json(SongPage::from(&found)))
}

/// Ask to sing a song. The host sees the request in OpenKJ at its next poll.
#[utoipa::path(
    post,
    path = "/v1/public/venues/{urlName}/requests",
    tag = "Singers",
    params(("urlName" = String, Path, description = "The venue's URL name")),
    request_body = SubmitRequestBody,
    responses(
        (status = 201, description = "The request is queued", body = SubmittedRequestResponse),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such venue", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The venue is not accepting requests right now", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_public_request(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<SubmitRequestBody>,
) -> Result<HttpResponse, ApiError> {
    state.public_limiter.check_submission(client_ip(&req))?;
    let submission = body.0.try_into_domain()?;
    let venue = venue_of(&state, &req).await?;
    let request = state.karaoke.requests.submit(&venue, submission).await?;
    Ok(HttpResponse::Created().json(SubmittedRequestResponse {
        request_id: request.id().get(),
    }))
}
