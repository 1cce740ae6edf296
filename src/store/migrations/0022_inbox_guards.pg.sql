-- The schema's own refusal of backward moves in the inbox stores (0022_inbox), whoever writes: a status change
-- must be an edge of inbox_transitions, a decision (approval, user task, request answer) is final, and a gate
-- approval is consumed once. The model never asks for anything else (its UPDATEs are guarded the same way); these
-- are the backstop. Refusals are check violations (SQLSTATE 23514), like the table's own CHECKs.
CREATE FUNCTION colony_inbox_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    machine TEXT := TG_ARGV[0];
    final BOOLEAN;
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT EXISTS (SELECT 1 FROM inbox_transitions t
            WHERE t.store = machine AND t.from_status = OLD.status AND t.to_status = NEW.status) THEN
        RAISE EXCEPTION '%: status cannot move from % to %', TG_TABLE_NAME, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF machine = 'approval' THEN
        final := OLD.status <> 'pending' AND (NEW.decided_by IS DISTINCT FROM OLD.decided_by
            OR NEW.decided_at IS DISTINCT FROM OLD.decided_at OR NEW.decider IS DISTINCT FROM OLD.decider
            OR (OLD.consumed_at IS NOT NULL AND NEW.consumed_at IS DISTINCT FROM OLD.consumed_at));
    ELSIF machine = 'user_task' THEN
        final := OLD.status <> 'pending' AND (NEW.resolved_by IS DISTINCT FROM OLD.resolved_by
            OR NEW.resolved_at IS DISTINCT FROM OLD.resolved_at);
    ELSE
        final := OLD.responded_at IS NOT NULL AND (NEW.responder_type IS DISTINCT FROM OLD.responder_type
            OR NEW.responder_id IS DISTINCT FROM OLD.responder_id OR NEW.responded_at IS DISTINCT FROM OLD.responded_at);
    END IF;
    IF final THEN
        RAISE EXCEPTION '%: a decision is final', TG_TABLE_NAME USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER approval_requests_forward_only BEFORE UPDATE ON approval_requests
    FOR EACH ROW EXECUTE FUNCTION colony_inbox_forward_only('approval');
CREATE TRIGGER user_tasks_forward_only BEFORE UPDATE ON user_tasks
    FOR EACH ROW EXECUTE FUNCTION colony_inbox_forward_only('user_task');
CREATE TRIGGER requests_forward_only BEFORE UPDATE ON requests
    FOR EACH ROW EXECUTE FUNCTION colony_inbox_forward_only('request');
