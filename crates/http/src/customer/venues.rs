//! Venues, their requests and the song books in the customer API (SPEC §8), under
//! `/v1/customer`, for callers with `venues:read` / `venues:write`.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use futures::future::{Ready, ready};
use keyward_domain::VenueId;
use utoipa::OpenApi;

use crate::auth::CustomerPrincipal;
use crate::auth::permissions::{VenuesRead, VenuesWrite};
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, uuid_param};
use crate::state::AppState;
use crate::venues::{
    CreateVenueRequest, ListRequestsQuery, RequestPage, RequestStatus, SongDbQuery, SongPage,
    SongPagination, UpdateVenueRequest, VenueList, VenueResponse,
};

/// Registers the routes, relative to `/v1/customer`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/venues")
            .route(web::get().to(list_venues))
            .route(web::post().to(create_venue)),
    )
    .service(
        web::resource("/venues/{id}")
            .route(web::get().to(get_venue))
            .route(web::patch().to(update_venue))
            .route(web::delete().to(delete_venue)),
    )
    .service(web::resource("/venues/{id}/requests").route(web::get().to(list_venue_requests)))
    .service(web::resource("/songdb").route(web::get().to(list_songdb)));
}

/// The OpenAPI description of these routes.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(
        list_venues,
        create_venue,
        get_venue,
        update_venue,
        delete_venue,
        list_venue_requests,
        list_songdb
    ),
    components(schemas(
        VenueResponse,
        VenueList,
        CreateVenueRequest,
        UpdateVenueRequest,
        RequestPage,
        SongPage,
        SongPagination,
        RequestStatus,
        Problem
    ))
)]
pub struct VenuesDoc;

/// The `{id}` path parameter of a venue route.
#[derive(Debug, Clone, Copy)]
pub struct VenueIdPath(pub VenueId);

impl FromRequest for VenueIdPath {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(uuid_param(req, "id").map(|id| VenueIdPath(VenueId::from_uuid(id))))
    }
}

/// List the customer's venues, by OpenKJ venue id.
#[utoipa::path(
    get,
    path = "/v1/customer/venues",
    tag = "Venues",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every venue", body = VenueList),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing venues:read", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_venues(
    principal: CustomerPrincipal<VenuesRead>,
    state: web::Data<AppState>,
) -> Result<web::Json<VenueList>, ApiError> {
    let venues = state.karaoke.venues.list(principal.customer).await?;
    Ok(web::Json(VenueList::from(venues.as_slice())))
}

/// Create a venue. OpenKJ sees it at its next poll (the serial moves).
#[utoipa::path(
    post,
    path = "/v1/customer/venues",
    tag = "Venues",
    request_body = CreateVenueRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new venue", body = VenueResponse),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing venues:write", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "urlName or openkjVenueId already taken", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_venue(
    principal: CustomerPrincipal<VenuesWrite>,
    state: web::Data<AppState>,
    body: JsonBody<CreateVenueRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0.try_into_domain()?;
    let venue = state
        .karaoke
        .venues
        .create(&principal.context(), principal.customer, request)
        .await?;
    Ok(HttpResponse::Created().json(VenueResponse::from(&venue)))
}

/// Read one venue.
#[utoipa::path(
    get,
    path = "/v1/customer/venues/{id}",
    tag = "Venues",
    params(("id" = uuid::Uuid, Path, description = "The venue's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The venue", body = VenueResponse),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing venues:read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such venue for this customer", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_venue(
    principal: CustomerPrincipal<VenuesRead>,
    VenueIdPath(id): VenueIdPath,
    state: web::Data<AppState>,
) -> Result<web::Json<VenueResponse>, ApiError> {
    let venue = state.karaoke.venues.get(principal.customer, id).await?;
    Ok(web::Json(VenueResponse::from(&venue)))
}

/// Change a venue's name, URL name, accepting flag or song book.
#[utoipa::path(
    patch,
    path = "/v1/customer/venues/{id}",
    tag = "Venues",
    params(("id" = uuid::Uuid, Path, description = "The venue's id")),
    request_body = UpdateVenueRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The venue as changed", body = VenueResponse),
        (status = 400, description = "Invalid body or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing venues:write", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such venue for this customer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "urlName already taken", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_venue(
    principal: CustomerPrincipal<VenuesWrite>,
    VenueIdPath(id): VenueIdPath,
    state: web::Data<AppState>,
    body: JsonBody<UpdateVenueRequest>,
) -> Result<web::Json<VenueResponse>, ApiError> {
    let changes = body.0.try_into_domain()?;
    let venue = state
        .karaoke
        .venues
        .update(&principal.context(), principal.customer, id, changes)
        .await?;
    Ok(web::Json(VenueResponse::from(&venue)))
}

/// Delete a venue with all its requests, queued and processed.
#[utoipa::path(
    delete,
    path = "/v1/customer/venues/{id}",
    tag = "Venues",
    params(("id" = uuid::Uuid, Path, description = "The venue's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing venues:write", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such venue for this customer", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_venue(
    principal: CustomerPrincipal<VenuesWrite>,
    VenueIdPath(id): VenueIdPath,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state
        .karaoke
        .venues
        .delete(&principal.context(), principal.customer, id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A venue's requests: its queue (default), its history, or both; oldest first.
#[utoipa::path(
    get,
    path = "/v1/customer/venues/{id}/requests",
    tag = "Venues",
    params(("id" = uuid::Uuid, Path, description = "The venue's id"), ListRequestsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of requests", body = RequestPage),
        (status = 400, description = "Bad id, status, page or limit", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing venues:read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such venue for this customer", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_venue_requests(
    principal: CustomerPrincipal<VenuesRead>,
    VenueIdPath(id): VenueIdPath,
    state: web::Data<AppState>,
    query: web::Query<ListRequestsQuery>,
) -> Result<web::Json<RequestPage>, ApiError> {
    let (filter, page) = query.into_inner().try_into_domain()?;
    let venue = state.karaoke.venues.get(principal.customer, id).await?;
    let requests = state.karaoke.requests.list(&venue, filter, page).await?;
    Ok(web::Json(RequestPage::from(&requests)))
}

/// Search one of the customer's song books (default system 1).
#[utoipa::path(
    get,
    path = "/v1/customer/songdb",
    tag = "Venues",
    params(SongDbQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of songs, by artist then title", body = SongPage),
        (status = 400, description = "Bad systemId, page or limit", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer context or missing venues:read", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_songdb(
    principal: CustomerPrincipal<VenuesRead>,
    state: web::Data<AppState>,
    query: web::Query<SongDbQuery>,
) -> Result<web::Json<SongPage>, ApiError> {
    let (system, songs, page) = query.into_inner().try_into_domain()?;
    let found = state
        .karaoke
        .songs
        .search(principal.customer, system, &songs, page)
        .await?;
    Ok(web::Json(SongPage::from(&found)))
}
