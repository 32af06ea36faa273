//! Authentication and authorisation at the edge: bearer JWTs for the customer and admin
//! APIs, `X-API-Key` for integrations.

pub mod api_key;
pub mod jwt;
pub mod permissions;
pub mod principal;

pub use api_key::{
    API_KEY_HEADER, ApiKeyAuth, RequiredScope, ScopedApiKey, scopes, verify_request,
};
pub use jwt::{
    ActiveContext, Audience, Claims, JwtSecret, JwtSettings, JwtSigner, JwtVerifier, TokenRejected,
};
pub use permissions::Permission;
pub use principal::{AdminPrincipal, CustomerPrincipal, Principal};
