//! `GET /v1/validate` (SPEC §7): lets an integration check its key, and optionally one
//! scope, without doing anything else.

use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, web};
use keyward_domain::Scope;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::verify_request;
use crate::error::{ApiError, Problem};
use crate::schemas::ScopeName;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/validate").route(web::get().to(validate_api_key)));
}

#[derive(Debug, OpenApi)]
#[openapi(
    paths(validate_api_key),
    components(schemas(KeyValidationResponse, ScopeName, Problem))
)]
pub struct ValidateDoc;

/// Query of `GET /v1/validate`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ValidateQuery {
    /// A scope the key must allow (a `:write` scope allows the matching `:read`); empty
    /// for none.
    #[param(value_type = Option<ScopeName>, example = "requests:read")]
    pub scope: Option<String>,
}

/// What a valid key is allowed to do.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyValidationResponse {
    /// Always `true`; an invalid key gets a 401 instead.
    pub valid: bool,
    pub key_id: Uuid,
    pub customer_id: Uuid,
    #[schema(value_type = Vec<ScopeName>, example = json!(["requests:write", "songdb:read"]))]
    pub scopes: Vec<&'static str>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// Check an API key (and optionally a scope).
#[utoipa::path(
    get,
    path = "/v1/validate",
    tag = "Verification",
    params(ValidateQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The key is valid", body = KeyValidationResponse),
        (status = 400, description = "Unknown scope", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "API Key Required, or Invalid API Key (the same for unknown, revoked, expired and malformed keys)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Insufficient Scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn validate_api_key(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    // A bad query (an unknown scope, a repeated parameter) is the caller's mistake (400),
    // but only once the key is known to be good: a missing or bad key answers 401
    // whatever the query says. The key's use is counted with the scope check's outcome
    // (SPEC §12); with a query that cannot be read, as a plain verification.
    let scope = web::Query::<ValidateQuery>::from_query(req.query_string())
        .map_err(crate::server::query_problem)
        .and_then(
            |query| match query.into_inner().scope.filter(|name| !name.is_empty()) {
                None => Ok(None),
                Some(name) => name.parse::<Scope>().map(Some).map_err(|_| {
                    ApiError::invalid_field("scope", format!("unknown scope '{name}'"))
                }),
            },
        );
    let key = verify_request(&req, scope.as_ref().ok().copied().flatten()).await?;
    scope?;
    let reply = KeyValidationResponse {
        valid: true,
        key_id: key.key_id.as_uuid(),
        customer_id: key.customer_id.as_uuid(),
        scopes: key.scopes.names(),
        expires_at: key.expires_at.map(|at| at.to_offset(time::UtcOffset::UTC)),
    };
    let body = reply.to_json().map_err(|err| {
        tracing::error!(error = %err, "the key's expiry has no RFC 3339 form");
        ApiError::internal()
    })?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body))
}

impl KeyValidationResponse {
    /// The reply body: byte for byte what `serde_json::to_string` makes of the derived
    /// `Serialize` (the OpenAPI schema and the tests use that), written directly because
    /// this is the hottest reply of the service: every field is ASCII that needs no
    /// escaping (UUIDs, scope names, an RFC 3339 instant), so `serde_json`'s escaping scan
    /// and its intermediate buffers are skipped.
    ///
    /// # Errors
    /// When `expires_at` has no RFC 3339 form (a year outside 0000–9999), exactly when
    /// the derived `Serialize` fails too; never answered as `null`, which would read as
    /// "never expires".
    fn to_json(&self) -> Result<String, time::error::Format> {
        let mut out = String::with_capacity(192);
        out.push_str(if self.valid {
            r#"{"valid":true,"keyId":""#
        } else {
            r#"{"valid":false,"keyId":""#
        });
        out.push_str(
            self.key_id
                .hyphenated()
                .encode_lower(&mut Uuid::encode_buffer()),
        );
        out.push_str(r#"","customerId":""#);
        out.push_str(
            self.customer_id
                .hyphenated()
                .encode_lower(&mut Uuid::encode_buffer()),
        );
        out.push_str(r#"","scopes":["#);
        for (n, scope) in self.scopes.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(scope);
            out.push('"');
        }
        out.push_str(r#"],"expiresAt":"#);
        match self.expires_at {
            Some(at) => {
                out.push('"');
                out.push_str(&at.format(&Rfc3339)?);
                out.push('"');
            }
            None => out.push_str("null"),
        }
        out.push('}');
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use keyward_domain::ScopeSet;
    use time::macros::datetime;

    use super::*;

    fn reply(
        expires_at: Option<OffsetDateTime>,
        scopes: Vec<&'static str>,
    ) -> KeyValidationResponse {
        KeyValidationResponse {
            valid: true,
            key_id: Uuid::now_v7(),
            customer_id: Uuid::new_v4(),
            scopes,
            expires_at,
        }
    }

    #[test]
    fn the_written_body_is_what_serde_makes_of_the_schema_type() {
        let all = ScopeSet::of(&Scope::ALL).unwrap().names();
        for case in [
            reply(None, all.clone()),
            reply(None, Vec::new()),
            reply(
                Some(datetime!(2027-03-01 12:30:05 UTC)),
                vec!["requests:read"],
            ),
            reply(
                Some(datetime!(2027-03-01 12:30:05.123456789 UTC)),
                all.clone(),
            ),
        ] {
            assert_eq!(
                case.to_json().unwrap(),
                serde_json::to_string(&case).unwrap()
            );
        }
    }

    #[test]
    fn an_expiry_without_an_rfc3339_form_is_an_error_not_null() {
        let case = reply(
            Some(datetime!(-0001-06-01 00:00 UTC)),
            vec!["requests:read"],
        );

        assert!(case.to_json().is_err());
        assert!(serde_json::to_string(&case).is_err());
    }
}
