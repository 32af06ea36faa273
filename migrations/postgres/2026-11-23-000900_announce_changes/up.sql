-- Every committed change that an instance may hold in memory (a key as verification reads
-- it, a customer's OpenKJ serial) is announced on the channel `keyward_changes`. NOTIFY is
-- delivered when the transaction commits, to every instance listening, whoever wrote: this
-- binary, `keyward keys …` from the CLI, an operator's SQL. See ADR 0051.
--
-- Payloads name ids and versions, never key material:
--   k:<key id>:<version>   a key was created or changed and now has that version
--   k:<key id>:-           a key was deleted, or changed without a new version
--   s:<customer id>        the customer's OpenKJ serial moved (or its row came or went)
--   *                      too much changed to name (TRUNCATE): drop everything
-- Last-used bookkeeping (only last_used_at changes) is not announced.

CREATE FUNCTION keyward_announce_key_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('keyward_changes', 'k:' || OLD.id || ':-');
        RETURN OLD;
    ELSIF TG_OP = 'UPDATE' AND NEW.version = OLD.version THEN
        PERFORM pg_notify('keyward_changes', 'k:' || NEW.id || ':-');
    ELSE
        PERFORM pg_notify('keyward_changes', 'k:' || NEW.id || ':' || NEW.version);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER api_keys_announce_insert_delete
    AFTER INSERT OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION keyward_announce_key_change();

-- Every column verification reads; a migration adding one must add it here.
CREATE TRIGGER api_keys_announce_update
    AFTER UPDATE ON api_keys
    FOR EACH ROW
    WHEN (OLD.version IS DISTINCT FROM NEW.version
       OR OLD.customer_id IS DISTINCT FROM NEW.customer_id
       OR OLD.key_hash IS DISTINCT FROM NEW.key_hash
       OR OLD.scopes IS DISTINCT FROM NEW.scopes
       OR OLD.active IS DISTINCT FROM NEW.active
       OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
       OR OLD.retired_key_hash IS DISTINCT FROM NEW.retired_key_hash
       OR OLD.retired_valid_until IS DISTINCT FROM NEW.retired_valid_until
       OR OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
    EXECUTE FUNCTION keyward_announce_key_change();

CREATE FUNCTION keyward_announce_serial_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('keyward_changes', 's:' || NEW.id);
    RETURN NEW;
END
$$;

CREATE TRIGGER customers_announce_serial
    AFTER UPDATE OF openkj_serial ON customers
    FOR EACH ROW
    WHEN (OLD.openkj_serial IS DISTINCT FROM NEW.openkj_serial)
    EXECUTE FUNCTION keyward_announce_serial_change();

-- A customer without a row has serial 1: a row that comes or goes can change the answer.
CREATE FUNCTION keyward_announce_customer_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('keyward_changes', 's:' || OLD.id);
        RETURN OLD;
    END IF;
    PERFORM pg_notify('keyward_changes', 's:' || NEW.id);
    RETURN NEW;
END
$$;

CREATE TRIGGER customers_announce_insert_delete
    AFTER INSERT OR DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION keyward_announce_customer_row();

-- TRUNCATE fires no row triggers.
CREATE FUNCTION keyward_announce_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('keyward_changes', '*');
    RETURN NULL;
END
$$;

CREATE TRIGGER api_keys_announce_truncate
    AFTER TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION keyward_announce_truncate();

CREATE TRIGGER customers_announce_truncate
    AFTER TRUNCATE ON customers
    FOR EACH STATEMENT EXECUTE FUNCTION keyward_announce_truncate();
