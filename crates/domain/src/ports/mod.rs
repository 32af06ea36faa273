//! Ports: what the domain needs from the outside world, as traits that adapters
//! implement. Each method's `# Errors` section is the contract the contract tests check.

pub mod api_keys;
pub mod cipher;
pub mod credentials;
pub mod storage;
pub mod system;

pub use api_keys::{ActiveKeyCap, ApiKeyRepository, KeyFilter, KeyWriteError};
pub use cipher::{AssociatedData, Cipher, CipherError};
pub use credentials::{CredentialFilter, CredentialRepository, SecretWrite};
pub use storage::{Page, PageRequest, PageRequestError, StorageError};
pub use system::{
    Clock, OsSecretGenerator, RandomUnavailable, SecretGenerator, SystemClock, UsageRecorder,
    truncate_to_micros,
};

#[cfg(feature = "mocks")]
pub use api_keys::MockApiKeyRepository;
#[cfg(feature = "mocks")]
pub use cipher::MockCipher;
#[cfg(feature = "mocks")]
pub use credentials::MockCredentialRepository;
#[cfg(feature = "mocks")]
pub use system::{MockClock, MockSecretGenerator, MockUsageRecorder};
