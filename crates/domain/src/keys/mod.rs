//! API keys: the secret string and the stored record.

pub mod model;
pub mod secret;

pub use model::{
    ApiKey, ApiKeyParts, Description, InvalidKeyVersion, KeyName, KeyVersion, RetiredSecret,
    SecretMatch,
};
pub use secret::{DisplayPrefix, KeyHash, KeyPrefix, MalformedKey, PlainKey};
