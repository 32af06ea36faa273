-- Third-party service credentials: the vault (docs/VAULT.md). A secret is stored only
-- sealed: AES-256-GCM ciphertext with its 16-byte tag, the 96-bit nonce, and the version
-- (a 32-bit fingerprint) of the master key that sealed it. `owner_customer_id` is NULL for
-- the platform's own credentials; a customer has at most one credential per provider.
-- `provider` compares byte-wise (COLLATE "C") so listings order like SQLite's.
CREATE TABLE service_credentials (
    id                uuid        PRIMARY KEY,
    owner_customer_id uuid        REFERENCES customers (id),
    provider          text        COLLATE "C" NOT NULL,
    name              text        NOT NULL,
    description       text,
    masked_secret     text        NOT NULL,
    key_version       bigint      NOT NULL,
    nonce             bytea       NOT NULL,
    ciphertext        bytea       NOT NULL,
    active            boolean     NOT NULL,
    last_used_at      timestamptz,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    CONSTRAINT service_credentials_owner_provider_key UNIQUE (owner_customer_id, provider),
    CONSTRAINT service_credentials_key_version_is_u32
        CHECK (key_version BETWEEN 0 AND 4294967295),
    CONSTRAINT service_credentials_nonce_is_96_bits CHECK (length(nonce) = 12),
    CONSTRAINT service_credentials_ciphertext_has_tag CHECK (length(ciphertext) >= 16)
);

-- The platform's credentials by provider, most recently updated first (find_active,
-- listings). A customer's are found through the unique constraint's index.
CREATE INDEX service_credentials_platform_idx
    ON service_credentials (provider, updated_at DESC, id DESC)
    WHERE owner_customer_id IS NULL;
