//! Services: the rules of the domain, written once, over the ports.

pub mod api_keys;

pub use api_keys::{
    ApiKeyError, ApiKeyService, GracePeriod, InvalidGracePeriod, IssuedKey, KeyChanges, KeyPolicy,
    MAX_GRACE, NewKey, VerifiedKey, VerifyError,
};
