-- PostgreSQL only (its song_search table gains the folded artist and title as columns,
-- see migrations/postgres). SQLite's FTS5 index needs no change; this migration keeps
-- the two backends' migration names in step.
SELECT 1;
