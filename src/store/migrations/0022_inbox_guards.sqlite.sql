-- The schema's own refusal of backward moves in the inbox stores (0022_inbox), whoever writes: a status change
-- must be an edge of inbox_transitions, a decided approval keeps its decision, and a gate approval is consumed
-- once. The model never asks for anything else (its UPDATEs are guarded the same way); these are the backstop.
-- The PostgreSQL twin of this file does the same with one trigger function.
CREATE TRIGGER approval_requests_forward_only BEFORE UPDATE ON approval_requests
FOR EACH ROW WHEN (NEW.status <> OLD.status AND NOT EXISTS (SELECT 1 FROM inbox_transitions t
        WHERE t.store = 'approval' AND t.from_status = OLD.status AND t.to_status = NEW.status))
    OR (OLD.status <> 'pending' AND (NEW.decided_by IS NOT OLD.decided_by OR NEW.decided_at IS NOT OLD.decided_at
        OR NEW.decider IS NOT OLD.decider))
    OR (OLD.consumed_at IS NOT NULL AND NEW.consumed_at IS NOT OLD.consumed_at)
BEGIN
    SELECT RAISE(ABORT, 'approval_requests: a decision is final and an approval is consumed once');
END;

CREATE TRIGGER user_tasks_forward_only BEFORE UPDATE ON user_tasks
FOR EACH ROW WHEN (NEW.status <> OLD.status AND NOT EXISTS (SELECT 1 FROM inbox_transitions t
        WHERE t.store = 'user_task' AND t.from_status = OLD.status AND t.to_status = NEW.status))
    OR (OLD.status <> 'pending' AND (NEW.resolved_by IS NOT OLD.resolved_by OR NEW.resolved_at IS NOT OLD.resolved_at))
BEGIN
    SELECT RAISE(ABORT, 'user_tasks: a resolution is final');
END;

CREATE TRIGGER requests_forward_only BEFORE UPDATE ON requests
FOR EACH ROW WHEN (NEW.status <> OLD.status AND NOT EXISTS (SELECT 1 FROM inbox_transitions t
        WHERE t.store = 'request' AND t.from_status = OLD.status AND t.to_status = NEW.status))
    OR (OLD.responded_at IS NOT NULL AND (NEW.responder_type IS NOT OLD.responder_type
        OR NEW.responder_id IS NOT OLD.responder_id OR NEW.responded_at IS NOT OLD.responded_at))
BEGIN
    SELECT RAISE(ABORT, 'requests: an answer is final');
END;
