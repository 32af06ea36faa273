//! The OpenAPI 3 document (`GET /openapi.json`) and the API explorer (`GET /docs`),
//! both generated from the handlers and DTOs themselves. The explorer's assets are
//! compiled into the binary (utoipa-swagger-ui, `vendored`): nothing loads from a CDN,
//! and the online validator badge is off, so the page contacts no third party.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::auth::API_KEY_HEADER;
use crate::vault::INTERNAL_SERVICE_KEY_HEADER;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "keyward",
        description = "Self-hosted API key service: customer API for managing scoped API keys, and key verification for integrations. Errors are RFC 9457 problem details (application/problem+json)."
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "API keys", description = "Customer API: manage API keys (bearer JWT, customer context)"),
        (name = "Verification", description = "Integrations: check an X-API-Key"),
        (name = "Service keys", description = "The credentials vault: third-party secrets encrypted at rest (customer BYOK, admin, plaintext retrieval)"),
        (name = "Operations", description = "Liveness and readiness probes"),
        (name = "Venues", description = "Customer API: venues, their requests and song books (bearer JWT, venues:read/venues:write)"),
        (name = "Integrations", description = "Integrations: venues, requests and song books with an X-API-Key"),
        (name = "Singers", description = "Public singer pages: no authentication, rate-limited per client address"),
        (name = "OpenKJ", description = "The OpenKJ request-server protocol: one POST endpoint, command in the body, always HTTP 200"),
    )
)]
struct RootDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "HS256 JWT with activeContext {type, id} and permissions claims",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                API_KEY_HEADER,
                "An API key created through the customer API",
            ))),
        );
        components.add_security_scheme(
            "service_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                INTERNAL_SERVICE_KEY_HEADER,
                "The shared secret internal.service_key, for internal services",
            ))),
        );
    }
}

/// The whole document: one `merge` per route module.
pub fn document() -> OpenApiDocument {
    let mut doc = RootDoc::openapi();
    doc.merge(crate::customer::api_keys::ApiKeysDoc::openapi());
    doc.merge(crate::validate::ValidateDoc::openapi());
    doc.merge(crate::customer::service_keys::CustomerServiceKeysDoc::openapi());
    doc.merge(crate::admin::service_keys::AdminServiceKeysDoc::openapi());
    doc.merge(crate::vault::RetrievalDoc::openapi());
    doc.merge(crate::health::HealthDoc::openapi());
    doc.merge(crate::customer::venues::VenuesDoc::openapi());
    doc.merge(crate::integration::IntegrationDoc::openapi());
    doc.merge(crate::public::PublicDoc::openapi());
    doc.merge(crate::openkj::OpenKjDoc::openapi());
    doc
}

/// Serves `/openapi.json` and the explorer under `/docs/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/docs").route(web::get().to(redirect_to_docs)))
        .service(
            SwaggerUi::new("/docs/{_:.*}")
                .url(OPENAPI_PATH, document())
                // Swagger UI's default validator badge sends the document's address to
                // validator.swagger.io: a third party must not learn where keyward runs.
                .config(Config::new([OPENAPI_PATH]).validator_url("none")),
        );
}

/// The explorer's page uses relative asset paths, so it must be served from `/docs/`.
async fn redirect_to_docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_lists_every_route_and_both_security_schemes() {
        let json = serde_json::to_value(document()).unwrap();

        for path in [
            "/v1/customer/api-keys",
            "/v1/customer/api-keys/scopes",
            "/v1/customer/api-keys/{id}",
            "/v1/customer/api-keys/{id}/revoke",
            "/v1/customer/api-keys/{id}/rotate",
            "/v1/validate",
            "/v1/validate/keys/{provider}",
            "/v1/customer/service-keys",
            "/v1/customer/service-keys/{provider}",
            "/v1/admin/service-keys",
            "/v1/admin/service-keys/{id}",
            "/v1/admin/service-keys/{id}/enable",
            "/v1/admin/service-keys/{id}/disable",
            "/internal/service-keys/{provider}/decrypt",
            "/health",
            "/ready",
            "/v1/customer/venues",
            "/v1/customer/venues/{id}",
            "/v1/customer/venues/{id}/requests",
            "/v1/customer/songdb",
            "/v1/venues",
            "/v1/venues/{openkjVenueId}/requests",
            "/v1/songdb",
            "/v1/public/venues/{urlName}",
            "/v1/public/venues/{urlName}/songs",
            "/v1/public/venues/{urlName}/requests",
            "/openkj/api",
        ] {
            assert!(json["paths"][path].is_object(), "missing {path}");
        }
        assert_eq!(
            json["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        assert_eq!(
            json["components"]["securitySchemes"]["api_key"]["name"],
            "X-API-Key"
        );
    }
}
