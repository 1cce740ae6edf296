-- What happened in a workspace: messages in and out, tasks, logs. `seq` orders rows and is the resume cursor.
CREATE TABLE activity_logs (
    seq             AUTOINCREMENT_PK,
    id              TEXT NOT NULL UNIQUE,
    workspace_id    TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    activity_type   TEXT NOT NULL,
    source_id       TEXT,
    target_id       TEXT,
    method          TEXT,
    summary         TEXT,
    request_body    TEXT,
    response_body   TEXT,
    duration_ms     BIGINT,
    status          TEXT NOT NULL DEFAULT 'ok',
    error_detail    TEXT,
    tool_trace      TEXT,
    idempotency_key TEXT,
    message_id      TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX idx_activity_ws_seq ON activity_logs (workspace_id, seq);
CREATE INDEX idx_activity_ws_type ON activity_logs (workspace_id, activity_type, seq);
CREATE INDEX idx_activity_created ON activity_logs (created_at);
CREATE UNIQUE INDEX activity_logs_message_uniq ON activity_logs (workspace_id, message_id) WHERE message_id IS NOT NULL;
CREATE UNIQUE INDEX activity_logs_idempotency_uniq ON activity_logs (workspace_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

ALTER TABLE workspaces ADD COLUMN last_activity_at BIGINT;
ALTER TABLE workspaces ADD COLUMN chat_session_started_at BIGINT;
ALTER TABLE workspaces ADD COLUMN last_register_failure_at BIGINT;
