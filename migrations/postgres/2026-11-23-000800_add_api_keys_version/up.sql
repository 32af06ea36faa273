-- How many times the key has been written: 1 when it is created, one more on every update
-- (not on last-used bookkeeping). Updates name the version they read and write only if it
-- is still stored (compare-and-swap), so concurrent changes cannot overwrite one another.
ALTER TABLE api_keys ADD COLUMN version bigint NOT NULL DEFAULT 1
    CONSTRAINT api_keys_version_is_positive CHECK (version >= 1);
