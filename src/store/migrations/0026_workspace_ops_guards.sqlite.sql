-- The audit ledger is append-only in the schema, whoever writes (0026_workspace_ops): an UPDATE is refused, and so
-- is a DELETE while the entry's workspace still exists, so that only a purge of the workspace (whose cascade runs
-- after the workspace row is gone) removes entries. The PostgreSQL twin of this file does the same with one
-- trigger function.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: an entry is never changed');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
FOR EACH ROW WHEN EXISTS (SELECT 1 FROM workspaces WHERE id = OLD.workspace_id)
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: entries go only with their workspace (purge)');
END;
