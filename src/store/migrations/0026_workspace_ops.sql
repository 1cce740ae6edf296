-- Workspace operations that need no container (shared/api/surface.md §1-§6, data.md §4.3 and §4.5,
-- workspaces.md §7): budgets and their spend ledger, token usage, workflow checkpoints, the audit ledger, the LLM
-- billing override. Times are integer milliseconds since the epoch; JSON is text; money is integer.

-- Budgets: a ceiling in USD cents per rolling period (NULL: none; 0 blocks at once). The monthly one is the
-- existing budget_limit column (the reference's legacy field mirrors it). budget_lease is the one metered A2A
-- delivery in flight to a budgeted workspace (model/budget.h): its reply's cost is known only when it arrives, so
-- a second one waits until the first is accounted; budget_lease_until bounds it should a node die meanwhile.
-- spend_delta is what the latest heartbeat's cumulative monthly_spend added (SET sees the row as it was), so
-- the same statement that stores it can RETURN the increment to write to the ledger.
ALTER TABLE workspaces ADD COLUMN budget_hourly BIGINT CHECK (budget_hourly >= 0);
ALTER TABLE workspaces ADD COLUMN budget_daily BIGINT CHECK (budget_daily >= 0);
ALTER TABLE workspaces ADD COLUMN budget_weekly BIGINT CHECK (budget_weekly >= 0);
ALTER TABLE workspaces ADD COLUMN budget_lease TEXT;
ALTER TABLE workspaces ADD COLUMN budget_lease_until BIGINT;
ALTER TABLE workspaces ADD COLUMN spend_delta BIGINT NOT NULL DEFAULT 0;
-- The workspace's LLM billing override (surface.md §5); NULL: derived.
ALTER TABLE workspaces ADD COLUMN llm_billing_mode TEXT
    CHECK (llm_billing_mode IN ('platform_managed', 'byok', 'disabled'));

-- The spend ledger, in micro-USD (a cent is 10,000): heartbeat increments of the agent's own monthly_spend, and
-- the estimated cost of the token usage that A2A replies report. Windows are rolling (> now - 1h/24h/7d/30d);
-- rows older than 35 days are pruned by the writers.
CREATE TABLE workspace_spend_events (
    id              AUTOINCREMENT_PK,
    workspace_id    TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    delta_micro_usd BIGINT NOT NULL CHECK (delta_micro_usd > 0),
    source          TEXT NOT NULL CHECK (source IN ('heartbeat', 'a2a_usage')),
    occurred_at     BIGINT NOT NULL
);
CREATE INDEX idx_spend_events_window ON workspace_spend_events (workspace_id, occurred_at);

-- Token usage per UTC day, added to by every A2A reply that reports usage (additive upsert).
CREATE TABLE workspace_token_usage (
    workspace_id   TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    period_start   BIGINT NOT NULL,
    input_tokens   BIGINT NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens  BIGINT NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    call_count     BIGINT NOT NULL DEFAULT 0 CHECK (call_count >= 0),
    cost_micro_usd BIGINT NOT NULL DEFAULT 0 CHECK (cost_micro_usd >= 0),
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, period_start)
);

-- Workflow checkpoints: one row per (workspace, workflow, step), replaced by a later write of the same step.
CREATE TABLE workflow_checkpoints (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    workflow_id  TEXT NOT NULL CHECK (workflow_id <> ''),
    step_name    TEXT NOT NULL CHECK (step_name <> ''),
    step_index   INTEGER NOT NULL,
    payload      TEXT NOT NULL DEFAULT 'null',
    completed_at BIGINT NOT NULL,
    CONSTRAINT workflow_checkpoints_step_uniq UNIQUE (workspace_id, workflow_id, step_name)
);
CREATE INDEX idx_checkpoints_latest ON workflow_checkpoints (workspace_id, completed_at, id);
CREATE INDEX idx_checkpoints_steps ON workflow_checkpoints (workspace_id, workflow_id, step_index, step_name);

-- The audit ledger (workspaces.md §7): append-only (0026_workspace_ops_guards refuses UPDATE, and DELETE while the
-- workspace exists, so only a purge removes rows), one HMAC-SHA256 chain per (workspace, agent): each entry's
-- prev_hmac is the hmac of the agent's entry before it, NULL for the first. The unique index makes a fork of a
-- chain impossible (two entries cannot follow the same one). seq is the order of appends; appends of one workspace
-- are serialised, so its entries become visible in seq order (the verifier relies on that).
CREATE TABLE audit_events (
    seq                  AUTOINCREMENT_PK,
    id                   TEXT NOT NULL UNIQUE,
    workspace_id         TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    timestamp            BIGINT NOT NULL,
    agent_id             TEXT NOT NULL CHECK (agent_id <> ''),
    session_id           TEXT NOT NULL,
    operation            TEXT NOT NULL CHECK (operation <> ''),
    input_hash           TEXT,
    output_hash          TEXT,
    model_used           TEXT,
    human_oversight_flag INTEGER NOT NULL DEFAULT 0 CHECK (human_oversight_flag IN (0, 1)),
    risk_flag            INTEGER NOT NULL DEFAULT 0 CHECK (risk_flag IN (0, 1)),
    prev_hmac            TEXT,
    hmac                 TEXT NOT NULL
);
CREATE UNIQUE INDEX audit_events_chain_uniq ON audit_events (workspace_id, agent_id, COALESCE(prev_hmac, ''));
CREATE INDEX idx_audit_events_page ON audit_events (workspace_id, timestamp, seq);
CREATE INDEX idx_audit_events_agent ON audit_events (workspace_id, agent_id, seq);

-- How far the workspace's ledger has been verified (a cache: GET …/audit hashes only the entries appended since),
-- and the first broken entry found. `mac` is an HMAC of the row under the ledger key, so a watermark written by
-- anyone without the key is ignored (verification starts over).
CREATE TABLE audit_verified (
    workspace_id  TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    verified_seq  BIGINT NOT NULL,
    broken_seq    BIGINT,
    broken_id     TEXT,
    broken_agent  TEXT,
    broken_reason TEXT,
    verified_at   BIGINT NOT NULL,
    mac           TEXT NOT NULL
);
