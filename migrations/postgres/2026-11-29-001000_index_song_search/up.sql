-- Song search from PostgreSQL's own text index (issue #9, ADR 0052): a pg_trgm GIN index
-- over the folded artist and title joined by a newline (no search term holds white
-- space, so a term occurs in the joined text exactly when it occurs in one of the two).
-- LIKE '%term%' on that expression uses the index; search re-checks every candidate
-- with strpos, so results are exactly those of SongQuery::matches.
--
-- pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: a role with CREATE
-- on the database may install it. keyward's start-up names it when this fails.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- fastupdate (the default) queues new entries in the index's pending list, so an upload
-- does not pay for merging each song into the trigram posting trees.
CREATE INDEX songs_search_idx ON songs
    USING gin ((artist_folded || E'\n' || title_folded) gin_trgm_ops);

-- fold_version: the keyward_domain::songbook::FOLD_VERSION the folded columns were
-- computed with; the application refolds every song when it is older. Existing rows were
-- folded by version 1 (lower case only).
CREATE TABLE song_search_state (
    id           integer PRIMARY KEY CONSTRAINT song_search_state_single_row CHECK (id = 1),
    fold_version integer NOT NULL
);
INSERT INTO song_search_state (id, fold_version) VALUES (1, 1);
