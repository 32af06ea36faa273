//! The audit trail every mutating service writes to (SPEC §12), and the listing of it.
//!
//! An event is recorded *after* its change is stored: the change and its event are not
//! one transaction (the ports are separate stores). When storing the event fails the
//! change stands — a client told "failed" would retry a create and get a second key — and
//! the event is logged at ERROR with every field instead, so it is not lost (ADR 0056).
//! Every event is also logged at INFO to the target [`AUDIT_TARGET`].

use std::sync::Arc;

use time::Duration;
use uuid::Uuid;

use crate::audit::{AuditAction, AuditDetails, AuditEvent, AuditFilter, RequestContext};
use crate::ids::{AuditEventId, CustomerId};
use crate::ports::storage::{Page, PageRequest, StorageError};
use crate::ports::{AuditLog, Clock};

/// The tracing target of audit log lines.
pub const AUDIT_TARGET: &str = "keyward::audit";

/// Records audit events and lists them. Cheap to clone.
#[derive(Clone)]
pub struct AuditTrail {
    log: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AuditTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditTrail").finish_non_exhaustive()
    }
}

impl AuditTrail {
    pub fn new(log: Arc<dyn AuditLog>, clock: Arc<dyn Clock>) -> Self {
        Self { log, clock }
    }

    /// Records that `context` did `action` to `target` of `customer` now. `customer` is
    /// `None` for the platform's own credentials (admin API): those are logged, not
    /// stored, since no customer's list could show them. Never fails (see the module
    /// docs); `details` must hold no secret.
    pub async fn record(
        &self,
        context: &RequestContext,
        customer: Option<CustomerId>,
        action: AuditAction,
        target: Uuid,
        details: AuditDetails,
    ) {
        let at = self.clock.now();
        match customer {
            Some(customer) => {
                let event = AuditEvent {
                    id: AuditEventId::generate(),
                    at,
                    customer,
                    actor: context.actor.clone(),
                    ip: context.ip,
                    action,
                    target_id: target,
                    details,
                };
                self.store(&[event]).await;
            }
            None => log_platform_event(context, action, target, &details),
        }
    }

    /// Records the deletion of many keys by one job (the expired-key cleanup) in one
    /// write. Never fails, as [`Self::record`].
    pub async fn record_deletions(
        &self,
        context: &RequestContext,
        action: AuditAction,
        targets: &[(CustomerId, Uuid)],
        details: &AuditDetails,
    ) {
        if targets.is_empty() {
            return;
        }
        let at = self.clock.now();
        let events: Vec<AuditEvent> = targets
            .iter()
            .map(|&(customer, target)| AuditEvent {
                id: AuditEventId::generate(),
                at,
                customer,
                actor: context.actor.clone(),
                ip: context.ip,
                action,
                target_id: target,
                details: details.clone(),
            })
            .collect();
        self.store(&events).await;
    }

    async fn store(&self, events: &[AuditEvent]) {
        for event in events {
            log_event(event, tracing::Level::INFO);
        }
        if let Err(error) = self.log.record_audit_events(events).await {
            tracing::error!(
                target: AUDIT_TARGET,
                %error,
                events = events.len(),
                "audit events not stored; the change they describe was made (each is logged below)"
            );
            for event in events {
                log_event(event, tracing::Level::ERROR);
            }
        }
    }

    /// One page of `customer`'s events, newest first.
    ///
    /// # Errors
    /// `Unavailable`/`Other` from storage.
    pub async fn list(
        &self,
        customer: CustomerId,
        filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>, StorageError> {
        self.log.list_audit_events(customer, filter, page).await
    }

    /// Deletes the events older than `retention`; returns how many.
    ///
    /// # Errors
    /// `Unavailable`/`Other` from storage.
    pub async fn delete_expired(&self, retention: Duration) -> Result<u64, StorageError> {
        self.log
            .delete_audit_events_before(self.clock.now() - retention)
            .await
    }
}

/// One log line for a stored (or lost) event: every field, details as JSON.
fn log_event(event: &AuditEvent, level: tracing::Level) {
    let details = serde_json::Value::Object(event.details.clone());
    let ip = event.ip.map(|ip| ip.to_string());
    macro_rules! line {
        ($macro:ident) => {
            tracing::$macro!(
                target: AUDIT_TARGET,
                event_id = %event.id,
                action = event.action.as_str(),
                target_type = event.action.target_type().as_str(),
                target_id = %event.target_id,
                customer_id = %event.customer,
                actor_type = event.actor.kind().as_str(),
                actor_id = event.actor.id(),
                ip = ip.as_deref().unwrap_or("-"),
                details = %details,
                "audit event"
            )
        };
    }
    if level == tracing::Level::ERROR {
        line!(error);
    } else {
        line!(info);
    }
}

fn log_platform_event(
    context: &RequestContext,
    action: AuditAction,
    target: Uuid,
    details: &AuditDetails,
) {
    let ip = context.ip.map(|ip| ip.to_string());
    tracing::info!(
        target: AUDIT_TARGET,
        action = action.as_str(),
        target_type = action.target_type().as_str(),
        target_id = %target,
        owner = "platform",
        actor_type = context.actor.kind().as_str(),
        actor_id = context.actor.id(),
        ip = ip.as_deref().unwrap_or("-"),
        details = %serde_json::Value::Object(details.clone()),
        "audit event"
    );
}
