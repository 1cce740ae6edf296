-- The audit ledger is append-only in the schema, whoever writes (0026_workspace_ops): an UPDATE is refused, and so
-- is a DELETE while the entry's workspace still exists, so that only a purge of the workspace (whose cascade runs
-- after the workspace row is gone) removes entries. Refusals are check violations (SQLSTATE 23514). The SQLite twin
-- of this file does the same with two triggers.
CREATE FUNCTION colony_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'audit_events is append-only: an entry is never changed' USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM workspaces WHERE id = OLD.workspace_id) THEN
        RAISE EXCEPTION 'audit_events is append-only: entries go only with their workspace (purge)'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION colony_audit_append_only();
