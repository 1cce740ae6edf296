-- Org-level telemetry (org.import.started / org.import.completed …), not tied to one workspace.
CREATE TABLE structure_events (
    id           TEXT PRIMARY KEY,
    event_type   TEXT NOT NULL,
    workspace_id TEXT,
    payload      TEXT NOT NULL DEFAULT '{}',
    created_at   BIGINT NOT NULL
);
CREATE INDEX idx_structure_events_type ON structure_events (event_type, created_at);

-- Plugins an org allows (empty = all). The org is a root workspace, or the platform root once installed.
CREATE TABLE org_plugin_allowlist (
    org_id      TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    plugin_name TEXT NOT NULL,
    enabled_by  TEXT NOT NULL,
    enabled_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, plugin_name)
);
