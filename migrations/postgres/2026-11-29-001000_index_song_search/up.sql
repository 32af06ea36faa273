-- Song search from PostgreSQL's own text index (issue #9, ADR 0052): a pg_trgm GIN index
-- over each song's folded artist and title joined by a newline (search terms are split
-- on white space, so none holds a newline and a term occurs in the joined text exactly
-- when it occurs in one of the two). LIKE '%term%' on it uses the index; search
-- re-checks every candidate with strpos on songs, so results are exactly those of
-- SongQuery::matches.
--
-- pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: a role with CREATE
-- on the database may install it. keyward's start-up names it when this fails.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The index lives on a copy of the searched text, filled after the upload rather than
-- during it: a GIN trigram index on songs itself halved upload speed (~18 µs per song of
-- trigram extraction and pending-list writes). Uploads queue their song ids in
-- songs_unindexed; keyward's index task moves them into song_search once uploads pause,
-- and search also reads the queue, so it never misses a song. Rows are removed with their
-- song by keyward (clear_song_book), not by foreign keys, whose per-row checks would slow
-- both uploads and clears.
CREATE TABLE song_search (
    id          bigint  PRIMARY KEY,
    customer_id uuid    NOT NULL,
    system_id   integer NOT NULL,
    folded      text    COLLATE "C" NOT NULL
);
CREATE INDEX song_search_book_idx ON song_search (customer_id, system_id);
CREATE INDEX song_search_trigram_idx ON song_search USING gin (folded gin_trgm_ops);

CREATE TABLE songs_unindexed (
    id bigint PRIMARY KEY
);
INSERT INTO songs_unindexed (id) SELECT id FROM songs;

-- fold_version: the keyward_domain::songbook::FOLD_VERSION the folded columns were
-- computed with; the application refolds every song (and re-queues it for the index) when
-- it is older. Existing rows were folded by version 1 (lower case only).
CREATE TABLE song_search_state (
    id           integer PRIMARY KEY CONSTRAINT song_search_state_single_row CHECK (id = 1),
    fold_version integer NOT NULL
);
INSERT INTO song_search_state (id, fold_version) VALUES (1, 1);
