//! The OpenAPI 3 document (`GET /openapi.json`) and the API explorer (`GET /docs`),
//! both generated from the handlers and DTOs themselves. The explorer's assets are
//! compiled into the binary (utoipa-swagger-ui, `vendored`): nothing loads from a CDN,
//! and the online validator badge is off, so the page contacts no third party.
//!
//! The statuses every handler can answer whatever it does — 500, 503 from storage, 413
//! for a body, 429 from the key-verification budget — and the headers on every response
//! are added by one modifier, [`CommonResponses`], after every route module's paths are
//! merged, so no annotation can forget them (SPEC §5).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, Response, ResponseBuilder, Schema};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::auth::API_KEY_HEADER;
use crate::error::PROBLEM_JSON;
use crate::vault::INTERNAL_SERVICE_KEY_HEADER;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "keyward",
        description = "Self-hosted API key service of a karaoke platform. Its parts, and how each is authenticated:\n\n\
- **Customer API** (`/v1/customer/…`): one customer's API keys, venues and song books, service credentials, usage, alerts and audit events. Send `Authorization: Bearer <JWT>` (HS256, `activeContext` of type `customer`, plus the permissions each operation names). Tokens come from your identity service, signed with `auth.jwt_secret`; in development `keyward token --customer <uuid>` prints one with every permission.\n\
- **Integration API** (`/v1/validate`, `/v1/venues`, `/v1/songdb`): send a key created through the customer API as `X-API-Key`; each operation names the scope it needs.\n\
- **Public singer API** (`/v1/public/…`): no authentication, rate-limited per client address.\n\
- **OpenKJ** (`POST /openkj/api`): the OpenKJ request-server protocol; the API key travels in the body and every reply is HTTP 200.\n\
- **Vault**: customers store third-party credentials with `PUT /v1/customer/service-keys/{provider}` (`service_keys:write`), their integrations read the plaintext with `GET /v1/validate/keys/{provider}` (a key with `secrets:read`); admins (a JWT with `activeContext` type `admin`, `keyward token --admin`) manage the platform's under `/v1/admin/service-keys`. 503 until `vault.master_key` is configured.\n\
- **Usage, alerts, audit**: `/v1/customer/usage`, `/v1/customer/api-keys/{id}/usage` and `/v1/customer/alerts` (`api_keys:read`); `/v1/customer/audit-events` (`audit:read`).\n\
- **Internal API** (`/internal/…`): service to service with `X-Service-Key` (`internal.service_key`; 503 while unset). Keep it off the public network.\n\
- **Operations**: `/health`, `/ready`, and Prometheus metrics at `/metrics` (bearer `metrics.bearer_token` when set).\n\n\
Errors are RFC 9457 problem details (application/problem+json). Every response carries X-Request-Id. Any method not listed for a path answers 405 method_not_allowed with Allow (the MethodNotAllowed response); a path not listed here answers 404 resource_not_found. Query parameters an operation does not list are ignored. Every GET operation also answers HEAD: the same status and headers, no body. No string may hold U+0000 (400 naming the field)."
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "API keys", description = "Customer API: manage API keys (bearer JWT, customer context)"),
        (name = "Audit", description = "Customer API: who changed which key, venue or service credential, and every plaintext read (bearer JWT, audit:read)"),
        (name = "Verification", description = "Integrations: check an X-API-Key"),
        (name = "Service keys", description = "The credentials vault: third-party secrets encrypted at rest (customer BYOK, admin, plaintext retrieval)"),
        (name = "Operations", description = "Liveness and readiness probes, Prometheus metrics"),
        (name = "Venues", description = "Customer API: venues, their requests and song books (bearer JWT, venues:read/venues:write)"),
        (name = "Integrations", description = "Integrations: venues, requests and song books with an X-API-Key"),
        (name = "Singers", description = "Public singer pages: no authentication, rate-limited per client address"),
        (name = "OpenKJ", description = "The OpenKJ request-server protocol: one POST endpoint, command in the body, always HTTP 200"),
        (name = "Internal", description = "Service to service (X-Service-Key): API keys and credentials of any customer, named by customerId"),
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
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "metrics.bearer_token, required by GET /metrics only when configured",
                    ))
                    .build(),
            ),
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

/// Operations that never touch storage, so never answer 503: `(method, path)`.
pub const STORAGE_FREE: [(&str, &str); 3] = [
    ("get", "/health"),
    ("get", "/metrics"),
    ("get", "/v1/customer/api-keys/scopes"),
];

/// Paths that speak their own protocol and answer HTTP 200 to everything (OpenKJ drops
/// any other reply unread): none of the common error statuses apply.
pub const OWN_PROTOCOL: [&str; 1] = ["/openkj/api"];

/// The names of the shared responses in `components.responses`.
pub mod responses {
    /// 400 `validation_error`: any request can hold U+0000 in its path or query.
    pub const INVALID_TEXT: &str = "InvalidInput";
    /// 413 `payload_too_large`.
    pub const PAYLOAD_TOO_LARGE: &str = "PayloadTooLarge";
    /// 429 `rate_limited` after too many failed key verifications from one address.
    pub const FAILED_VERIFICATIONS: &str = "TooManyFailedVerifications";
    /// 500 `internal_error`.
    pub const INTERNAL_ERROR: &str = "InternalError";
    /// 503 `service_unavailable` from storage.
    pub const SERVICE_UNAVAILABLE: &str = "ServiceUnavailable";
    /// 405 `method_not_allowed`: no operation answers it, every path does for the
    /// methods it does not list.
    pub const METHOD_NOT_ALLOWED: &str = "MethodNotAllowed";
}

/// Adds what every operation shares, after all route modules are merged:
///
/// - 400 `validation_error` on every operation: U+0000 in the path or the query is
///   refused on every route (SPEC §2, `boundary::screen`);
/// - 500 `internal_error` on every operation (a bug, an unexpected storage failure);
/// - 503 `service_unavailable` on every operation that reaches storage (all but
///   [`STORAGE_FREE`]): the database is down, slow or out of connections;
/// - 413 `payload_too_large` on every operation that takes a body;
/// - 429 `rate_limited` on every operation that verifies an `X-API-Key`: failed
///   verifications are budgeted per client address (SPEC §7);
/// - `Retry-After` on every 429, `WWW-Authenticate` on every 401 of a bearer operation,
///   `X-Request-Id` on every response.
///
/// Paths in [`OWN_PROTOCOL`] only get `X-Request-Id`. What an operation declares itself
/// (a more specific 429 or 503) is kept.
#[derive(Debug, Clone, Copy)]
pub struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, response) in shared_responses() {
            components
                .responses
                .insert(name.to_owned(), RefOr::T(response));
        }
        for (path, item) in &mut openapi.paths.paths {
            let own_protocol = OWN_PROTOCOL.contains(&path.as_str());
            for (method, operation) in operations_mut(item) {
                if !own_protocol {
                    add_common_statuses(method, path, operation);
                }
                add_headers(operation);
            }
        }
    }
}

/// How every operation reads its input, where the derived description says otherwise:
///
/// - a request body that may be left out is "absent or the object", never `null`
///   (`OptionalJsonBody` refuses a JSON `null` like any other non-object);
/// - every optional query parameter may be sent empty (`?page=&active=`, as HTML forms
///   send unfilled fields), which reads as leaving it out: `allowEmptyValue`.
#[derive(Debug, Clone, Copy)]
pub struct RequestConventions;

impl Modify for RequestConventions {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        for item in openapi.paths.paths.values_mut() {
            for (_, operation) in operations_mut(item) {
                optional_body_is_absent_not_null(operation.request_body.as_mut());
                for parameter in operation.parameters.iter_mut().flatten() {
                    if parameter.parameter_in == ParameterIn::Query
                        && parameter.required == Required::False
                    {
                        // utoipa has no field for it (it is deprecated in OpenAPI 3.1, and
                        // still the way to say it); extensions are written as they are.
                        parameter
                            .extensions
                            .get_or_insert_with(Default::default)
                            .insert("allowEmptyValue".to_owned(), serde_json::Value::Bool(true));
                    }
                }
            }
        }
    }
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("options", item.options.as_mut()),
        ("head", item.head.as_mut()),
        ("patch", item.patch.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|operation| (method, operation)))
}

fn add_common_statuses(method: &str, path: &str, operation: &mut Operation) {
    let mut add = |status: &str, name: &str| {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    };
    add("400", responses::INVALID_TEXT);
    add("500", responses::INTERNAL_ERROR);
    if !STORAGE_FREE.contains(&(method, path)) {
        add("503", responses::SERVICE_UNAVAILABLE);
    }
    if operation.request_body.is_some() {
        operation
            .responses
            .responses
            .entry("413".to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(responses::PAYLOAD_TOO_LARGE)));
    }
    if requires(operation, "api_key") {
        operation
            .responses
            .responses
            .entry("429".to_owned())
            .or_insert_with(|| {
                RefOr::Ref(Ref::from_response_name(responses::FAILED_VERIFICATIONS))
            });
    }
}

/// Whether `operation` names the security scheme `scheme`.
fn requires(operation: &Operation, scheme: &str) -> bool {
    operation.security.iter().flatten().any(|requirement| {
        serde_json::to_value(requirement)
            .ok()
            .is_some_and(|value| value.get(scheme).is_some())
    })
}

fn add_headers(operation: &mut Operation) {
    let bearer = requires(operation, "bearer");
    let metrics_token = requires(operation, "metrics_token");
    for (status, response) in &mut operation.responses.responses {
        let RefOr::T(response) = response else {
            continue;
        };
        response
            .headers
            .entry(REQUEST_ID.to_owned())
            .or_insert_with(request_id_header);
        if status == "429" {
            response
                .headers
                .entry(RETRY_AFTER.to_owned())
                .or_insert_with(retry_after_header);
        }
        if status == "401" && bearer {
            response
                .headers
                .entry("WWW-Authenticate".to_owned())
                .or_insert_with(|| {
                    string_header("`Bearer`: the customer API wants a bearer token")
                });
        }
        if status == "401" && metrics_token {
            response
                .headers
                .entry("WWW-Authenticate".to_owned())
                .or_insert_with(|| string_header("`Bearer`: metrics.bearer_token is wanted"));
        }
    }
}

/// `Option<T>` as a request body makes utoipa write `oneOf: [null, T]` for a body that is
/// not required; the server reads "absent" as the default and refuses a JSON `null`.
fn optional_body_is_absent_not_null(body: Option<&mut RequestBody>) {
    let Some(body) = body else {
        return;
    };
    if matches!(body.required, Some(Required::True)) {
        return;
    }
    for content in body.content.values_mut() {
        let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema else {
            continue;
        };
        let mut not_null = one_of.items.iter().filter(|item| !is_null(item));
        if let (Some(only), None) = (not_null.next(), not_null.next()) {
            content.schema = Some(only.clone());
        }
    }
}

fn is_null(schema: &RefOr<Schema>) -> bool {
    matches!(schema, RefOr::T(Schema::Object(object)) if object.schema_type == SchemaType::Type(Type::Null))
}

const REQUEST_ID: &str = "X-Request-Id";
const RETRY_AFTER: &str = "Retry-After";

fn string_header(description: &str) -> Header {
    HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::String))
        .description(Some(description))
        .build()
}

fn request_id_header() -> Header {
    string_header("The request's id (the caller's own when sane, else a new UUID), as logged")
}

fn retry_after_header() -> Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
        )
        .description(Some("Seconds until the budget allows another request."))
        .build()
}

fn problem(description: &str) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .header(REQUEST_ID, request_id_header())
}

fn shared_responses() -> [(&'static str, Response); 6] {
    [
        (
            responses::INVALID_TEXT,
            problem(
                "A path segment, query parameter, body field or token claim holds U+0000, \
                 or another input rule is broken; the detail names the field \
                 (validation_error, SPEC §2)",
            )
            .build(),
        ),
        (
            responses::PAYLOAD_TOO_LARGE,
            problem("The body is larger than server.max_body_bytes (payload_too_large)").build(),
        ),
        (
            responses::FAILED_VERIFICATIONS,
            problem(
                "Too many failed key verifications from this client address \
                 (auth.failed_per_minute); see Retry-After (rate_limited)",
            )
            .header(RETRY_AFTER, retry_after_header())
            .build(),
        ),
        (
            responses::INTERNAL_ERROR,
            problem(
                "A bug or an unexpected storage failure; the detail is generic, the cause is \
                 logged with the request id (internal_error)",
            )
            .build(),
        ),
        (
            responses::SERVICE_UNAVAILABLE,
            problem(
                "The database cannot be reached or did not answer in time; try again later \
                 (service_unavailable)",
            )
            .build(),
        ),
        (
            responses::METHOD_NOT_ALLOWED,
            problem(
                "Any method a path does not list; Allow names the ones it does \
                 (method_not_allowed)",
            )
            .header(
                "Allow",
                string_header("The methods the path answers, e.g. `GET, POST`"),
            )
            .build(),
        ),
    ]
}

/// The whole document: one `merge` per route module, then [`CommonResponses`] and
/// [`RequestConventions`].
pub fn document() -> OpenApiDocument {
    let mut doc = RootDoc::openapi();
    doc.merge(crate::customer::api_keys::ApiKeysDoc::openapi());
    doc.merge(crate::customer::usage::UsageDoc::openapi());
    doc.merge(crate::customer::alerts::AlertsDoc::openapi());
    doc.merge(crate::customer::audit_events::AuditEventsDoc::openapi());
    doc.merge(crate::validate::ValidateDoc::openapi());
    doc.merge(crate::customer::service_keys::CustomerServiceKeysDoc::openapi());
    doc.merge(crate::admin::service_keys::AdminServiceKeysDoc::openapi());
    doc.merge(crate::vault::RetrievalDoc::openapi());
    doc.merge(crate::internal::InternalDoc::openapi());
    doc.merge(crate::health::HealthDoc::openapi());
    doc.merge(crate::metrics::MetricsDoc::openapi());
    doc.merge(crate::customer::venues::VenuesDoc::openapi());
    doc.merge(crate::integration::IntegrationDoc::openapi());
    doc.merge(crate::public::PublicDoc::openapi());
    doc.merge(crate::openkj::OpenKjDoc::openapi());
    CommonResponses.modify(&mut doc);
    RequestConventions.modify(&mut doc);
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
    use serde_json::Value;

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

    /// Every operation as `(method, path, operation)`.
    fn operations(json: &Value) -> Vec<(String, String, Value)> {
        let mut found = Vec::new();
        for (path, item) in json["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                found.push((method.clone(), path.clone(), operation.clone()));
            }
        }
        found
    }

    /// A response, its `$ref` followed.
    fn resolve<'a>(json: &'a Value, response: &'a Value) -> &'a Value {
        match response["$ref"].as_str() {
            Some(reference) => {
                let name = reference.trim_start_matches("#/components/responses/");
                &json["components"]["responses"][name]
            }
            None => response,
        }
    }

    fn secured_by(operation: &Value, scheme: &str) -> bool {
        operation["security"].as_array().is_some_and(|all| {
            all.iter()
                .any(|requirement| requirement.get(scheme).is_some())
        })
    }

    #[test]
    fn every_operation_lists_the_statuses_every_handler_can_answer() {
        let json = serde_json::to_value(document()).unwrap();
        let all = operations(&json);
        assert!(all.len() >= 39, "{} operations", all.len());

        for (method, path, operation) in &all {
            let statuses = operation["responses"].as_object().unwrap();
            let has = |status: &str| statuses.contains_key(status);
            let label = format!("{} {path}", method.to_uppercase());
            if OWN_PROTOCOL.contains(&path.as_str()) {
                assert_eq!(statuses.keys().collect::<Vec<_>>(), ["200"], "{label}");
                continue;
            }
            assert!(has("500"), "{label} lacks 500");
            assert!(
                has("400"),
                "{label} lacks 400 (U+0000 in its path or query)"
            );
            let storage_free = STORAGE_FREE.contains(&(method.as_str(), path.as_str()));
            assert_eq!(has("503"), !storage_free, "{label}: 503");
            if operation.get("requestBody").is_some() {
                assert!(has("413"), "{label} takes a body but lacks 413");
            }
            if secured_by(operation, "api_key") {
                assert!(has("429"), "{label} verifies a key but lacks 429");
            }
            for (status, response) in statuses {
                let response = resolve(&json, response);
                assert!(
                    response["headers"][REQUEST_ID].is_object(),
                    "{label} {status} lacks X-Request-Id"
                );
                if status == "429" {
                    assert!(
                        response["headers"][RETRY_AFTER].is_object(),
                        "{label} 429 lacks Retry-After"
                    );
                }
                if status == "401" && secured_by(operation, "bearer") {
                    assert!(
                        response["headers"]["WWW-Authenticate"].is_object(),
                        "{label} 401 lacks WWW-Authenticate"
                    );
                }
                if status.starts_with(['4', '5']) {
                    assert!(
                        response["content"][PROBLEM_JSON].is_object(),
                        "{label} {status} is not problem+json"
                    );
                }
            }
        }
    }

    #[test]
    fn the_shared_responses_are_counted_where_the_issue_found_them_missing() {
        let json = serde_json::to_value(document()).unwrap();
        let all = operations(&json);
        let with = |status: &str| {
            all.iter()
                .filter(|(_, _, operation)| operation["responses"].get(status).is_some())
                .count()
        };

        // 39 operations: all but OpenKJ answer 500; all but OpenKJ and the two that never
        // touch storage answer 503; every body-taking one but OpenKJ answers 413.
        assert_eq!(with("500"), all.len() - OWN_PROTOCOL.len());
        assert_eq!(
            with("503"),
            all.len() - OWN_PROTOCOL.len() - STORAGE_FREE.len()
        );
        let with_body = all
            .iter()
            .filter(|(_, path, operation)| {
                operation.get("requestBody").is_some() && !OWN_PROTOCOL.contains(&path.as_str())
            })
            .count();
        assert_eq!(with("413"), with_body);
        assert_eq!(with_body, 12);
    }

    #[test]
    fn method_not_allowed_is_described_once_with_allow() {
        let json = serde_json::to_value(document()).unwrap();
        let response = &json["components"]["responses"][responses::METHOD_NOT_ALLOWED];

        assert!(response["headers"]["Allow"].is_object());
        assert!(
            json["info"]["description"]
                .as_str()
                .unwrap()
                .contains("405")
        );
    }

    #[test]
    fn the_description_says_how_each_part_is_authenticated() {
        let json = serde_json::to_value(document()).unwrap();
        let description = json["info"]["description"].as_str().unwrap();

        for part in [
            "/v1/customer/",
            "Authorization: Bearer",
            "keyward token --customer",
            "X-API-Key",
            "/v1/public/",
            "/openkj/api",
            "/v1/customer/service-keys/{provider}",
            "/v1/validate/keys/{provider}",
            "/v1/customer/usage",
            "/v1/customer/alerts",
            "/v1/customer/audit-events",
            "/internal/",
            "X-Service-Key",
            "/metrics",
        ] {
            assert!(description.contains(part), "{part} missing: {description}");
        }
        // Every path prefix the description names exists.
        let paths = json["paths"].as_object().unwrap();
        for prefix in [
            "/v1/customer/",
            "/v1/public/",
            "/internal/",
            "/v1/admin/service-keys",
        ] {
            assert!(
                paths.keys().any(|path| path.starts_with(prefix)),
                "{prefix}"
            );
        }
    }

    #[test]
    fn an_optional_body_is_absent_or_an_object_never_null() {
        let json = serde_json::to_value(document()).unwrap();
        let body = &json["paths"]["/v1/customer/api-keys/{id}/rotate"]["post"]["requestBody"];

        assert_ne!(body["required"], true);
        assert_eq!(
            body["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/RotateApiKeyRequest"
        );
    }

    #[test]
    fn every_optional_query_parameter_may_be_sent_empty() {
        let json = serde_json::to_value(document()).unwrap();
        let mut seen = 0;
        for (method, path, operation) in operations(&json) {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let empty_allowed = parameter["allowEmptyValue"] == true;
                let optional_query = parameter["in"] == "query" && parameter["required"] != true;
                assert_eq!(empty_allowed, optional_query, "{method} {path} {parameter}");
                seen += usize::from(empty_allowed);
            }
        }
        assert!(seen >= 20, "{seen}");
    }

    #[test]
    fn the_request_id_header_is_the_one_the_middleware_sets() {
        assert!(REQUEST_ID.eq_ignore_ascii_case(crate::request_id::REQUEST_ID_HEADER.as_str()));
    }

    #[test]
    fn page_and_limit_are_bounded_like_the_server_bounds_them() {
        let json = serde_json::to_value(document()).unwrap();
        let mut seen = 0;
        for (method, path, operation) in operations(&json) {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let schema = &parameter["schema"];
                match parameter["name"].as_str() {
                    Some("page") => {
                        assert_eq!(schema["minimum"], 1, "{method} {path}");
                        assert_eq!(schema["maximum"], i64::from(i32::MAX), "{method} {path}");
                        seen += 1;
                    }
                    Some("limit") => {
                        assert_eq!(schema["minimum"], 1, "{method} {path}");
                        assert_eq!(schema["maximum"], 100, "{method} {path}");
                    }
                    _ => {}
                }
            }
        }
        assert!(seen >= 7, "{seen} page parameters");
    }

    #[test]
    fn operation_ids_are_unique() {
        let json = serde_json::to_value(document()).unwrap();
        let mut seen = std::collections::HashMap::new();
        for (method, path, operation) in operations(&json) {
            let id = operation["operationId"].as_str().unwrap().to_owned();
            if let Some(first) = seen.insert(id.clone(), format!("{method} {path}")) {
                panic!("operationId {id} of {method} {path} is also {first}'s");
            }
        }
    }

    #[test]
    fn every_provider_input_has_the_slug_pattern_of_the_domain() {
        let json = serde_json::to_value(document()).unwrap();
        let mut seen = 0;
        for (method, path, operation) in operations(&json) {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["name"] == "provider" {
                    assert_eq!(
                        parameter["schema"]["pattern"],
                        crate::schemas::PROVIDER_PATTERN,
                        "{method} {path}"
                    );
                    seen += 1;
                }
            }
        }
        for body in [
            "CreateServiceCredentialRequest",
            "InternalPutCredentialRequest",
        ] {
            assert_eq!(
                json["components"]["schemas"][body]["properties"]["provider"]["pattern"],
                crate::schemas::PROVIDER_PATTERN,
                "{body}"
            );
        }
        assert_eq!(seen, 9);
    }

    fn nullable(schema: &Value) -> bool {
        let null_type = |schema: &Value| match &schema["type"] {
            Value::Array(types) => types.contains(&Value::from("null")),
            other => other == "null",
        };
        null_type(schema)
            || ["oneOf", "anyOf"].iter().any(|key| {
                schema[*key]
                    .as_array()
                    .is_some_and(|items| items.iter().any(null_type))
            })
    }

    #[test]
    fn patch_fields_that_refuse_null_are_not_nullable() {
        let json = serde_json::to_value(document()).unwrap();
        let schemas = &json["components"]["schemas"];
        for (schema, field) in [
            ("UpdateApiKeyRequest", "name"),
            ("UpdateApiKeyRequest", "active"),
            ("UpdateApiKeyRequest", "scopes"),
            ("UpdateVenueRequest", "name"),
            ("UpdateVenueRequest", "urlName"),
            ("UpdateVenueRequest", "acceptingRequests"),
            ("UpdateVenueRequest", "systemId"),
            ("UpdateServiceCredentialRequest", "name"),
            ("UpdateServiceCredentialRequest", "secret"),
            ("UpdateServiceCredentialRequest", "active"),
        ] {
            let property = &schemas[schema]["properties"][field];
            assert!(property.is_object(), "{schema}.{field}");
            assert!(
                !nullable(property),
                "{schema}.{field} is nullable: {property}"
            );
            assert!(
                !schemas[schema]["required"]
                    .as_array()
                    .is_some_and(|required| required.contains(&Value::from(field))),
                "{schema}.{field} is required"
            );
        }
        for (schema, field) in [
            ("UpdateApiKeyRequest", "description"),
            ("UpdateServiceCredentialRequest", "description"),
        ] {
            assert!(
                nullable(&schemas[schema]["properties"][field]),
                "{schema}.{field} clears with null"
            );
        }
    }

    #[test]
    fn key_scopes_are_the_known_scopes() {
        let json = serde_json::to_value(document()).unwrap();
        let schemas = &json["components"]["schemas"];

        for schema in ["CreateApiKeyRequest", "UpdateApiKeyRequest"] {
            assert_eq!(
                schemas[schema]["properties"]["scopes"]["items"]["$ref"],
                "#/components/schemas/Scope",
                "{schema}"
            );
        }
        assert_eq!(schemas["Scope"]["enum"].as_array().unwrap().len(), 8);
    }

    #[test]
    fn an_openkj_reply_may_lack_command() {
        let json = serde_json::to_value(document()).unwrap();
        let reply = &json["components"]["schemas"]["OpenKjReply"];

        assert_eq!(reply["required"], serde_json::json!(["error"]));
    }
}
