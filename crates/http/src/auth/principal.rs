//! Who is calling the customer and admin APIs, taken from the bearer JWT.
//!
//! Handlers name what they need in their signature: `CustomerPrincipal<ApiKeysRead>`
//! authenticates the caller (401), requires a customer context (403 "Customer Context
//! Required") and the permission (403). `AdminPrincipal` requires an admin context. All
//! of it happens synchronously before the body is read, so a caller without rights never
//! gets as far as a validation error.

use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures::future::{Ready, ready};
use keyward_domain::CustomerId;
use keyward_domain::audit::{Actor, RequestContext};
use uuid::Uuid;

use crate::auth::jwt::{ActiveContext, TokenRejected};
use crate::auth::permissions::Permission;
use crate::boundary;
use crate::client_ip::client_ip;
use crate::error::ApiError;
use crate::state::AppState;

/// Detail of the 403 when a token's context is not a customer.
pub const CUSTOMER_CONTEXT_REQUIRED: &str = "Customer Context Required";
/// Detail of the 403 when a token's context is not an admin.
pub const ADMIN_CONTEXT_REQUIRED: &str = "Admin Context Required";

/// Any caller with a valid token.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The `sub` claim: the user id at the identity service.
    pub subject: String,
    pub context: Option<ActiveContext>,
    pub permissions: BTreeSet<String>,
    /// The client's address ([`client_ip`]).
    pub ip: IpAddr,
}

impl Principal {
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions.contains(permission)
    }

    /// The customer this caller acts for (`activeContext` of type `customer`).
    pub fn customer(&self) -> Option<CustomerId> {
        self.context_of(ActiveContext::CUSTOMER)
            .map(CustomerId::from_uuid)
    }

    /// The audit actor of what this caller changes: the user `sub`, from its address.
    pub fn audit_context(&self) -> RequestContext {
        RequestContext::remote(Actor::user(&self.subject), self.ip)
    }

    fn context_of(&self, kind: &str) -> Option<Uuid> {
        self.context
            .as_ref()
            .filter(|context| context.kind == kind)
            .map(|context| context.id)
    }

    fn authenticate(req: &HttpRequest) -> Result<Self, ApiError> {
        let state = req
            .app_data::<web::Data<AppState>>()
            .ok_or_else(missing_state)?;
        Self::from_token(state, bearer_token(req)?, client_ip(req))
    }

    /// The caller a customer-API JWT names, checked exactly as a bearer token is (the
    /// dashboard's session cookie holds one).
    ///
    /// # Errors
    /// 401 for an expired, not yet valid or invalid token; 400 for a `sub` holding NUL.
    pub(crate) fn from_token(state: &AppState, token: &str, ip: IpAddr) -> Result<Self, ApiError> {
        let claims = state.jwt.verify(token).map_err(|rejected| match rejected {
            TokenRejected::Expired => ApiError::bearer_rejected("bearer token expired"),
            TokenRejected::NotYetValid => ApiError::bearer_rejected("bearer token not yet valid"),
            TokenRejected::Invalid(_) => ApiError::bearer_rejected("bearer token invalid"),
        })?;
        // `sub` is the one claim kept as text (the actor of what the caller changes), so
        // it meets the input rule of SPEC §2 like any body field.
        if claims.sub.contains('\0') {
            return Err(ApiError::invalid_field("sub", boundary::NUL_MESSAGE));
        }
        Ok(Self {
            subject: claims.sub,
            context: claims.active_context,
            permissions: claims.permissions.into_iter().collect(),
            ip,
        })
    }
}

fn missing_state() -> ApiError {
    tracing::error!("AppState is not registered as app data");
    ApiError::internal()
}

fn bearer_token(req: &HttpRequest) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::bearer_rejected("bearer token required"))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::bearer_rejected("bearer token invalid"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or(ApiError::bearer_rejected("bearer token required"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::bearer_rejected("bearer token required"));
    }
    Ok(token.trim())
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::authenticate(req))
    }
}

/// A caller acting for a customer and holding permission `P`.
#[derive(Debug)]
pub struct CustomerPrincipal<P> {
    pub customer: CustomerId,
    pub subject: String,
    /// The client's address ([`client_ip`]).
    pub ip: IpAddr,
    permission: PhantomData<fn() -> P>,
}

impl<P> CustomerPrincipal<P> {
    /// The audit actor of what this caller changes: the user `sub`, from `ip`.
    pub fn context(&self) -> RequestContext {
        RequestContext::remote(Actor::user(&self.subject), self.ip)
    }
}

impl<P: Permission> CustomerPrincipal<P> {
    fn from_principal(principal: Principal) -> Result<Self, ApiError> {
        let customer = principal
            .context_of(ActiveContext::CUSTOMER)
            .ok_or_else(|| ApiError::forbidden(CUSTOMER_CONTEXT_REQUIRED))?;
        if !principal.has_permission(P::NAME) {
            return Err(ApiError::forbidden(format!(
                "Missing permission: {}",
                P::NAME
            )));
        }
        Ok(Self {
            customer: CustomerId::from_uuid(customer),
            subject: principal.subject,
            ip: principal.ip,
            permission: PhantomData,
        })
    }
}

impl<P: Permission> FromRequest for CustomerPrincipal<P> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Principal::authenticate(req).and_then(Self::from_principal))
    }
}

/// A caller acting as a platform administrator (`activeContext.type == "admin"`).
#[derive(Debug, Clone)]
pub struct AdminPrincipal {
    /// The `activeContext.id` of the admin context.
    pub admin_id: Uuid,
    pub subject: String,
    pub permissions: BTreeSet<String>,
    /// The client's address ([`client_ip`]).
    pub ip: IpAddr,
}

impl AdminPrincipal {
    /// The audit actor of what this administrator changes: the user `sub`, from `ip`.
    pub fn context(&self) -> RequestContext {
        RequestContext::remote(Actor::user(&self.subject), self.ip)
    }
}

impl FromRequest for AdminPrincipal {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Principal::authenticate(req).and_then(|principal| {
            let admin_id = principal
                .context_of(ActiveContext::ADMIN)
                .ok_or_else(|| ApiError::forbidden(ADMIN_CONTEXT_REQUIRED))?;
            Ok(Self {
                admin_id,
                subject: principal.subject,
                permissions: principal.permissions,
                ip: principal.ip,
            })
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use actix_web::{App, HttpResponse, test};
    use keyward_domain::ports::{
        MockApiKeyRepository, MockUsageRecorder, OsSecretGenerator, SystemClock,
    };
    use keyward_domain::services::{ApiKeyService, KeyPolicy};

    use super::*;
    use crate::auth::jwt::{Claims, JwtSecret, JwtSettings, JwtSigner};

    const SECRET: &[u8] = b"principal tests secret, 32 bytes!";

    fn state() -> web::Data<AppState> {
        let service = ApiKeyService::new(
            Arc::new(MockApiKeyRepository::new()),
            Arc::new(SystemClock),
            Arc::new(OsSecretGenerator::default()),
            Arc::new(MockUsageRecorder::new()),
            crate::state::memory_audit(),
            KeyPolicy::default(),
        );
        let jwt = JwtSettings {
            secret: JwtSecret::new(SECRET.to_vec()),
            issuer: None,
            audience: None,
            leeway_seconds: crate::auth::jwt::LEEWAY_SECONDS,
        };
        web::Data::new(AppState::new(
            service,
            crate::state::memory_usage(),
            crate::state::memory_audit(),
            crate::state::memory_karaoke(),
            &jwt,
        ))
    }

    fn token(context: ActiveContext) -> String {
        let now = jsonwebtoken::get_current_timestamp();
        JwtSigner::new(&JwtSecret::new(SECRET.to_vec()))
            .sign(&Claims {
                sub: "admin-user".into(),
                exp: now + 60,
                nbf: None,
                iat: Some(now),
                active_context: Some(context),
                permissions: vec![],
                iss: None,
                aud: None,
            })
            .unwrap()
    }

    async fn admin_only(admin: AdminPrincipal) -> HttpResponse {
        HttpResponse::Ok().body(admin.admin_id.to_string())
    }

    async fn call(authorization: Option<String>) -> (u16, String) {
        let app = test::init_service(
            App::new()
                .app_data(state())
                .route("/admin", web::get().to(admin_only)),
        )
        .await;
        let mut request = test::TestRequest::get().uri("/admin");
        if let Some(value) = authorization {
            request = request.insert_header((header::AUTHORIZATION, value));
        }
        let response = test::call_service(&app, request.to_request()).await;
        let status = response.status().as_u16();
        let body = test::read_body(response).await;
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[actix_web::test]
    async fn admin_context_passes_the_admin_extractor() {
        let id = Uuid::new_v4();

        let (status, body) =
            call(Some(format!("Bearer {}", token(ActiveContext::admin(id))))).await;

        assert_eq!((status, body), (200, id.to_string()));
    }

    #[actix_web::test]
    async fn customer_context_is_refused_by_the_admin_extractor() {
        let customer = token(ActiveContext::customer(Uuid::new_v4()));

        let (status, body) = call(Some(format!("Bearer {customer}"))).await;

        assert_eq!(status, 403);
        assert!(body.contains(ADMIN_CONTEXT_REQUIRED), "{body}");
    }

    #[actix_web::test]
    async fn missing_or_non_bearer_authorization_is_401() {
        assert_eq!(call(None).await.0, 401);
        assert_eq!(call(Some("Basic dXNlcjpwYXNz".into())).await.0, 401);
        assert_eq!(call(Some("Bearer ".into())).await.0, 401);
    }
}
