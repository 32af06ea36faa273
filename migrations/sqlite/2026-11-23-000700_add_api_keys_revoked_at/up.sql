-- When a key was revoked (microseconds since the Unix epoch). A revoked key can never be
-- re-activated; NULL for a key that was never revoked.
ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;
