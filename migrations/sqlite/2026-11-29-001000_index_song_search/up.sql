-- Song search from SQLite's own text index (issue #9, ADR 0052): an FTS5 trigram index
-- over the folded artist and title, which finds any substring of three or more
-- characters; search re-checks every candidate against the folded columns, so results
-- are exactly those of the LIKE-free reference semantics (SongQuery::matches).
--
-- The index is maintained after the fact, not by the upload: an indexer task of the
-- application adds songs with id > indexed_through in small transactions once uploads
-- pause, and search also scans that not-yet-indexed tail, so a search is never stale.
-- That needs ids that only grow and are never reused: the table is rebuilt with
-- AUTOINCREMENT (same columns, same ids).

CREATE TABLE songs_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id   TEXT    NOT NULL REFERENCES customers (id),
    system_id     INTEGER NOT NULL CHECK (system_id >= 1),
    artist        TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    artist_folded TEXT    NOT NULL,
    title_folded  TEXT    NOT NULL,
    UNIQUE (customer_id, system_id, artist, title)
) STRICT;
INSERT INTO songs_new (id, customer_id, system_id, artist, title, artist_folded, title_folded)
    SELECT id, customer_id, system_id, artist, title, artist_folded, title_folded FROM songs;
DROP TABLE songs;
ALTER TABLE songs_new RENAME TO songs;

-- Listing a song book in search order without sorting it (and searches for very common
-- words, which walk the book in this order).
CREATE INDEX songs_book_order_idx
    ON songs (customer_id, system_id, artist_folded, title_folded, id);

-- A customer's songs in upload order: OpenKJ's whole-book getSongs reads them in chunks
-- of 5,000 by id (without it, every chunk sorts the whole book: 30-45 ms each).
CREATE INDEX songs_customer_order_idx ON songs (customer_id, id);

-- rowid = songs.id. Contentless (the text lives in songs) with contentless_delete so a
-- deleted song's entry can be removed by rowid alone. case_sensitive 1: the columns are
-- folded already, and SQLite's own case folding must not widen a match.
CREATE VIRTUAL TABLE songs_search USING fts5 (
    artist_folded,
    title_folded,
    content = '',
    contentless_delete = 1,
    tokenize = 'trigram case_sensitive 1',
    detail = full
);

-- indexed_through: every song with id <= it is in songs_search, and no other.
-- fold_version: the keyward_domain::songbook::FOLD_VERSION the folded columns were
-- computed with; the application refolds every song (and rebuilds the index) when it is
-- older. Existing rows were folded by version 1 (lower case only).
CREATE TABLE song_search_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_through INTEGER NOT NULL CHECK (indexed_through >= 0),
    fold_version    INTEGER NOT NULL
) STRICT;
INSERT INTO song_search_state (id, indexed_through, fold_version) VALUES (1, 0, 1);

-- A deleted song leaves the index with it (only songs already indexed have an entry).
CREATE TRIGGER songs_search_forget AFTER DELETE ON songs
WHEN old.id <= (SELECT indexed_through FROM song_search_state)
BEGIN
    DELETE FROM songs_search WHERE rowid = old.id;
END;
