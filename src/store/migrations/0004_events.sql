-- Every event shown live is first a row here; the id only grows, so subscribers can resume after it.
CREATE TABLE events (
    id           AUTOINCREMENT_PK,
    type         TEXT NOT NULL,
    workspace_id TEXT,
    payload      TEXT NOT NULL DEFAULT '{}',
    created_at   BIGINT NOT NULL
);
CREATE INDEX idx_events_workspace ON events (workspace_id, id);
