//! Customer-API permissions (SPEC §3) as types, so a handler's signature states what it
//! requires: `CustomerPrincipal<ApiKeysWrite>`.

/// A permission a JWT grants in its `permissions` claim.
pub trait Permission: 'static {
    /// The claim value, e.g. `api_keys:read`.
    const NAME: &'static str;
}

macro_rules! permissions {
    ($($(#[$meta:meta])* $name:ident => $value:literal),* $(,)?) => {
        $(
            $(#[$meta])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name;

            impl Permission for $name {
                const NAME: &'static str = $value;
            }
        )*

        /// Every permission name, in the order of SPEC §3.
        pub const ALL: &[&str] = &[$($value),*];
    };
}

permissions! {
    /// List and read API keys.
    ApiKeysRead => "api_keys:read",
    /// Create, update, rotate and delete API keys.
    ApiKeysWrite => "api_keys:write",
    /// Revoke API keys.
    ApiKeysRevoke => "api_keys:revoke",
    /// Read venues and their requests.
    VenuesRead => "venues:read",
    /// Change venues.
    VenuesWrite => "venues:write",
    /// Read the customer's own service credentials.
    ServiceKeysRead => "service_keys:read",
    /// Change the customer's own service credentials.
    ServiceKeysWrite => "service_keys:write",
    /// Read the customer's audit events (SPEC §12).
    AuditRead => "audit:read",
}
