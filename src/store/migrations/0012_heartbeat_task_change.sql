-- The task a workspace reported before its latest heartbeat. A heartbeat's UPDATE copies current_task here as it
-- writes the new one (SET sees the row as it was), so the same statement can RETURN whether the task changed:
-- TASK_UPDATED costs a write only when it did.
ALTER TABLE workspaces ADD COLUMN previous_task TEXT NOT NULL DEFAULT '';
