//! Services: the rules of the domain, written once, over the ports.

pub mod api_keys;
pub mod audit;
pub mod karaoke;
pub mod openkj;
pub mod requests;
pub mod sign_in_links;
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
pub use sign_in_links::{
    DEFAULT_SIGN_IN_LINK_TTL, IssuedSignInLink, MAX_SIGN_IN_LINK_TTL, MAX_SIGN_IN_SUBJECT_CHARS,
    MIN_SIGN_IN_LINK_TTL, SIGN_IN_TOKEN_LEN, SIGN_IN_TOKEN_PREFIX, SignInLinkError,
    SignInLinkService, SignInToken,
};
pub use songbook::{AddSongsOutcome, SongBookError, SongBookService, UploadedSong};
pub use usage::{CustomerUsageReport, KeyUsageReport, UsageError, UsageService};
pub use vault::{
    CredentialChanges, CustomerCredentialInput, NewCredential, RevealedSecret, Upserted,
    VaultError, VaultService,
};
pub use vault_rotation::{KeyRotation, RotationError, RotationProgress, RotationReport};
pub use venues::{CreateVenue, VenueChanges, VenueError, VenueService};
