-- PostgreSQL only (see migrations/postgres); nothing to revert on SQLite.
SELECT 1;
