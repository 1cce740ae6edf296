-- The org tree. Invariants live here, on both drivers:
--  * names are unique among live siblings; roots collide with each other (a sentinel stands for "no parent");
--  * at most one platform row, and it has no parent;
--  * status, kind, delivery_mode and workspace_access take only their known values.
-- Times are integer milliseconds since the epoch (UTC). JSON documents are stored as text.
CREATE TABLE workspaces (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    role                 TEXT,
    kind                 TEXT NOT NULL DEFAULT 'workspace' CHECK (kind IN ('workspace', 'platform')),
    parent_id            TEXT REFERENCES workspaces (id),
    status               TEXT NOT NULL DEFAULT 'provisioning' CHECK (status IN ('provisioning', 'online', 'offline',
                             'degraded', 'failed', 'removed', 'paused', 'hibernated', 'hibernating', 'awaiting_agent')),
    tier                 INTEGER NOT NULL DEFAULT 3,
    runtime              TEXT NOT NULL DEFAULT 'claude-code',
    model                TEXT NOT NULL DEFAULT '',
    template             TEXT NOT NULL DEFAULT '',
    url                  TEXT NOT NULL DEFAULT '',
    delivery_mode        TEXT NOT NULL DEFAULT 'push' CHECK (delivery_mode IN ('push', 'poll')),
    agent_card           TEXT,
    active_tasks         INTEGER NOT NULL DEFAULT 0,
    max_concurrent_tasks INTEGER NOT NULL DEFAULT 1,
    current_task         TEXT NOT NULL DEFAULT '',
    last_error_rate      DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_sample_error    TEXT NOT NULL DEFAULT '',
    uptime_seconds       BIGINT NOT NULL DEFAULT 0,
    last_heartbeat_at    BIGINT,
    last_outbound_at     BIGINT,
    workspace_dir        TEXT,
    workspace_access     TEXT NOT NULL DEFAULT 'none' CHECK (workspace_access IN ('none', 'read_only', 'read_write')),
    budget_limit         BIGINT,
    monthly_spend        BIGINT NOT NULL DEFAULT 0,
    broadcast_enabled    INTEGER NOT NULL DEFAULT 0 CHECK (broadcast_enabled IN (0, 1)),
    talk_to_user_enabled INTEGER NOT NULL DEFAULT 1 CHECK (talk_to_user_enabled IN (0, 1)),
    compute              TEXT NOT NULL DEFAULT '{}',
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    removed_at           BIGINT,
    CONSTRAINT workspaces_platform_root_check CHECK (kind <> 'platform' OR parent_id IS NULL),
    CONSTRAINT workspaces_not_own_parent CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE UNIQUE INDEX workspaces_parent_name_uniq
    ON workspaces (COALESCE(parent_id, '00000000-0000-0000-0000-000000000000'), name) WHERE status <> 'removed';
CREATE UNIQUE INDEX uniq_workspaces_one_platform_root ON workspaces (kind) WHERE kind = 'platform';
CREATE INDEX idx_workspaces_parent_id ON workspaces (parent_id);
CREATE INDEX idx_workspaces_status ON workspaces (status);
CREATE INDEX idx_workspaces_created_at ON workspaces (created_at);

-- Canvas-only node state, one row per workspace.
CREATE TABLE canvas_layouts (
    workspace_id TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    x            DOUBLE PRECISION NOT NULL DEFAULT 0,
    y            DOUBLE PRECISION NOT NULL DEFAULT 0,
    collapsed    INTEGER NOT NULL DEFAULT 0 CHECK (collapsed IN (0, 1))
);

-- Bearer tokens of one workspace. Only the SHA-256 (hex) is kept, with the first 8 characters to show.
CREATE TABLE workspace_auth_tokens (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    kind         TEXT NOT NULL DEFAULT 'api' CHECK (kind IN ('instance', 'api')),
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX idx_workspace_auth_tokens_live ON workspace_auth_tokens (workspace_id) WHERE revoked_at IS NULL;

-- Org API tokens: full admin of the deployment, optionally anchored to an org root.
CREATE TABLE org_api_tokens (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    name         TEXT,
    created_by   TEXT,
    org_id       TEXT REFERENCES workspaces (id) ON DELETE SET NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    expires_at   BIGINT
);
CREATE INDEX idx_org_api_tokens_org ON org_api_tokens (org_id) WHERE org_id IS NOT NULL;
