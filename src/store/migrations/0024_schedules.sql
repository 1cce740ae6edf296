-- Cron schedules of a workspace (schedules-mcp.md §1), fired as A2A messages by the scheduler of every node. An
-- occurrence is claimed by one UPDATE guarded on the stored next_run_at, so it fires once however many nodes tick.
-- Names are unique in a workspace when given (the reference made two unnamed schedules collide); a template's
-- schedules are upserted by name.
CREATE TABLE workspace_schedules (
    id                     TEXT PRIMARY KEY,
    workspace_id           TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name                   TEXT NOT NULL DEFAULT '',
    cron_expr              TEXT NOT NULL,
    timezone               TEXT NOT NULL DEFAULT 'UTC',
    prompt                 TEXT NOT NULL,
    enabled                INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    last_run_at            BIGINT,
    next_run_at            BIGINT,
    run_count              BIGINT NOT NULL DEFAULT 0,
    last_status            TEXT NOT NULL DEFAULT '',
    last_error             TEXT NOT NULL DEFAULT '',
    source                 TEXT NOT NULL DEFAULT 'runtime' CHECK (source IN ('template', 'runtime')),
    consecutive_empty_runs INTEGER NOT NULL DEFAULT 0,
    consecutive_sdk_errors INTEGER NOT NULL DEFAULT 0,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);
CREATE INDEX idx_schedules_workspace ON workspace_schedules (workspace_id, created_at, id);
CREATE INDEX idx_schedules_due ON workspace_schedules (next_run_at) WHERE enabled = 1 AND next_run_at IS NOT NULL;
CREATE UNIQUE INDEX workspace_schedules_name_uniq ON workspace_schedules (workspace_id, name) WHERE name <> '';

-- A run's history row (activity_type cron_run) names its schedule, read newest first through this index; its
-- idempotency_key is the occurrence's messageId, so an occurrence is recorded once.
ALTER TABLE activity_logs ADD COLUMN schedule_id TEXT;
CREATE INDEX idx_activity_schedule ON activity_logs (schedule_id, seq) WHERE schedule_id IS NOT NULL;
