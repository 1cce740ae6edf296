-- Org portability (issue #21): what a platform without containers keeps for each workspace in place of its
-- /configs volume (surface.md §7, data.md §5), the plugins each declares, platform instructions (surface.md §10),
-- and the bundle a workspace was imported from (workspaces.md §8).

-- A workspace's config document: a JSON object (text), shallow-merged by PATCH /workspaces/:id/config.
CREATE TABLE workspace_config (
    workspace_id TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    data         TEXT NOT NULL DEFAULT '{}',
    updated_at   BIGINT NOT NULL
);

-- Its files (config.yaml, system-prompt.md, skills/<id>/...), one row per root and relative path. Text only (the
-- API carries content as JSON strings); the per-workspace count and byte totals are held by model/wsfiles.c under
-- the workspace's row lock, the per-file bound here as well.
CREATE TABLE workspace_files (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    root         TEXT NOT NULL CHECK (root IN ('/configs', '/workspace', '/home', '/plugins')),
    path         TEXT NOT NULL CHECK (path <> '' AND path NOT LIKE '/%'),
    content      TEXT NOT NULL,
    size         BIGINT NOT NULL CHECK (size >= 0 AND size <= 1048576),
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, root, path)
);

-- Plugins a workspace declares (an org template's `plugins`): what the canvas lists for it without a container.
CREATE TABLE workspace_plugins (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    source       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);

-- Rules for agents, global or for one workspace (`team` is in the set, as the reference's schema, though the API
-- refuses it). Lengths are counted in characters here; the API counts bytes, which is never fewer.
CREATE TABLE platform_instructions (
    id           TEXT PRIMARY KEY,
    scope        TEXT NOT NULL CHECK (scope IN ('global', 'team', 'workspace')),
    scope_target TEXT,
    title        TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    content      TEXT NOT NULL CHECK (length(content) BETWEEN 1 AND 8192),
    priority     INTEGER NOT NULL DEFAULT 0,
    enabled      INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    CONSTRAINT platform_instructions_target CHECK (scope = 'global' OR scope_target IS NOT NULL)
);
CREATE INDEX idx_platform_instructions_target ON platform_instructions (scope_target);

-- The reference seeds one global rule (2026-01-01T00:00:00Z as its time: a migration has no clock both dialects
-- spell alike).
INSERT INTO platform_instructions (id, scope, scope_target, title, content, priority, enabled, created_at, updated_at)
VALUES ('7f3c2a1e-5b6d-4e8f-9a0b-1c2d3e4f5a6b', 'global', NULL, 'Acknowledge-first responsiveness',
        'When a message will take you more than a few seconds to handle, first send the user a short acknowledgement '
        || 'with send_message_to_user (what you understood and what you are about to do), then do the work and report '
        || 'the result. Never leave the user waiting in silence.',
        100, 1, 1767225600000, 1767225600000);

ALTER TABLE workspaces ADD COLUMN source_bundle_id TEXT;
