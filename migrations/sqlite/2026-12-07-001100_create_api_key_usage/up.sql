-- Verification counts per key and UTC day (SPEC §12), added to by the usage flusher.
-- `customer_id` is the key's, copied when the row is first written (a key never changes
-- customer), so a customer's usage is found without going through the keys. A key's rows
-- go with it (ON DELETE CASCADE; connections run with foreign_keys = ON).
-- `day` is TEXT 'YYYY-MM-DD' (Diesel's `Date` on SQLite): fixed width, so text order is
-- date order; the CHECK refuses anything `date()` would not write back unchanged.
-- WITHOUT ROWID: the rows are small and found by their primary key, and the index below
-- then carries key_id (the primary key) for usage_by_key's grouping.
CREATE TABLE api_key_usage (
    key_id      TEXT    NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    customer_id TEXT    NOT NULL,
    day         TEXT    NOT NULL CHECK (day IS date(day)),
    verified    INTEGER NOT NULL CHECK (verified >= 0),
    denied      INTEGER NOT NULL CHECK (denied >= 0),
    PRIMARY KEY (key_id, day)
) STRICT, WITHOUT ROWID;

-- key_usage (one key's days in order) and the cascade from api_keys use the primary key.
-- usage_by_key: one customer's rows in a range of days.
CREATE INDEX api_key_usage_customer_day_idx ON api_key_usage (customer_id, day);
-- Retention: every row before a day.
CREATE INDEX api_key_usage_day_idx ON api_key_usage (day);
