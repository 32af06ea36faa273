-- OpenKJ compatibility: venues, song books and singer requests (SPEC §8), and the
-- per-customer state they move. See docs/adr/0030-0033.

-- The serial OpenKJ polls (1..=2147483647, wraps to 1) and the last request id handed
-- out (0 = none yet). Both move only inside the transaction of the change they announce.
ALTER TABLE customers ADD COLUMN openkj_serial INTEGER NOT NULL DEFAULT 1
    CHECK (openkj_serial >= 1);
ALTER TABLE customers ADD COLUMN last_request_id INTEGER NOT NULL DEFAULT 0
    CHECK (last_request_id >= 0);

CREATE TABLE venues (
    id                 TEXT    PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    customer_id        TEXT    NOT NULL REFERENCES customers (id),
    -- OpenKJ's venue_id: unique per customer, 0 included.
    openkj_venue_id    INTEGER NOT NULL CHECK (openkj_venue_id BETWEEN 0 AND 2147483647),
    name               TEXT    NOT NULL,
    -- The public singer URL slug, unique across all customers.
    url_name           TEXT    NOT NULL UNIQUE,
    accepting_requests INTEGER NOT NULL CHECK (accepting_requests IN (0, 1)),
    -- The song book (OpenKJ System ID) singers at this venue search.
    system_id          INTEGER NOT NULL CHECK (system_id >= 1),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (customer_id, openkj_venue_id)
) STRICT;

-- Song books: one per (customer, system_id). artist/title are stored byte for byte;
-- the *_folded copies (Unicode lower case, computed by the application) are what search
-- matches and orders by. SQLite compares text bytewise (BINARY), as PostgreSQL's
-- COLLATE "C" columns do.
CREATE TABLE songs (
    id            INTEGER PRIMARY KEY,
    customer_id   TEXT    NOT NULL REFERENCES customers (id),
    system_id     INTEGER NOT NULL CHECK (system_id >= 1),
    artist        TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    artist_folded TEXT    NOT NULL,
    title_folded  TEXT    NOT NULL,
    UNIQUE (customer_id, system_id, artist, title)
) STRICT;

-- Listing a song book in search order without sorting it.
CREATE INDEX songs_book_order_idx
    ON songs (customer_id, system_id, artist_folded, title_folded, id);

-- Singer requests. Queued while processed_at IS NULL; deleteRequest/clearRequests set
-- processed_at, which keeps the row as the venue's history. request_id is per customer.
CREATE TABLE song_requests (
    customer_id  TEXT    NOT NULL REFERENCES customers (id),
    request_id   INTEGER NOT NULL CHECK (request_id <> 0),
    venue_id     TEXT    NOT NULL REFERENCES venues (id),
    singer       TEXT    NOT NULL,
    artist       TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    key_change   INTEGER NOT NULL CHECK (key_change BETWEEN -12 AND 12),
    requested_at INTEGER NOT NULL,
    processed_at INTEGER,
    PRIMARY KEY (customer_id, request_id)
) STRICT;

-- A venue's queue, oldest first (getRequests, polled every 30 s by every OpenKJ).
CREATE INDEX song_requests_queue_idx
    ON song_requests (venue_id, requested_at, request_id) WHERE processed_at IS NULL;
-- A venue's whole history, oldest first (customer API), and deleting a venue's rows.
CREATE INDEX song_requests_venue_idx ON song_requests (venue_id, requested_at, request_id);
