//! The customer API (`/v1/customer`, bearer JWT with a customer context). One module per
//! area; each registers its routes relative to the scope.

pub mod alerts;
pub mod api_keys;
pub mod audit_events;
pub mod service_keys;
pub mod usage;
pub mod venues;

use actix_web::web;

/// Mounts every customer-API area under `/v1/customer`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v1/customer")
            .configure(api_keys::configure)
            .configure(usage::configure)
            .configure(alerts::configure)
            .configure(audit_events::configure)
            .configure(venues::configure)
            .configure(service_keys::configure),
    );
}
