DROP TABLE song_requests;
DROP TABLE songs;
DROP TABLE venues;
ALTER TABLE customers DROP COLUMN last_request_id, DROP COLUMN openkj_serial;
