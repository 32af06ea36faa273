//! Ports: what the domain needs from the outside world, as traits that adapters
//! implement. Each method's `# Errors` section is the contract the contract tests check.

pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod changes;
pub mod cipher;
pub mod client_addresses;
pub mod credentials;
pub mod requests;
pub mod serial;
pub mod sign_in_links;
pub mod songbook;
pub mod storage;
pub mod system;
pub mod usage;
pub mod venues;

pub use alerts::AlertRepository;
pub use api_keys::{ActiveKeyCap, ApiKeyRepository, KeyFilter, KeyWriteError, LastUseMoved};
pub use audit::AuditLog;
pub use changes::{Change, ChangeFeed, ChangeSink, ChangeSubscription};
pub use cipher::{AssociatedData, Cipher, CipherError};
pub use client_addresses::{
    ClientAddressRepository, ClientSighting, MAX_ADDRESSES_PER_KEY, NewClientAddress,
};
pub use credentials::{CredentialFilter, CredentialRepository, SecretWrite};
pub use requests::{AddRequestError, RequestFilter, RequestRepository};
pub use serial::{OpenKjStore, SerialRepository};
pub use sign_in_links::{NewSignInLink, RedeemedSignInLink, SignInLinkRepository};
pub use songbook::SongBookRepository;
pub use storage::{
    FIRST_PAGE, MAX_PAGE, MAX_PAGE_LIMIT, Page, PageRequest, PageRequestError, StorageError,
};
pub use system::{
    Clock, DetachedTask, InlineTasks, OsSecretGenerator, RandomUnavailable, SecretGenerator,
    SystemClock, TaskRunner, UsageRecorder, truncate_to_micros,
};
pub use usage::UsageRepository;
pub use venues::{NewVenue, VenueRepository, VenueWriteError};

#[cfg(feature = "mocks")]
pub use alerts::MockAlertRepository;
#[cfg(feature = "mocks")]
pub use api_keys::MockApiKeyRepository;
#[cfg(feature = "mocks")]
pub use audit::MockAuditLog;
#[cfg(feature = "mocks")]
pub use cipher::MockCipher;
#[cfg(feature = "mocks")]
pub use client_addresses::MockClientAddressRepository;
#[cfg(feature = "mocks")]
pub use credentials::MockCredentialRepository;
#[cfg(feature = "mocks")]
pub use requests::MockRequestRepository;
#[cfg(feature = "mocks")]
pub use serial::MockSerialRepository;
#[cfg(feature = "mocks")]
pub use sign_in_links::MockSignInLinkRepository;
#[cfg(feature = "mocks")]
pub use songbook::MockSongBookRepository;
#[cfg(feature = "mocks")]
pub use system::{MockClock, MockSecretGenerator, MockUsageRecorder};
#[cfg(feature = "mocks")]
pub use usage::MockUsageRepository;
#[cfg(feature = "mocks")]
pub use venues::MockVenueRepository;
