//! `audit_events` rows and their conversion to and from the domain's [`AuditEvent`].
//!
//! A row is checked on the way out as well as in: the table lists no actions in a CHECK
//! (a new one needs no migration), so a row written by a newer keyward, or by hand, may
//! hold a name this one does not know. Such a row is a [`StorageError::Other`] naming the
//! event and the column, never a panic.

use std::net::IpAddr;

use diesel::prelude::*;
use keyward_domain::AuditEventId;
use keyward_domain::CustomerId;
use keyward_domain::audit::{Actor, ActorType, AuditAction, AuditDetails, AuditEvent};
use keyward_domain::ports::StorageError;

use crate::schema::audit_events;
use crate::types::{DbInstant, DbJson, DbUuid};

/// Every column of one event, as inserted (`insert.rs` binds them per backend).
#[derive(Debug)]
pub(super) struct EventValues<'a> {
    pub(super) id: DbUuid,
    pub(super) customer_id: DbUuid,
    pub(super) at: DbInstant,
    pub(super) actor_type: &'static str,
    pub(super) actor_id: &'a str,
    pub(super) ip: Option<String>,
    pub(super) action: &'static str,
    pub(super) target_type: &'static str,
    pub(super) target_id: DbUuid,
    pub(super) details: DbJson,
}

impl<'a> EventValues<'a> {
    pub(super) fn of(event: &'a AuditEvent) -> Result<Self, StorageError> {
        Ok(Self {
            id: DbUuid(event.id.as_uuid()),
            customer_id: DbUuid(event.customer.as_uuid()),
            at: DbInstant(event.at),
            actor_type: event.actor.kind().as_str(),
            actor_id: event.actor.id(),
            ip: event.ip.map(|ip| ip.to_string()),
            action: event.action.as_str(),
            target_type: event.action.target_type().as_str(),
            target_id: DbUuid(event.target_id),
            details: DbJson(serde_json::to_string(&event.details).map_err(StorageError::other)?),
        })
    }
}

/// Every column of `audit_events`, as read.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(super) struct AuditEventRow {
    id: DbUuid,
    customer_id: DbUuid,
    at: DbInstant,
    actor_type: String,
    actor_id: String,
    ip: Option<String>,
    action: String,
    target_type: String,
    target_id: DbUuid,
    details: DbJson,
}

/// A stored event this keyward cannot read. Names the column and, for the short name
/// columns, the value; never `details` (whatever it holds).
#[derive(Debug, thiserror::Error)]
#[error("stored audit_events row {id} has an invalid `{column}`{shown}")]
struct CorruptEvent {
    id: AuditEventId,
    column: &'static str,
    /// `: "value"`, or nothing.
    shown: String,
}

fn corrupt(id: AuditEventId, column: &'static str, value: Option<&str>) -> StorageError {
    StorageError::other(CorruptEvent {
        id,
        column,
        shown: value.map_or_else(String::new, |value| format!(": {value:?}")),
    })
}

impl TryFrom<AuditEventRow> for AuditEvent {
    type Error = StorageError;

    fn try_from(row: AuditEventRow) -> Result<Self, StorageError> {
        let id = AuditEventId::from_uuid(row.id.0);
        let kind: ActorType = row
            .actor_type
            .parse()
            .map_err(|_| corrupt(id, "actor_type", Some(&row.actor_type)))?;
        let action: AuditAction = row
            .action
            .parse()
            .map_err(|_| corrupt(id, "action", Some(&row.action)))?;
        if row.target_type != action.target_type().as_str() {
            return Err(corrupt(id, "target_type", Some(&row.target_type)));
        }
        let ip = row
            .ip
            .map(|ip| {
                ip.parse::<IpAddr>()
                    .map_err(|_| corrupt(id, "ip", Some(&ip)))
            })
            .transpose()?;
        let details = serde_json::from_str::<AuditDetails>(&row.details.0)
            .map_err(|_| corrupt(id, "details", None))?;
        Ok(AuditEvent {
            id,
            at: row.at.0,
            customer: CustomerId::from_uuid(row.customer_id.0),
            actor: Actor::new(kind, row.actor_id),
            ip,
            action,
            target_id: row.target_id.0,
            details,
        })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;

    fn stored() -> AuditEventRow {
        AuditEventRow {
            id: DbUuid(Uuid::now_v7()),
            customer_id: DbUuid(Uuid::now_v7()),
            at: DbInstant(datetime!(2026-06-01 10:17:42.123456 UTC)),
            actor_type: "user".to_owned(),
            actor_id: "user-42".to_owned(),
            ip: Some("2001:db8::1".to_owned()),
            action: "api_key.rotated".to_owned(),
            target_type: "api_key".to_owned(),
            target_id: DbUuid(Uuid::new_v4()),
            details: DbJson(r#"{"gracePeriodSeconds":3600}"#.to_owned()),
        }
    }

    fn refused(row: AuditEventRow, column: &str) {
        match AuditEvent::try_from(row) {
            Err(StorageError::Other(source)) => {
                let message = source.to_string();
                assert!(message.contains(&format!("`{column}`")), "{message}");
            }
            other => panic!("expected Other naming {column}, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_row_reads_back_as_its_event() {
        let row = stored();
        let id = row.id.0;

        let event = AuditEvent::try_from(row).unwrap();

        assert_eq!(event.id.as_uuid(), id);
        assert_eq!(event.action, AuditAction::ApiKeyRotated);
        assert_eq!(event.actor, Actor::user("user-42"));
        assert_eq!(event.ip, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(event.details["gracePeriodSeconds"], 3600);
    }

    #[test]
    fn unknown_names_are_refused_as_other() {
        refused(
            AuditEventRow {
                action: "api_key.teleported".to_owned(),
                ..stored()
            },
            "action",
        );
        refused(
            AuditEventRow {
                actor_type: "robot".to_owned(),
                ..stored()
            },
            "actor_type",
        );
        refused(
            AuditEventRow {
                target_type: "venue".to_owned(),
                ..stored()
            },
            "target_type",
        );
        refused(
            AuditEventRow {
                ip: Some("localhost".to_owned()),
                ..stored()
            },
            "ip",
        );
    }

    #[test]
    fn details_that_are_no_json_object_are_refused_as_other() {
        for details in ["[1, 2]", "\"text\"", "null", "42", "{\"open\": ", ""] {
            refused(
                AuditEventRow {
                    details: DbJson(details.to_owned()),
                    ..stored()
                },
                "details",
            );
        }
    }
}
