//! Identifiers of the domain. Each is a distinct type so a key id can never be passed
//! where a customer id is expected.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID (from storage, a token or a path).
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// A fresh, time-ordered (v7) identifier.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

uuid_id!(
    /// A customer (tenant): a karaoke business. Every resource belongs to exactly one.
    CustomerId
);
uuid_id!(
    /// An API key's public identifier (never secret).
    KeyId
);
uuid_id!(
    /// A venue's stable identifier in the customer API (OpenKJ sees an `OpenKjVenueId`).
    VenueId
);
uuid_id!(
    /// A stored third-party service credential's public identifier (never secret).
    CredentialId
);
uuid_id!(
    /// A stored suspicious-activity alert (SPEC §12).
    AlertId
);
uuid_id!(
    /// A stored audit event (SPEC §12).
    AuditEventId
);
