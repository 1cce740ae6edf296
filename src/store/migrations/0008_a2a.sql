-- A2A push deliveries that found their target busy, waiting for the dispatcher (runtime.md §4.8). A message is
-- queued at most once per idempotency key while it is live (queued or dispatched): a retried send converges.
CREATE TABLE a2a_queue (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    caller_id       TEXT,
    priority        INTEGER NOT NULL DEFAULT 50 CHECK (priority BETWEEN 0 AND 100),
    body            TEXT NOT NULL,
    method          TEXT,
    idempotency_key TEXT,
    enqueued_at     BIGINT NOT NULL,
    dispatched_at   BIGINT,
    completed_at    BIGINT,
    expires_at      BIGINT,
    next_attempt_at BIGINT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'dispatched', 'completed', 'dropped', 'failed')),
    last_error      TEXT,
    response_body   TEXT
);
CREATE INDEX idx_a2a_queue_ready ON a2a_queue (workspace_id, priority DESC, enqueued_at) WHERE status = 'queued';
CREATE INDEX idx_a2a_queue_due ON a2a_queue (next_attempt_at) WHERE status = 'queued';
CREATE INDEX idx_a2a_queue_expiry ON a2a_queue (expires_at) WHERE status = 'queued' AND expires_at IS NOT NULL;
CREATE UNIQUE INDEX a2a_queue_idempotency_uniq ON a2a_queue (workspace_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL AND status IN ('queued', 'dispatched');

-- The delegation ledger (runtime.md §5.4). Its state machine is data: an UPDATE moves a row only along an edge of
-- delegation_transitions, so a late or repeated update can never take a row backwards, on any node.
CREATE TABLE delegation_transitions (
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    PRIMARY KEY (from_status, to_status)
);
INSERT INTO delegation_transitions (from_status, to_status) VALUES
    ('queued', 'dispatched'), ('queued', 'in_progress'), ('queued', 'failed'),
    ('dispatched', 'in_progress'), ('dispatched', 'completed'), ('dispatched', 'failed'),
    ('in_progress', 'completed'), ('in_progress', 'failed'), ('in_progress', 'stuck');

CREATE TABLE delegations (
    delegation_id   TEXT PRIMARY KEY,
    caller_id       TEXT NOT NULL,
    callee_id       TEXT NOT NULL,
    task_preview    TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'dispatched', 'in_progress', 'completed', 'failed', 'stuck')),
    last_heartbeat  BIGINT,
    deadline        BIGINT NOT NULL,
    result_preview  TEXT,
    error_detail    TEXT,
    retry_count     INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX idx_delegations_inflight ON delegations (last_heartbeat) WHERE status IN ('queued', 'dispatched', 'in_progress');
CREATE INDEX idx_delegations_caller ON delegations (caller_id, created_at DESC);
CREATE INDEX idx_delegations_callee ON delegations (callee_id, created_at DESC);
CREATE UNIQUE INDEX delegations_idempotency_uniq ON delegations (caller_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
