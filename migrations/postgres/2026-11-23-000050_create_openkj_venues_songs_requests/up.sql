-- OpenKJ compatibility: venues, song books and singer requests (SPEC §8), and the
-- per-customer state they move. See docs/adr/0030-0033.

-- The serial OpenKJ polls (1..=2147483647, wraps to 1) and the last request id handed
-- out (0 = none yet). Both move only inside the transaction of the change they announce,
-- after the customer row has been locked.
ALTER TABLE customers
    ADD COLUMN openkj_serial integer NOT NULL DEFAULT 1
        CONSTRAINT customers_openkj_serial_positive CHECK (openkj_serial >= 1),
    ADD COLUMN last_request_id integer NOT NULL DEFAULT 0
        CONSTRAINT customers_last_request_id_not_negative CHECK (last_request_id >= 0);

CREATE TABLE venues (
    id                 uuid        PRIMARY KEY,
    customer_id        uuid        NOT NULL REFERENCES customers (id),
    -- OpenKJ's venue_id: unique per customer, 0 included.
    openkj_venue_id    integer     NOT NULL
        CONSTRAINT venues_openkj_venue_id_not_negative CHECK (openkj_venue_id >= 0),
    name               text        NOT NULL,
    -- The public singer URL slug, unique across all customers.
    url_name           text        NOT NULL CONSTRAINT venues_url_name_key UNIQUE,
    accepting_requests boolean     NOT NULL,
    -- The song book (OpenKJ System ID) singers at this venue search.
    system_id          integer     NOT NULL CONSTRAINT venues_system_id_positive CHECK (system_id >= 1),
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CONSTRAINT venues_customer_openkj_venue_id_key UNIQUE (customer_id, openkj_venue_id)
);

-- Song books: one per (customer, system_id). artist/title are stored byte for byte;
-- the *_folded copies (Unicode lower case, computed by the application) are what search
-- matches and orders by, in byte order (COLLATE "C") like SQLite's BINARY.
CREATE TABLE songs (
    id            bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id   uuid    NOT NULL REFERENCES customers (id),
    system_id     integer NOT NULL CONSTRAINT songs_system_id_positive CHECK (system_id >= 1),
    artist        text    NOT NULL,
    title         text    NOT NULL,
    artist_folded text    COLLATE "C" NOT NULL,
    title_folded  text    COLLATE "C" NOT NULL,
    CONSTRAINT songs_book_song_key UNIQUE (customer_id, system_id, artist, title)
);

-- Listing a song book in search order without sorting it.
CREATE INDEX songs_book_order_idx
    ON songs (customer_id, system_id, artist_folded, title_folded, id);

-- Singer requests. Queued while processed_at IS NULL; deleteRequest/clearRequests set
-- processed_at, which keeps the row as the venue's history. request_id is per customer.
CREATE TABLE song_requests (
    customer_id  uuid        NOT NULL REFERENCES customers (id),
    request_id   integer     NOT NULL CONSTRAINT song_requests_request_id_not_zero CHECK (request_id <> 0),
    venue_id     uuid        NOT NULL REFERENCES venues (id),
    singer       text        NOT NULL,
    artist       text        NOT NULL,
    title        text        NOT NULL,
    key_change   smallint    NOT NULL
        CONSTRAINT song_requests_key_change_range CHECK (key_change BETWEEN -12 AND 12),
    requested_at timestamptz NOT NULL,
    processed_at timestamptz,
    PRIMARY KEY (customer_id, request_id)
);

-- A venue's queue, oldest first (getRequests, polled every 30 s by every OpenKJ).
CREATE INDEX song_requests_queue_idx
    ON song_requests (venue_id, requested_at, request_id) WHERE processed_at IS NULL;
-- A venue's whole history, oldest first (customer API), and deleting a venue's rows.
CREATE INDEX song_requests_venue_idx ON song_requests (venue_id, requested_at, request_id);
