-- One-time sign-in links for the customer dashboard (SPEC §15, `keyward dashboard-link`;
-- docs/adr/0062). Only the SHA-256 of a link's token is stored (64 lower-case hex
-- characters, as api_keys.key_hash). A link is redeemed by one
-- `UPDATE … SET used_at = now WHERE token_hash = ? AND used_at IS NULL AND expires_at > now
-- RETURNING …` (the statement holds SQLite's write lock), so of concurrent redeemers on
-- any number of instances exactly one gets it.
-- `permissions` is a JSON array of permission names as text (order and duplicates kept).
-- No foreign key on customer_id: a customer's row is created with its first key, and a
-- link may come first. Links used or not are deleted a day after they expire (the
-- binary's hourly maintenance). Instants are INTEGER microseconds since the Unix epoch
-- (PortableInstant). WITHOUT ROWID: the rows are small and found by their primary key.
CREATE TABLE dashboard_sign_in_links (
    token_hash  TEXT    PRIMARY KEY NOT NULL CHECK (length(token_hash) = 64),
    customer_id TEXT    NOT NULL CHECK (length(customer_id) = 36),
    subject     TEXT    NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    permissions TEXT    NOT NULL
        CHECK (json_valid(permissions) AND json_type(permissions) = 'array'),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    CHECK (created_at < expires_at)
) STRICT, WITHOUT ROWID;

-- Redeeming uses the primary key. Maintenance: every link that expired before an instant.
CREATE INDEX dashboard_sign_in_links_expires_at_idx ON dashboard_sign_in_links (expires_at);
