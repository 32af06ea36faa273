-- API keys. Only the SHA-256 of a key (64 lower-case hex characters) is stored.
-- Scopes are canonical scope names joined by commas (e.g. 'requests:write,songdb:read').
CREATE TABLE api_keys (
    id                  uuid        PRIMARY KEY,
    customer_id         uuid        NOT NULL REFERENCES customers (id),
    name                text        NOT NULL,
    description         text,
    display_prefix      text        NOT NULL,
    key_hash            text        NOT NULL CONSTRAINT api_keys_key_hash_key UNIQUE,
    scopes              text        NOT NULL,
    active              boolean     NOT NULL,
    expires_at          timestamptz,
    last_used_at        timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    created_by          text,
    retired_key_hash    text        CONSTRAINT api_keys_retired_key_hash_key UNIQUE,
    retired_valid_until timestamptz,
    CONSTRAINT api_keys_key_hash_is_sha256_hex CHECK (length(key_hash) = 64),
    CONSTRAINT api_keys_retired_secret_is_complete
        CHECK ((retired_key_hash IS NULL) = (retired_valid_until IS NULL))
);

-- Listing and cap counting: one customer's keys, newest first.
CREATE INDEX api_keys_customer_created_idx ON api_keys (customer_id, created_at DESC, id DESC);
-- Cleanup of expired keys.
CREATE INDEX api_keys_expires_at_idx ON api_keys (expires_at) WHERE expires_at IS NOT NULL;
-- Hash lookups use the unique constraints' indexes on key_hash and retired_key_hash.
