-- Humans in the loop (shared/api/inbox.md): three separate stores, never mirrored — approvals (and the gate of
-- admin operations), user tasks (an agent asks its user), and the requests inbox with its message threads.
-- A write to one never touches the others. Times are integer milliseconds since the epoch, JSON is text.
--
-- Their state machines are data, as the delegation ledger's: every status write is one UPDATE guarded by an edge of
-- inbox_transitions, and a trigger (0022_inbox_guards) refuses any other move whoever writes, so a late, repeated
-- or concurrent decision can never change a decided row. Nothing moves backwards: a decided approval, a resolved
-- user task, an answered or cancelled request stay as they are.
CREATE TABLE inbox_transitions (
    store       TEXT NOT NULL CHECK (store IN ('approval', 'user_task', 'request')),
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    PRIMARY KEY (store, from_status, to_status)
);
INSERT INTO inbox_transitions (store, from_status, to_status) VALUES
    ('approval', 'pending', 'approved'), ('approval', 'pending', 'denied'), ('approval', 'pending', 'withdrawn'),
    ('user_task', 'pending', 'done'), ('user_task', 'pending', 'dismissed'),
    ('request', 'pending', 'info_requested'),
    ('request', 'pending', 'done'), ('request', 'pending', 'rejected'), ('request', 'pending', 'approved'),
    ('request', 'pending', 'cancelled'),
    ('request', 'info_requested', 'done'), ('request', 'info_requested', 'rejected'),
    ('request', 'info_requested', 'approved'), ('request', 'info_requested', 'cancelled');

-- Approvals. `requested_by` and `decider` are the credentials that asked and decided ("workspace:<id>",
-- "admin-token", "org-token:<token id>"); `decided_by` is the free-text name the decider gave (default "human").
-- No self-approval: an approval is never approved or denied by the credential that asked for it, nor by a token of
-- its own workspace (README difference 11). Gate rows (action org_token_mint…) carry the request_hash of the
-- operation they allow and are consumed once.
CREATE TABLE approval_requests (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    task_id      TEXT,
    action       TEXT NOT NULL CHECK (action <> ''),
    reason       TEXT,
    context      TEXT NOT NULL DEFAULT '{}',
    status       TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'approved', 'denied', 'escalated', 'withdrawn')),
    requested_by TEXT NOT NULL,
    decided_by   TEXT,
    decided_at   BIGINT,
    decider      TEXT,
    created_at   BIGINT NOT NULL,
    consumed_at  BIGINT,
    request_hash TEXT,
    CONSTRAINT approval_decided_once CHECK ((status = 'pending') = (decided_at IS NULL AND decider IS NULL)),
    CONSTRAINT approval_not_self_approved CHECK (status NOT IN ('approved', 'denied')
        OR (decider <> requested_by AND decider <> ('workspace:' || workspace_id))),
    CONSTRAINT approval_consumed_when_approved CHECK (consumed_at IS NULL
        OR (status = 'approved' AND request_hash IS NOT NULL))
);
CREATE INDEX idx_approval_requests_workspace ON approval_requests (workspace_id, created_at, id);
CREATE INDEX idx_approval_requests_pending ON approval_requests (created_at, id) WHERE status = 'pending';
CREATE INDEX approval_requests_gate_idx ON approval_requests (workspace_id, action, request_hash)
    WHERE status = 'approved' AND consumed_at IS NULL;
-- one pending gate row per operation: a retried gated request finds it instead of asking twice
CREATE UNIQUE INDEX approval_requests_gate_pending_uniq ON approval_requests (workspace_id, action, request_hash)
    WHERE status = 'pending' AND request_hash IS NOT NULL;

-- User tasks: an agent asks its user for something (title, detail); the user (or the agent) resolves it.
CREATE TABLE user_tasks (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    title        TEXT NOT NULL CHECK (title <> ''),
    detail       TEXT,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'dismissed')),
    created_at   BIGINT NOT NULL,
    resolved_at  BIGINT,
    resolved_by  TEXT,
    CONSTRAINT user_task_resolved_once CHECK ((status = 'pending') = (resolved_at IS NULL))
);
CREATE INDEX idx_user_tasks_workspace ON user_tasks (workspace_id, created_at, id);
CREATE INDEX idx_user_tasks_pending ON user_tasks (created_at, id) WHERE status = 'pending';

-- The requests inbox: a task or an approval asked by a user or an agent of a user or an agent. Party ids are text
-- without a foreign key (a user id is not a workspace); an agent recipient is checked when the request is made.
CREATE TABLE requests (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('task', 'approval')),
    requester_type TEXT NOT NULL CHECK (requester_type IN ('user', 'agent')),
    requester_id   TEXT NOT NULL,
    org_id         TEXT,
    recipient_type TEXT NOT NULL CHECK (recipient_type IN ('user', 'agent')),
    recipient_id   TEXT NOT NULL,
    title          TEXT NOT NULL CHECK (title <> ''),
    detail         TEXT,
    status         TEXT NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'info_requested', 'done', 'rejected', 'approved', 'cancelled')),
    responder_type TEXT CHECK (responder_type IN ('user', 'agent')),
    responder_id   TEXT,
    priority       INTEGER CHECK (priority BETWEEN -32768 AND 32767),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    responded_at   BIGINT,
    last_nudged_at BIGINT,
    CONSTRAINT request_status_fits_kind CHECK (NOT (kind = 'task' AND status = 'approved')
        AND NOT (kind = 'approval' AND status = 'done')),
    CONSTRAINT request_not_to_self CHECK (NOT (recipient_type = requester_type AND recipient_id = requester_id)),
    CONSTRAINT request_not_self_answered CHECK (responder_id IS NULL
        OR NOT (responder_type = requester_type AND responder_id = requester_id)),
    CONSTRAINT request_answered_once CHECK ((status IN ('done', 'rejected', 'approved'))
        = (responded_at IS NOT NULL AND responder_type IS NOT NULL AND responder_id IS NOT NULL))
);
CREATE INDEX idx_requests_outgoing ON requests (requester_type, requester_id, created_at, id);
CREATE INDEX idx_requests_inbox ON requests (recipient_type, recipient_id, created_at, id);
CREATE INDEX idx_requests_open ON requests (created_at, id) WHERE status IN ('pending', 'info_requested');
CREATE INDEX idx_requests_open_org ON requests (org_id, created_at, id) WHERE status IN ('pending', 'info_requested');
CREATE INDEX idx_requests_nudge ON requests (recipient_type, recipient_id, last_nudged_at)
    WHERE status IN ('pending', 'info_requested');

-- The "More info" thread of a request, in the order it was written (seq).
CREATE TABLE request_messages (
    seq         AUTOINCREMENT_PK,
    id          TEXT NOT NULL UNIQUE,
    request_id  TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    author_type TEXT NOT NULL CHECK (author_type IN ('user', 'agent')),
    author_id   TEXT NOT NULL,
    body        TEXT NOT NULL CHECK (body <> ''),
    created_at  BIGINT NOT NULL
);
CREATE INDEX idx_request_messages_thread ON request_messages (request_id, seq);
