//! Services: the rules of the domain, written once, over the ports.

pub mod api_keys;
pub mod audit;
pub mod karaoke;
pub mod openkj;
pub mod requests;
pub mod songbook;
pub mod usage;
pub mod vault;
pub mod vault_rotation;
pub mod venues;

pub use api_keys::{
    ApiKeyError, ApiKeyService, GracePeriod, InvalidGracePeriod, IssuedKey, KeyChanges, KeyPolicy,
    MAX_GRACE, MAX_WRITE_ATTEMPTS, NewKey, VerifiedKey, VerifyError,
};
pub use audit::{AUDIT_TARGET, AuditTrail};
pub use karaoke::KaraokeServices;
pub use openkj::{Alert, OpenKjError, OpenKjPolicy, OpenKjService};
pub use requests::{RequestError, RequestService, Submission};
pub use songbook::{AddSongsOutcome, SongBookError, SongBookService, UploadedSong};
pub use usage::{CustomerUsageReport, KeyUsageReport, UsageError, UsageService};
pub use vault::{
    CredentialChanges, CustomerCredentialInput, NewCredential, RevealedSecret, Upserted,
    VaultError, VaultService,
};
pub use vault_rotation::{KeyRotation, RotationError, RotationProgress, RotationReport};
pub use venues::{CreateVenue, VenueChanges, VenueError, VenueService};
