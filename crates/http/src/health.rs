//! Liveness and readiness probes (SPEC §11). `/health` answers as long as the process
//! serves HTTP; `/ready` also asks the storage backend.

use actix_web::web;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::error::{ApiError, ErrorChain, Problem};
use crate::state::AppState;

/// Probes answer `HEAD` like `GET` (same status, no body): load balancers often probe
/// with `HEAD`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/health")
            .route(web::get().to(health))
            .route(web::head().to(health)),
    )
    .service(
        web::resource("/ready")
            .route(web::get().to(ready))
            .route(web::head().to(ready)),
    );
}

#[derive(Debug, OpenApi)]
#[openapi(paths(health, ready), components(schemas(HealthResponse, Problem)))]
pub struct HealthDoc;

/// Probe answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok` for liveness, `ready` for readiness.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(
    get,
    path = "/health",
    tag = "Operations",
    responses((status = 200, description = "Alive", body = HealthResponse))
)]
pub async fn health() -> web::Json<HealthResponse> {
    web::Json(HealthResponse { status: "ok" })
}

/// Readiness: the database answers, and no stop is under way.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "Operations",
    responses(
        (status = 200, description = "Ready to serve", body = HealthResponse),
        (status = 503, description = "The database is unreachable, or the service is stopping", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn ready(state: web::Data<AppState>) -> Result<web::Json<HealthResponse>, ApiError> {
    if state.is_draining() {
        return Err(ApiError::unavailable());
    }
    match state.readiness.check().await {
        Ok(()) => Ok(web::Json(HealthResponse { status: "ready" })),
        Err(err) => {
            tracing::warn!(error = %ErrorChain(&err), "readiness check failed");
            Err(ApiError::unavailable())
        }
    }
}
