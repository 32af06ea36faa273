//! Services: the rules of the domain, written once, over the ports.

pub mod api_keys;
pub mod vault;
pub mod vault_rotation;

pub use api_keys::{
    ApiKeyError, ApiKeyService, GracePeriod, InvalidGracePeriod, IssuedKey, KeyChanges, KeyPolicy,
    MAX_GRACE, NewKey, VerifiedKey, VerifyError,
};
pub use vault::{
    CredentialChanges, CustomerCredentialInput, NewCredential, RevealedSecret, Upserted,
    VaultError, VaultService,
};
pub use vault_rotation::{KeyRotation, RotationError, RotationProgress, RotationReport};
