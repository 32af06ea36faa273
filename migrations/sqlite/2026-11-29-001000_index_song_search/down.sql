DROP TRIGGER songs_search_forget;
DROP TABLE song_search_state;
DROP TABLE songs_search;

CREATE TABLE songs_old (
    id            INTEGER PRIMARY KEY,
    customer_id   TEXT    NOT NULL REFERENCES customers (id),
    system_id     INTEGER NOT NULL CHECK (system_id >= 1),
    artist        TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    artist_folded TEXT    NOT NULL,
    title_folded  TEXT    NOT NULL,
    UNIQUE (customer_id, system_id, artist, title)
) STRICT;
INSERT INTO songs_old (id, customer_id, system_id, artist, title, artist_folded, title_folded)
    SELECT id, customer_id, system_id, artist, title, artist_folded, title_folded FROM songs;
DROP TABLE songs;
ALTER TABLE songs_old RENAME TO songs;
CREATE INDEX songs_book_order_idx
    ON songs (customer_id, system_id, artist_folded, title_folded, id);
