//! The storage contract suite: scenario functions over the ports, and macros that stamp
//! them out as `#[tokio::test]`s for an adapter. Every adapter (memory, SQLite,
//! PostgreSQL) runs the same scenarios, which is what proves them interchangeable.
//!
//! Usage in an adapter's tests (the crate needs `tokio` as a dev-dependency):
//!
//! ```ignore
//! async fn setup() -> Option<(std::sync::Arc<dyn ApiKeyRepository>, impl Sized)> { … }
//! keyward_domain::api_key_repository_contract!(setup);
//! // and, with `setup` returning `Arc<dyn CredentialRepository>`:
//! keyward_domain::credential_repository_contract!(setup);
//! // and the service-level races on one key (`key_races`), with the first `setup`:
//! keyward_domain::api_key_write_races!(setup);
//! // and, with `setup` returning `Arc<usage::UsageFixture>` (both ports of one store):
//! keyward_domain::usage_repository_contract!(setup);
//! // and, with `setup` returning `Arc<alerts::AlertFixture>` (both ports of one store):
//! keyward_domain::alert_repository_contract!(setup);
//! // and, with `setup` returning `Arc<client_addresses::ClientAddressFixture>`:
//! keyward_domain::client_address_contract!(setup);
//! // and, with `setup` returning `Arc<audit::AuditFixture>` (both ports of one store):
//! keyward_domain::audit_log_contract!(setup);
//! // and, with `setup` returning `Arc<sign_in_links::SignInLinkFixture>` (two handles on
//! // one database, as two instances have):
//! keyward_domain::sign_in_link_contract!(setup);
//! ```
//!
//! `setup` returns `None` to skip (e.g. no PostgreSQL reachable outside CI); the guard
//! (second element) lives until the scenario ends, for temp files or schemas.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod changes;
pub mod client_addresses;
pub mod credentials;
pub mod fixtures;
pub mod key_races;
pub mod recorded_audit;
pub mod requests;
pub mod serial;
pub mod sign_in_links;
pub mod songbook;
pub mod usage;
pub mod venues;

use time::OffsetDateTime;
use time::macros::datetime;

/// The instant most scenarios treat as "now": whole seconds, so every backend stores it
/// exactly.
pub const NOW: OffsetDateTime = datetime!(2026-06-01 12:00:00 UTC);

#[doc(hidden)]
#[macro_export]
macro_rules! __stamp_contract {
    ($setup:path, $port:ident; $($scenario:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                let Some((store, _guard)) = $setup().await else {
                    return;
                };
                $crate::testing::$port::$scenario(&*store).await;
            }
        )*
    };
}
