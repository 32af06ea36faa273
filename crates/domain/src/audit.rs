//! Audit events (SPEC §12): who changed which key, venue or service credential, or read a
//! credential's plaintext, from where and when. Stored by the services through the
//! [`AuditLog`](crate::ports::AuditLog) port and listed per customer.
//!
//! What is recorded follows OWASP's Logging Cheat Sheet ("when, where, who, what"):
//! `at`, `ip`, `actor`, `action` + target. `details` says what changed — never a secret:
//! no key material, hash, credential plaintext or token.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::{AuditEventId, CustomerId};

/// The longest actor id stored, in characters; a longer JWT `sub` is cut to it.
pub const MAX_ACTOR_ID_CHARS: usize = 255;

/// What kind of caller made a change (SPEC §12 `actor.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorType {
    /// A person (or their tool) with a customer JWT; the id is the token's `sub`.
    User,
    /// Another program: an integration's API key (the id is the key's id) or an internal
    /// service with `X-Service-Key` (the id is `internal`).
    Service,
    /// keyward itself (the id names the job, e.g. `cleanup`), or an operator's CLI
    /// command on the database (`cli`).
    System,
}

impl ActorType {
    /// Every type, in the order the documentation lists them.
    pub const ALL: [Self; 3] = [Self::User, Self::Service, Self::System];

    /// The wire name: `user`, `service` or `system`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Service => "service",
            Self::System => "system",
        }
    }
}

impl fmt::Display for ActorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an actor type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be one of user, service, system")]
pub struct UnknownActorType;

impl FromStr for ActorType {
    type Err = UnknownActorType;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or(UnknownActorType)
    }
}

/// Who made a change (SPEC §12 `actor`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Actor {
    kind: ActorType,
    id: String,
}

/// The actor id of the internal service API (`X-Service-Key`, SPEC §13).
pub const INTERNAL_SERVICE_ACTOR: &str = "internal";
/// The actor id of the expired-key cleanup (`keyward keys cleanup`).
pub const CLEANUP_ACTOR: &str = "cleanup";
/// The actor id of the key CLI (`keyward keys create | revoke`, SPEC §14).
pub const CLI_ACTOR: &str = "cli";

impl Actor {
    /// An actor of `kind` named `id`, cut to [`MAX_ACTOR_ID_CHARS`] characters. (Stored
    /// ids come back through here too.)
    pub fn new(kind: ActorType, id: impl Into<String>) -> Self {
        let mut id = id.into();
        if let Some((cut, _)) = id.char_indices().nth(MAX_ACTOR_ID_CHARS) {
            id.truncate(cut);
        }
        Self { kind, id }
    }

    /// A person with a customer JWT: its `sub` claim.
    pub fn user(subject: &str) -> Self {
        Self::new(ActorType::User, subject)
    }

    /// An integration authenticated with an API key: the key's id.
    pub fn api_key(key: crate::ids::KeyId) -> Self {
        Self::new(ActorType::Service, key.to_string())
    }

    /// An internal service with `X-Service-Key`.
    pub fn internal_service() -> Self {
        Self::new(ActorType::Service, INTERNAL_SERVICE_ACTOR)
    }

    /// keyward itself, running the job `job` (e.g. [`CLEANUP_ACTOR`]).
    pub fn system(job: &str) -> Self {
        Self::new(ActorType::System, job)
    }

    pub fn kind(&self) -> ActorType {
        self.kind
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Who is asking a service for a change, and from where: what goes into the audit event
/// of that change. Built once per request by the inbound adapter (customer JWT, API key,
/// service key), or by the CLI and keyward's own jobs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestContext {
    pub actor: Actor,
    /// The client's address (the TCP peer, or what a trusted proxy forwarded); `None`
    /// for keyward's own jobs and the CLI.
    pub ip: Option<IpAddr>,
}

impl RequestContext {
    /// A caller over the network.
    pub fn remote(actor: Actor, ip: IpAddr) -> Self {
        Self {
            actor,
            ip: Some(ip),
        }
    }

    /// keyward's own job `job`, or the CLI: no address.
    pub fn system(job: &str) -> Self {
        Self {
            actor: Actor::system(job),
            ip: None,
        }
    }
}

/// What kind of thing an event is about (SPEC §12 `targetType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetType {
    ApiKey,
    Venue,
    /// A customer's stored third-party credential (BYOK; the customer API's
    /// "service keys").
    ServiceKey,
}

impl TargetType {
    /// The wire name: `api_key`, `venue` or `service_key`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::Venue => "venue",
            Self::ServiceKey => "service_key",
        }
    }
}

impl fmt::Display for TargetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened (SPEC §12 `action`, `<target type>.<past participle>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    ApiKeyCreated,
    /// Name, description, scopes, `active` or expiry changed (PATCH).
    ApiKeyUpdated,
    ApiKeyRotated,
    ApiKeyRevoked,
    /// Deleted by its owner, an internal service, or the expired-key cleanup.
    ApiKeyDeleted,
    VenueCreated,
    /// Name, URL name or "accepting requests" changed.
    VenueUpdated,
    VenueDeleted,
    ServiceKeyCreated,
    /// Secret replaced, renamed, activated or deactivated.
    ServiceKeyUpdated,
    ServiceKeyDeleted,
    /// The plaintext secret was handed out (customer or internal retrieval).
    ServiceKeyRevealed,
}

impl AuditAction {
    /// Every action, in the order the documentation lists them.
    pub const ALL: [Self; 12] = [
        Self::ApiKeyCreated,
        Self::ApiKeyUpdated,
        Self::ApiKeyRotated,
        Self::ApiKeyRevoked,
        Self::ApiKeyDeleted,
        Self::VenueCreated,
        Self::VenueUpdated,
        Self::VenueDeleted,
        Self::ServiceKeyCreated,
        Self::ServiceKeyUpdated,
        Self::ServiceKeyDeleted,
        Self::ServiceKeyRevealed,
    ];

    /// The wire name, e.g. `api_key.rotated`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ApiKeyCreated => "api_key.created",
            Self::ApiKeyUpdated => "api_key.updated",
            Self::ApiKeyRotated => "api_key.rotated",
            Self::ApiKeyRevoked => "api_key.revoked",
            Self::ApiKeyDeleted => "api_key.deleted",
            Self::VenueCreated => "venue.created",
            Self::VenueUpdated => "venue.updated",
            Self::VenueDeleted => "venue.deleted",
            Self::ServiceKeyCreated => "service_key.created",
            Self::ServiceKeyUpdated => "service_key.updated",
            Self::ServiceKeyDeleted => "service_key.deleted",
            Self::ServiceKeyRevealed => "service_key.revealed",
        }
    }

    /// What the action is about.
    pub const fn target_type(self) -> TargetType {
        match self {
            Self::ApiKeyCreated
            | Self::ApiKeyUpdated
            | Self::ApiKeyRotated
            | Self::ApiKeyRevoked
            | Self::ApiKeyDeleted => TargetType::ApiKey,
            Self::VenueCreated | Self::VenueUpdated | Self::VenueDeleted => TargetType::Venue,
            Self::ServiceKeyCreated
            | Self::ServiceKeyUpdated
            | Self::ServiceKeyDeleted
            | Self::ServiceKeyRevealed => TargetType::ServiceKey,
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an audit action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "must be one of api_key.created, api_key.updated, api_key.rotated, api_key.revoked, \
     api_key.deleted, venue.created, venue.updated, venue.deleted, service_key.created, \
     service_key.updated, service_key.deleted, service_key.revealed"
)]
pub struct UnknownAuditAction;

impl FromStr for AuditAction {
    type Err = UnknownAuditAction;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str() == name)
            .ok_or(UnknownAuditAction)
    }
}

/// What an event adds about its change: a JSON object of field names (the API's
/// camelCase) to values, e.g. `{"scopes": ["songdb:read"], "active": false}`. Never a
/// secret.
pub type AuditDetails = serde_json::Map<String, serde_json::Value>;

/// One stored audit event (SPEC §12).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Time-ordered (`UUIDv7`).
    pub id: AuditEventId,
    /// When the change was made (UTC, microseconds).
    pub at: OffsetDateTime,
    /// Whose resource changed: the customer whose event list shows it.
    pub customer: CustomerId,
    pub actor: Actor,
    /// Where the change came from; `None` for keyward's own jobs and the CLI.
    pub ip: Option<IpAddr>,
    pub action: AuditAction,
    /// The id of the key, venue or credential (its type is `action.target_type()`).
    pub target_id: Uuid,
    pub details: AuditDetails,
}

/// Which of a customer's events to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    pub target_id: Option<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_through_their_wire_names() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>(), Ok(action));
            assert!(
                action
                    .as_str()
                    .starts_with(&format!("{}.", action.target_type())),
                "{action} is not named after its target type"
            );
        }
        assert_eq!(
            "API_KEY.CREATED".parse::<AuditAction>(),
            Err(UnknownAuditAction)
        );
        assert_eq!("".parse::<AuditAction>(), Err(UnknownAuditAction));
        for action in AuditAction::ALL {
            assert!(UnknownAuditAction.to_string().contains(action.as_str()));
        }
    }

    #[test]
    fn actor_types_round_trip_through_their_wire_names() {
        for kind in ActorType::ALL {
            assert_eq!(kind.as_str().parse::<ActorType>(), Ok(kind));
        }
        assert_eq!("robot".parse::<ActorType>(), Err(UnknownActorType));
    }

    #[test]
    fn long_actor_ids_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_ACTOR_ID_CHARS + 10);
        let actor = Actor::user(&long);
        assert_eq!(actor.id().chars().count(), MAX_ACTOR_ID_CHARS);
        assert_eq!(actor.kind(), ActorType::User);
        assert_eq!(Actor::user("user-1").id(), "user-1");
    }
}
