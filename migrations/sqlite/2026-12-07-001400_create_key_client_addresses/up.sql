-- The client addresses each key was used from (SPEC §12, new_client_ip; docs/adr/0058):
-- one row per key and address, with the first and last time it was seen. `address` is a
-- `ClientAddress` as the domain writes it: an IPv4 address or an IPv6 /64 network
-- (`2001:db8:1:2::/64`), at most 43 characters. A key's addresses go with it (ON DELETE
-- CASCADE; connections run with foreign_keys = ON); retention (usage.retention_days)
-- deletes the rows last seen before a cutoff.
-- `first_seen_at` and `last_seen_at` are INTEGER microseconds since the Unix epoch
-- (PortableInstant). WITHOUT ROWID: the rows are small and found by their primary key.
CREATE TABLE key_client_addresses (
    key_id        TEXT    NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    address       TEXT    NOT NULL CHECK (length(address) BETWEEN 1 AND 43),
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    CHECK (first_seen_at <= last_seen_at),
    PRIMARY KEY (key_id, address)
) STRICT, WITHOUT ROWID;

-- Recording (one key's addresses, and how many it has) and the cascade from api_keys use
-- the primary key, which leads with key_id.
-- Retention: every row last seen before an instant.
CREATE INDEX key_client_addresses_last_seen_at_idx ON key_client_addresses (last_seen_at);
