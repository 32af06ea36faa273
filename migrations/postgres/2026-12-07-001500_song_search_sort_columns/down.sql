DROP TABLE song_search;
CREATE TABLE song_search (
    id          bigint  PRIMARY KEY,
    customer_id uuid    NOT NULL,
    system_id   integer NOT NULL,
    folded      text    COLLATE "C" NOT NULL
);
CREATE INDEX song_search_book_idx ON song_search (customer_id, system_id);
CREATE INDEX song_search_trigram_idx ON song_search USING gin (folded gin_trgm_ops);
INSERT INTO songs_unindexed (id) SELECT id FROM songs ON CONFLICT (id) DO NOTHING;
