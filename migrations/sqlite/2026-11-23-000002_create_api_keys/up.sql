-- API keys. Only the SHA-256 of a key (64 lower-case hex characters) is stored.
-- Scopes are canonical scope names joined by commas (e.g. 'requests:write,songdb:read').
CREATE TABLE api_keys (
    id                  TEXT    PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    customer_id         TEXT    NOT NULL REFERENCES customers (id),
    name                TEXT    NOT NULL,
    description         TEXT,
    display_prefix      TEXT    NOT NULL,
    key_hash            TEXT    NOT NULL UNIQUE CHECK (length(key_hash) = 64),
    scopes              TEXT    NOT NULL,
    active              INTEGER NOT NULL CHECK (active IN (0, 1)),
    expires_at          INTEGER,
    last_used_at        INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    created_by          TEXT,
    retired_key_hash    TEXT    UNIQUE,
    retired_valid_until INTEGER,
    CHECK ((retired_key_hash IS NULL) = (retired_valid_until IS NULL))
) STRICT;

-- Listing and cap counting: one customer's keys, newest first.
CREATE INDEX api_keys_customer_created_idx ON api_keys (customer_id, created_at DESC, id DESC);
-- Cleanup of expired keys.
CREATE INDEX api_keys_expires_at_idx ON api_keys (expires_at) WHERE expires_at IS NOT NULL;
-- Hash lookups use the UNIQUE indexes on key_hash and retired_key_hash.
