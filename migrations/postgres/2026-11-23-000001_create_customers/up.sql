-- A customer (tenant). The row is created on first use, in the same transaction as the
-- customer's first key; it is also the row locked to serialise per-customer writes.
CREATE TABLE customers (
    id         uuid        PRIMARY KEY,
    created_at timestamptz NOT NULL
);
