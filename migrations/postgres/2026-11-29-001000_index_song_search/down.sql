DROP TABLE song_search_state;
DROP TABLE songs_unindexed;
DROP TABLE song_search;
-- pg_trgm stays: other objects of the database may use it.
