-- How many times the key has been written: 1 when it is created, one more on every update
-- (not on last-used bookkeeping). Updates name the version they read and write only if it
-- is still stored (compare-and-swap), so concurrent changes cannot overwrite one another.
-- INTEGER, not BIGINT: the table is STRICT (SQLite's INTEGER is 64-bit).
ALTER TABLE api_keys ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);
