//! The audit trail every mutating service writes to (SPEC §12), and the listing of it.
//!
//! An event is recorded *after* its change is stored: the change and its event are not
//! one transaction (the ports are separate stores). When storing the event fails the
//! change stands — a client told "failed" would retry a create and get a second key — and
//! the event is logged at ERROR with every field instead, so it is not lost (ADR 0056).
//! The write runs through a [`TaskRunner`], so a client that disconnects (dropping the
//! handler's future) cannot leave a committed change without its event. A stored event is
//! logged at INFO to the target [`AUDIT_TARGET`].
//!
//! A plaintext read is different: nothing was changed, so it is recorded *before* the
//! secret is handed out, and when that fails the secret is not handed out
//! ([`AuditTrail::record_before_reveal`]).

use std::error::Error as StdError;
use std::sync::Arc;

use time::Duration;
use uuid::Uuid;

use crate::audit::{AuditAction, AuditDetails, AuditEvent, AuditFilter, RequestContext};
use crate::ids::{AuditEventId, CustomerId};
use crate::ports::storage::{Page, PageRequest, StorageError};
use crate::ports::{AuditLog, Clock, InlineTasks, TaskRunner};

/// The tracing target of audit log lines.
pub const AUDIT_TARGET: &str = "keyward::audit";

/// Records audit events and lists them. Cheap to clone.
#[derive(Clone)]
pub struct AuditTrail {
    log: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
    tasks: Arc<dyn TaskRunner>,
}

impl std::fmt::Debug for AuditTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditTrail").finish_non_exhaustive()
    }
}

impl AuditTrail {
    /// A trail whose writes run in the caller's future ([`InlineTasks`]); a server wants
    /// [`Self::with_task_runner`].
    pub fn new(log: Arc<dyn AuditLog>, clock: Arc<dyn Clock>) -> Self {
        Self {
            log,
            clock,
            tasks: Arc::new(InlineTasks),
        }
    }

    /// Runs every write that follows a change through `tasks`, so it completes even when
    /// the caller is dropped.
    #[must_use]
    pub fn with_task_runner(mut self, tasks: Arc<dyn TaskRunner>) -> Self {
        self.tasks = tasks;
        self
    }

    fn event(
        &self,
        context: &RequestContext,
        customer: CustomerId,
        action: AuditAction,
        target: Uuid,
        details: AuditDetails,
    ) -> AuditEvent {
        AuditEvent {
            id: AuditEventId::generate(),
            at: self.clock.now(),
            customer,
            actor: context.actor.clone(),
            ip: context.ip,
            action,
            target_id: target,
            details,
        }
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
        match customer {
            Some(customer) => {
                let event = self.event(context, customer, action, target, details);
                self.store(vec![event]).await;
            }
            None => log_platform_event(context, action, target, &details),
        }
    }

    /// Records a plaintext read of `customer`'s credential `target` before the secret is
    /// handed out (for the platform's own, `None`: logged only).
    ///
    /// # Errors
    /// The audit log's error: the caller must not hand the secret out then.
    pub async fn record_before_reveal(
        &self,
        context: &RequestContext,
        customer: Option<CustomerId>,
        target: Uuid,
        details: AuditDetails,
    ) -> Result<(), StorageError> {
        let action = AuditAction::ServiceKeyRevealed;
        let Some(customer) = customer else {
            log_platform_event(context, action, target, &details);
            return Ok(());
        };
        let event = self.event(context, customer, action, target, details);
        match self
            .log
            .record_audit_events(std::slice::from_ref(&event))
            .await
        {
            Ok(()) => {
                log_event(&event, tracing::Level::INFO);
                Ok(())
            }
            Err(error) => {
                tracing::error!(
                    target: AUDIT_TARGET,
                    error = %chain(&error),
                    action = action.as_str(),
                    target_id = %target,
                    customer_id = %customer,
                    "a plaintext read could not be audited; the secret was not handed out"
                );
                Err(error)
            }
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
        let events = targets
            .iter()
            .map(|&(customer, target)| {
                self.event(context, customer, action, target, details.clone())
            })
            .collect();
        self.store(events).await;
    }

    /// Stores `events` through the task runner: logged at INFO once stored, at ERROR
    /// (each in full) when they could not be.
    async fn store(&self, events: Vec<AuditEvent>) {
        let log = Arc::clone(&self.log);
        let task = Box::pin(async move {
            match log.record_audit_events(&events).await {
                Ok(()) => {
                    for event in &events {
                        log_event(event, tracing::Level::INFO);
                    }
                }
                Err(error) => {
                    tracing::error!(
                        target: AUDIT_TARGET,
                        error = %chain(&error),
                        events = events.len(),
                        "audit events not stored; the change they describe was made (each is logged below)"
                    );
                    for event in &events {
                        log_event(event, tracing::Level::ERROR);
                    }
                }
            }
        });
        self.tasks.run_detached(task).await;
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
    macro_rules! audit_line {
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
        audit_line!(error);
    } else {
        audit_line!(info);
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

/// `error` and its causes, `: `-separated (a storage error's own text is generic).
fn chain(error: &StorageError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
