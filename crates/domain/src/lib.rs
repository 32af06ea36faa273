//! keyward's domain: models, value types, ports and the services that hold the rules.
//!
//! Nothing here performs I/O or knows about HTTP or SQL; adapters implement the traits
//! in [`ports`] and the binary wires them together.

pub mod alerts;
pub mod audit;
pub mod ids;
pub mod keys;
pub mod openkj;
pub mod ports;
pub mod requests;
pub mod scope;
pub mod serial;
pub mod services;
pub mod songbook;
pub mod text;
pub mod usage;
pub mod vault;
pub mod venues;

#[cfg(feature = "testing")]
pub mod testing;

pub use ids::{AlertId, AuditEventId, CredentialId, CustomerId, KeyId, VenueId};
pub use scope::{Scope, ScopeSet, ScopeSetError};
