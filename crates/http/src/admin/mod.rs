//! The admin API (`/v1/admin`, bearer JWT with `activeContext.type == "admin"`). One
//! module per area; each registers its routes relative to the scope.

pub mod service_keys;

use actix_web::web;

/// Mounts every admin-API area under `/v1/admin`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/v1/admin").configure(service_keys::configure));
}
