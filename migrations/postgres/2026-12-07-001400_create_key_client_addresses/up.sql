-- The client addresses each key was used from (SPEC §12, new_client_ip; docs/adr/0058):
-- one row per key and address, with the first and last time it was seen. `address` is a
-- `ClientAddress` as the domain writes it: an IPv4 address or an IPv6 /64 network
-- (`2001:db8:1:2::/64`), at most 43 characters. A key's addresses go with it (ON DELETE
-- CASCADE); retention (usage.retention_days) deletes the rows last seen before a cutoff.
CREATE TABLE key_client_addresses (
    key_id        uuid        NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    address       text        NOT NULL CONSTRAINT key_client_addresses_address_fits
        CHECK (length(address) BETWEEN 1 AND 43),
    first_seen_at timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    CONSTRAINT key_client_addresses_seen_in_order CHECK (first_seen_at <= last_seen_at),
    CONSTRAINT key_client_addresses_pkey PRIMARY KEY (key_id, address)
);

-- Recording (one key's addresses, and how many it has) and the cascade from api_keys use
-- the primary key, which leads with key_id.
-- Retention: every row last seen before an instant.
CREATE INDEX key_client_addresses_last_seen_at_idx ON key_client_addresses (last_seen_at);
