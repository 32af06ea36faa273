-- Suspicious-activity alerts about keys (SPEC §12), at most one per key, kind and UTC hour
-- (the UNIQUE constraint; writers insert with ON CONFLICT DO NOTHING). `customer_id` is
-- the key's, copied when the alert is stored (a key never changes customer), so a
-- customer's alerts are listed without going through the keys. A key's alerts go with it
-- (ON DELETE CASCADE; connections run with foreign_keys = ON).
-- `at` and `hour` are INTEGER microseconds since the Unix epoch (PortableInstant); `hour`
-- is `at` floored to the whole hour, which the CHECK holds it to (also before 1970).
CREATE TABLE api_key_alerts (
    id          TEXT    PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    key_id      TEXT    NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    customer_id TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (
        kind IN ('revoked_key_used', 'new_client_ip', 'usage_spike', 'dormant_key_used')
    ),
    at          INTEGER NOT NULL,
    hour        INTEGER NOT NULL CHECK (
        hour = at - (((at % 3600000000) + 3600000000) % 3600000000)
    ),
    detail      TEXT    NOT NULL,
    UNIQUE (key_id, kind, hour)
) STRICT;

-- list_alerts: one customer's alerts, newest first (the kind, when given, is filtered on
-- the way).
CREATE INDEX api_key_alerts_customer_at_idx ON api_key_alerts (customer_id, at DESC, id DESC);
-- Retention: every alert before an instant.
CREATE INDEX api_key_alerts_at_idx ON api_key_alerts (at);
-- The cascade from api_keys uses the UNIQUE constraint's index, which leads with key_id.
