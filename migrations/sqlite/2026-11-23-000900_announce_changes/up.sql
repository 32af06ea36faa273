-- Every committed change that an instance may hold in memory (a key as verification reads
-- it, a customer's OpenKJ serial) is written to `change_log` by triggers, in the writer's
-- transaction, whoever wrote: this binary, `keyward keys …` from the CLI, an operator's
-- SQL. A running instance polls `PRAGMA data_version` a few times a second and reads the
-- rows it has not seen when it moved. See ADR 0051.
--
-- `change` names ids and versions, never key material (the same text PostgreSQL's
-- NOTIFY payloads carry):
--   k:<key id>:<version>   a key was created or changed and now has that version
--   k:<key id>:-           a key was deleted, or changed without a new version
--   s:<customer id>        the customer's OpenKJ serial moved (or its row came or went)
-- Last-used bookkeeping (only last_used_at changes) is not logged. Rows older than a few
-- minutes are pruned by the running instances; AUTOINCREMENT keeps `seq` growing, so a
-- reader that finds a gap knows it missed rows.
CREATE TABLE change_log (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    change TEXT    NOT NULL,
    -- Seconds since the Unix epoch, for pruning.
    at     INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;

CREATE TRIGGER api_keys_log_insert AFTER INSERT ON api_keys
BEGIN
    INSERT INTO change_log (change) VALUES ('k:' || NEW.id || ':' || NEW.version);
END;

CREATE TRIGGER api_keys_log_delete AFTER DELETE ON api_keys
BEGIN
    INSERT INTO change_log (change) VALUES ('k:' || OLD.id || ':-');
END;

-- Every column verification reads; a migration adding one must add it here.
CREATE TRIGGER api_keys_log_update AFTER UPDATE ON api_keys
WHEN OLD.version IS NOT NEW.version
  OR OLD.customer_id IS NOT NEW.customer_id
  OR OLD.key_hash IS NOT NEW.key_hash
  OR OLD.scopes IS NOT NEW.scopes
  OR OLD.active IS NOT NEW.active
  OR OLD.expires_at IS NOT NEW.expires_at
  OR OLD.retired_key_hash IS NOT NEW.retired_key_hash
  OR OLD.retired_valid_until IS NOT NEW.retired_valid_until
  OR OLD.revoked_at IS NOT NEW.revoked_at
BEGIN
    INSERT INTO change_log (change) VALUES (
        'k:' || NEW.id || ':' ||
        CASE WHEN NEW.version = OLD.version THEN '-' ELSE NEW.version END
    );
END;

CREATE TRIGGER customers_log_serial AFTER UPDATE OF openkj_serial ON customers
WHEN OLD.openkj_serial IS NOT NEW.openkj_serial
BEGIN
    INSERT INTO change_log (change) VALUES ('s:' || NEW.id);
END;

-- A customer without a row has serial 1: a row that comes or goes can change the answer.
-- (SQLite has no TRUNCATE: a DELETE without WHERE on a table with triggers fires them.)
CREATE TRIGGER customers_log_insert AFTER INSERT ON customers
BEGIN
    INSERT INTO change_log (change) VALUES ('s:' || NEW.id);
END;

CREATE TRIGGER customers_log_delete AFTER DELETE ON customers
BEGIN
    INSERT INTO change_log (change) VALUES ('s:' || OLD.id);
END;
