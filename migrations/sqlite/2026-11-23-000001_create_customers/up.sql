-- A customer (tenant). The row is created on first use, in the same transaction as the
-- customer's first key. UUIDs are lower-case hyphenated TEXT; instants are INTEGER
-- microseconds since the Unix epoch (UTC), see docs/adr/0010.
CREATE TABLE customers (
    id         TEXT    PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    created_at INTEGER NOT NULL
) STRICT;
