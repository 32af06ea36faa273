-- Audit events (SPEC §12): who changed which key, venue or service credential, or read a
-- credential's plaintext, when and from where. Written by the services through the
-- AuditLog port, listed per customer, removed only by retention (audit.retention_days).
--
-- No foreign keys (docs/adr/0055): an event must outlive the key, venue or credential it
-- is about, so `target_id` references nothing; `customer_id` is the owner of the target,
-- copied when the event is stored (customers rows are never deleted, so a reference would
-- guard nothing, and its check would queue audit writes behind the customer row locks
-- OpenKJ writes hold).
-- `ip` is the client's address as Rust prints it (NULL for keyward's own jobs and the
-- CLI); `details` a JSON object (jsonb: its keys come back sorted, which the domain's
-- map does anyway). `action` and `target_type` are wire names (`api_key.rotated`,
-- `api_key`): not listed in a CHECK, so a new action needs no migration; the reader
-- refuses a name it does not know. An action always starts with its target type.
CREATE TABLE audit_events (
    id          uuid        PRIMARY KEY,
    customer_id uuid        NOT NULL,
    at          timestamptz NOT NULL,
    actor_type  text        NOT NULL CONSTRAINT audit_events_actor_type_is_known
        CHECK (actor_type IN ('user', 'service', 'system')),
    actor_id    text        NOT NULL CONSTRAINT audit_events_actor_id_fits
        CHECK (length(actor_id) <= 255),
    ip          text,
    action      text        NOT NULL,
    target_type text        NOT NULL,
    target_id   uuid        NOT NULL,
    details     jsonb       NOT NULL CONSTRAINT audit_events_details_is_an_object
        CHECK (jsonb_typeof(details) = 'object'),
    CONSTRAINT audit_events_action_is_of_its_target_type
        CHECK (substr(action, 1, length(target_type) + 1) = target_type || '.')
);

-- list_audit_events: one customer's events, newest first; an action filter is applied on
-- the way.
CREATE INDEX audit_events_customer_at_idx ON audit_events (customer_id, at DESC, id DESC);
-- list_audit_events with a target: one target's history, newest first.
CREATE INDEX audit_events_customer_target_at_idx
    ON audit_events (customer_id, target_id, at DESC, id DESC);
-- Retention: every event before an instant.
CREATE INDEX audit_events_at_idx ON audit_events (at);
