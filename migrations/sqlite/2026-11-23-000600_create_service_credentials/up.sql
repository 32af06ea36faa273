-- Third-party service credentials: the vault (docs/VAULT.md). A secret is stored only
-- sealed: AES-256-GCM ciphertext with its 16-byte tag, the 96-bit nonce, and the version
-- (a 32-bit fingerprint) of the master key that sealed it. `owner_customer_id` is NULL for
-- the platform's own credentials; a customer has at most one credential per provider
-- (NULLs are distinct in a UNIQUE constraint, so the platform may have several).
CREATE TABLE service_credentials (
    id                TEXT    PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    owner_customer_id TEXT    REFERENCES customers (id),
    provider          TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    description       TEXT,
    masked_secret     TEXT    NOT NULL,
    key_version       INTEGER NOT NULL CHECK (key_version BETWEEN 0 AND 4294967295),
    nonce             BLOB    NOT NULL CHECK (length(nonce) = 12),
    ciphertext        BLOB    NOT NULL CHECK (length(ciphertext) >= 16),
    active            INTEGER NOT NULL CHECK (active IN (0, 1)),
    last_used_at      INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (owner_customer_id, provider)
) STRICT;

-- The platform's credentials by provider, most recently updated first (find_active,
-- listings). A customer's are found through the unique constraint's index.
CREATE INDEX service_credentials_platform_idx
    ON service_credentials (provider, updated_at DESC, id DESC)
    WHERE owner_customer_id IS NULL;
