-- Files uploaded in the chat for workspaces that cannot be reached (poll mode), staged until the agent fetches and
-- acknowledges them. No foreign key: a staged file outlives a purge until it expires. BYTEA is a blob on SQLite too.
CREATE TABLE pending_uploads (
    file_id      TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    content      BYTEA NOT NULL,
    size_bytes   BIGINT NOT NULL CHECK (size_bytes >= 0 AND size_bytes <= 104857600),
    filename     TEXT NOT NULL CHECK (length(filename) BETWEEN 1 AND 100),
    mimetype     TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    fetched_at   BIGINT,
    acked_at     BIGINT,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX idx_pending_uploads_workspace_unacked ON pending_uploads (workspace_id, created_at) WHERE acked_at IS NULL;
CREATE INDEX idx_pending_uploads_expires ON pending_uploads (expires_at) WHERE acked_at IS NULL;
CREATE INDEX idx_pending_uploads_acked ON pending_uploads (acked_at) WHERE acked_at IS NOT NULL;
