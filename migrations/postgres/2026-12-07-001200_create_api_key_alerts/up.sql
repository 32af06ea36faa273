-- Suspicious-activity alerts about keys (SPEC §12), at most one per key, kind and UTC hour
-- (the UNIQUE constraint; writers insert with ON CONFLICT DO NOTHING). `customer_id` is
-- the key's, copied when the alert is stored (a key never changes customer), so a
-- customer's alerts are listed without going through the keys. A key's alerts go with it
-- (ON DELETE CASCADE). `hour` is `at` truncated to the whole UTC hour, which the CHECK
-- holds it to.
CREATE TABLE api_key_alerts (
    id          uuid        PRIMARY KEY,
    key_id      uuid        NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    customer_id uuid        NOT NULL,
    kind        text        NOT NULL CONSTRAINT api_key_alerts_kind_is_known CHECK (
        kind IN ('revoked_key_used', 'new_client_ip', 'usage_spike', 'dormant_key_used')
    ),
    at          timestamptz NOT NULL,
    hour        timestamptz NOT NULL CONSTRAINT api_key_alerts_hour_is_the_utc_hour_of_at CHECK (
        hour = date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
    ),
    detail      text        NOT NULL,
    CONSTRAINT api_key_alerts_once_per_key_kind_and_hour UNIQUE (key_id, kind, hour)
);

-- list_alerts: one customer's alerts, newest first (the kind, when given, is filtered on
-- the way).
CREATE INDEX api_key_alerts_customer_at_idx ON api_key_alerts (customer_id, at DESC, id DESC);
-- Retention: every alert before an instant.
CREATE INDEX api_key_alerts_at_idx ON api_key_alerts (at);
-- The cascade from api_keys uses the UNIQUE constraint's index, which leads with key_id.
