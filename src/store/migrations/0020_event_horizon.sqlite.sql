-- Nothing to change on SQLite: one writer at a time, so event ids become visible in the order they are drawn
-- (the PostgreSQL twin of this migration explains why PostgreSQL needs more).
SELECT 1;
