-- Song search reads its candidates' sort keys from song_search itself (issue #9, ADR
-- 0052): the folded artist and title become columns of their own, and the pg_trgm GIN
-- index moves to an expression over them (the same text as before: artist, a newline,
-- title). A search for a term in ~1,200 songs used to fetch each candidate from songs by
-- primary key to re-check and sort it (5.4 ms of 6.5 ms on a 200,000-song book); now
-- only the page's songs are fetched.
--
-- The table is rebuilt empty and every song queued again; keyward's index task refills
-- it after start, and search reads the queued songs meanwhile, so it stays exact.
DROP TABLE song_search;
CREATE TABLE song_search (
    id            bigint  PRIMARY KEY,
    customer_id   uuid    NOT NULL,
    system_id     integer NOT NULL,
    artist_folded text    COLLATE "C" NOT NULL,
    title_folded  text    COLLATE "C" NOT NULL
);
CREATE INDEX song_search_book_idx ON song_search (customer_id, system_id);
CREATE INDEX song_search_trigram_idx
    ON song_search USING gin ((artist_folded || E'\n' || title_folded) gin_trgm_ops);
INSERT INTO songs_unindexed (id) SELECT id FROM songs ON CONFLICT (id) DO NOTHING;
