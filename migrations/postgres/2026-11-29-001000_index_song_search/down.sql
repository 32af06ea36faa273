DROP TABLE song_search_state;
DROP INDEX songs_search_idx;
-- pg_trgm stays: other objects of the database may use it.
