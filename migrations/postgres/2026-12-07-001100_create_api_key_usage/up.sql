-- Verification counts per key and UTC day (SPEC §12), added to by the usage flusher.
-- `customer_id` is the key's, copied when the row is first written (a key never changes
-- customer), so a customer's usage is found without going through the keys. A key's rows
-- go with it (ON DELETE CASCADE).
CREATE TABLE api_key_usage (
    key_id      uuid   NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    customer_id uuid   NOT NULL,
    day         date   NOT NULL,
    verified    bigint NOT NULL CONSTRAINT api_key_usage_verified_is_a_count CHECK (verified >= 0),
    denied      bigint NOT NULL CONSTRAINT api_key_usage_denied_is_a_count CHECK (denied >= 0),
    CONSTRAINT api_key_usage_pkey PRIMARY KEY (key_id, day)
);

-- key_usage (one key's days in order) and the cascade from api_keys use the primary key.
-- usage_by_key: one customer's rows in a range of days.
CREATE INDEX api_key_usage_customer_day_idx ON api_key_usage (customer_id, day);
-- Retention: every row before a day.
CREATE INDEX api_key_usage_day_idx ON api_key_usage (day);
