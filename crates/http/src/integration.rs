//! The integration API for venues, requests and song books (SPEC §8): `X-API-Key`
//! authentication and one scope per route. Venues are named by their OpenKJ venue id,
//! the number integrations share with OpenKJ.

use actix_web::{HttpRequest, HttpResponse, web};
use keyward_domain::CustomerId;
use keyward_domain::venues::{OpenKjVenueId, Venue};
use utoipa::OpenApi;

use crate::auth::ScopedApiKey;
use crate::auth::scopes::{RequestsRead, RequestsWrite, SongdbRead, VenuesRead};
use crate::error::{ApiError, Problem};
use crate::extract::JsonBody;
use crate::state::AppState;
use crate::venues::{
    ListRequestsQuery, RequestPage, RequestStatus, SongDbQuery, SongPage, SongPagination,
    SongRequestResponse, SubmitRequestBody, VenueList,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/venues").route(web::get().to(list_integration_venues)))
        .service(
            web::resource("/v1/venues/{openkjVenueId}/requests")
                .route(web::get().to(list_integration_requests))
                .route(web::post().to(create_integration_request)),
        )
        .service(web::resource("/v1/songdb").route(web::get().to(list_integration_songs)));
}

#[derive(Debug, OpenApi)]
#[openapi(
    paths(
        list_integration_venues,
        list_integration_requests,
        create_integration_request,
        list_integration_songs
    ),
    components(schemas(
        VenueList,
        RequestPage,
        SongRequestResponse,
        SubmitRequestBody,
        SongPage,
        SongPagination,
        RequestStatus,
        Problem
    ))
)]
pub struct IntegrationDoc;

/// The customer's venue named by the `{openkjVenueId}` path parameter.
async fn venue_of(
    state: &AppState,
    customer: CustomerId,
    req: &HttpRequest,
) -> Result<Venue, ApiError> {
    let id = req
        .match_info()
        .get("openkjVenueId")
        .and_then(crate::whole::parse::<i32>)
        .and_then(|id| OpenKjVenueId::new(id).ok())
        .ok_or_else(|| {
            ApiError::invalid_field("openkjVenueId", "must be a whole number of 0 or more")
        })?;
    state
        .karaoke
        .venues
        .find_by_openkj_id(customer, id)
        .await?
        .ok_or_else(|| ApiError::not_found("venue not found"))
}

/// List the key owner's venues.
#[utoipa::path(
    get,
    path = "/v1/venues",
    tag = "Integrations",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Every venue, by openkjVenueId", body = VenueList),
        (status = 401, description = "API Key Required / Invalid API Key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Insufficient Scope (venues:read)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_integration_venues(
    auth: ScopedApiKey<VenuesRead>,
    state: web::Data<AppState>,
) -> Result<web::Json<VenueList>, ApiError> {
    let venues = state.karaoke.venues.list(auth.key.customer_id).await?;
    Ok(web::Json(VenueList::from(venues.as_slice())))
}

/// A venue's requests: its queue (default), history, or both; oldest first.
#[utoipa::path(
    get,
    path = "/v1/venues/{openkjVenueId}/requests",
    tag = "Integrations",
    params(("openkjVenueId" = i32, Path, minimum = 0, description = "The venue's OpenKJ id, 0 or more"), ListRequestsQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "One page of requests", body = RequestPage),
        (status = 400, description = "Bad venue id, status, page or limit", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "API Key Required / Invalid API Key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Insufficient Scope (requests:read)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such venue", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_integration_requests(
    auth: ScopedApiKey<RequestsRead>,
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ListRequestsQuery>,
) -> Result<web::Json<RequestPage>, ApiError> {
    let (filter, page) = query.into_inner().try_into_domain()?;
    let venue = venue_of(&state, auth.key.customer_id, &req).await?;
    let requests = state.karaoke.requests.list(&venue, filter, page).await?;
    Ok(web::Json(RequestPage::from(&requests)))
}

/// Queue a request at a venue (for singer apps). OpenKJ sees it at its next poll.
#[utoipa::path(
    post,
    path = "/v1/venues/{openkjVenueId}/requests",
    tag = "Integrations",
    params(("openkjVenueId" = i32, Path, minimum = 0, description = "The venue's OpenKJ id, 0 or more")),
    request_body = SubmitRequestBody,
    security(("api_key" = [])),
    responses(
        (status = 201, description = "The queued request", body = SongRequestResponse),
        (status = 400, description = "Invalid body or venue id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "API Key Required / Invalid API Key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Insufficient Scope (requests:write)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such venue", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The venue is not accepting requests", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_integration_request(
    auth: ScopedApiKey<RequestsWrite>,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<SubmitRequestBody>,
) -> Result<HttpResponse, ApiError> {
    let submission = body.0.try_into_domain()?;
    let venue = venue_of(&state, auth.key.customer_id, &req).await?;
    let request = state.karaoke.requests.submit(&venue, submission).await?;
    Ok(HttpResponse::Created().json(SongRequestResponse::from(&request)))
}

/// Search one of the key owner's song books (default system 1).
#[utoipa::path(
    get,
    path = "/v1/songdb",
    tag = "Integrations",
    params(SongDbQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "One page of songs, by artist then title", body = SongPage),
        (status = 400, description = "Bad systemId, page or limit", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "API Key Required / Invalid API Key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Insufficient Scope (songdb:read)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_integration_songs(
    auth: ScopedApiKey<SongdbRead>,
    state: web::Data<AppState>,
    query: web::Query<SongDbQuery>,
) -> Result<web::Json<SongPage>, ApiError> {
    let (system, songs, page) = query.into_inner().try_into_domain()?;
    let found = state
        .karaoke
        .songs
        .search(auth.key.customer_id, system, &songs, page)
        .await?;
    Ok(web::Json(SongPage::from(&found)))
}
