-- One-time sign-in links for the customer dashboard (SPEC §15, `keyward dashboard-link`;
-- docs/adr/0062). Only the SHA-256 of a link's token is stored (64 lower-case hex
-- characters, as api_keys.key_hash). A link is redeemed by one
-- `UPDATE … SET used_at = now WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now
-- RETURNING …`, so of concurrent redeemers on any number of instances exactly one gets it.
-- `permissions` is a JSON array of permission names as text (order and duplicates kept).
-- No foreign key on customer_id: a customer's row is created with its first key, and a
-- link may come first. Links used or not are deleted a day after they expire (the
-- binary's hourly maintenance).
CREATE TABLE dashboard_sign_in_links (
    token_hash  text        NOT NULL,
    customer_id uuid        NOT NULL,
    subject     text        NOT NULL CONSTRAINT dashboard_sign_in_links_subject_fits
        CHECK (length(subject) BETWEEN 1 AND 255),
    permissions text        NOT NULL CONSTRAINT dashboard_sign_in_links_permissions_is_an_array
        CHECK (jsonb_typeof(permissions::jsonb) = 'array'),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    CONSTRAINT dashboard_sign_in_links_token_hash_is_sha256_hex CHECK (length(token_hash) = 64),
    CONSTRAINT dashboard_sign_in_links_expire_after_creation CHECK (created_at < expires_at),
    CONSTRAINT dashboard_sign_in_links_pkey PRIMARY KEY (token_hash)
);

-- Redeeming uses the primary key. Maintenance: every link that expired before an instant.
CREATE INDEX dashboard_sign_in_links_expires_at_idx ON dashboard_sign_in_links (expires_at);
