//! The service credentials vault (SPEC §10): third-party secrets (Spotify, Anthropic, …)
//! kept encrypted at rest, owned by the platform or by a customer.

pub mod aes_gcm;
pub mod model;
pub mod sealed;
pub mod secret;

pub use aes_gcm::{AesGcmCipher, InvalidMasterKey, MASTER_KEY_LEN, MasterKey};
pub use model::{
    CredentialDescription, CredentialName, CredentialOwner, CredentialParts, InvalidProvider,
    Provider, ServiceCredential,
};
pub use sealed::{KeyVersion, NONCE_LEN, SealedSecret};
pub use secret::{MAX_SECRET_BYTES, MaskedSecret, SecretText, SecretTextError};
