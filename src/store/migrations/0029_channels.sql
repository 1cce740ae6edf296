-- Chat channels (data.md §4.2, surface.md §14): a workspace reachable from Telegram, Slack, Discord and Lark.
--
-- A channel's config is split: what may be shown (chat ids, the bot's display name, Discord's public key) stays in
-- channel_config as JSON text; every credential (bot tokens, webhook URLs, which embed one, signing secrets,
-- verification tokens) is one JSON object sealed by base/seal with the channel's place as associated data
-- (model/vault.h, VAULT_CHANNEL), never stored in the clear. One channel per type and workspace, as the reference.
CREATE TABLE workspace_channels (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    channel_type    TEXT NOT NULL CHECK (channel_type IN ('telegram', 'slack', 'discord', 'lark')),
    channel_config  TEXT NOT NULL DEFAULT '{}',
    secrets_sealed  BYTEA CHECK (secrets_sealed IS NULL OR length(secrets_sealed) > 40),
    secrets_key_id  TEXT CHECK (secrets_key_id IS NULL OR length(secrets_key_id) = 16),
    enabled         INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    allowed_users   TEXT NOT NULL DEFAULT '[]',
    last_message_at BIGINT,
    message_count   BIGINT NOT NULL DEFAULT 0 CHECK (message_count >= 0),
    channel_budget  BIGINT CHECK (channel_budget IS NULL OR channel_budget >= 0),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    CHECK ((secrets_sealed IS NULL) = (secrets_key_id IS NULL)),
    UNIQUE (workspace_id, channel_type)
);
CREATE INDEX idx_channels_list ON workspace_channels (workspace_id, created_at, id);
CREATE INDEX idx_channels_enabled ON workspace_channels (channel_type, created_at, id) WHERE enabled = 1;

-- The chats a channel listens to (its comma-separated chat list), so that an incoming update finds its channel
-- through an index: written with the config, in the same transaction.
CREATE TABLE channel_chats (
    channel_id   TEXT NOT NULL REFERENCES workspace_channels (id) ON DELETE CASCADE,
    channel_type TEXT NOT NULL,
    chat_id      TEXT NOT NULL,
    PRIMARY KEY (channel_id, chat_id)
);
CREATE INDEX idx_channel_chats_route ON channel_chats (channel_type, chat_id);

-- Incoming messages. The provider's own id of an update (Telegram update_id, Slack event_id, Discord interaction
-- id, Lark event_id) is unique per channel: a provider's retry inserts nothing (ON CONFLICT DO NOTHING), so it never
-- becomes a second A2A message. status: received → relaying (claimed by one node's courier) → replied | delivered
-- (a poll-mode agent's inbox) | awaiting (the agent was busy: its reply is looked for until deadline_at) | failed;
-- a relay whose node died goes back to received.
CREATE TABLE channel_messages (
    id           TEXT PRIMARY KEY,
    channel_id   TEXT NOT NULL REFERENCES workspace_channels (id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL,
    provider_key TEXT NOT NULL CHECK (length(provider_key) BETWEEN 1 AND 200),
    chat_id      TEXT NOT NULL,
    thread       TEXT,
    username     TEXT NOT NULL DEFAULT '',
    text         TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'received'
                 CHECK (status IN ('received', 'relaying', 'awaiting', 'replied', 'delivered', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    claimed_at   BIGINT,
    deadline_at  BIGINT,
    error        TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (channel_id, provider_key)
);
CREATE INDEX idx_channel_messages_open ON channel_messages (status, updated_at)
    WHERE status IN ('received', 'relaying', 'awaiting');
CREATE INDEX idx_channel_messages_done ON channel_messages (updated_at)
    WHERE status IN ('replied', 'delivered', 'failed');

-- Outgoing messages: an agent's reply (one per incoming message: inbound_id is unique), a POST …/send, a …/test.
-- A long text goes out in the provider's chunks, sent_bytes saying how far. pending → sending (claimed with the
-- target's pace, below) → sent | pending again (a retryable failure, after a back-off or the provider's
-- Retry-After) | failed.
CREATE TABLE channel_outbox (
    id              TEXT PRIMARY KEY,
    channel_id      TEXT NOT NULL REFERENCES workspace_channels (id) ON DELETE CASCADE,
    workspace_id    TEXT NOT NULL,
    target          TEXT NOT NULL,
    thread          TEXT,
    text            TEXT NOT NULL,
    sent_bytes      INTEGER NOT NULL DEFAULT 0,
    origin          TEXT NOT NULL CHECK (origin IN ('reply', 'send', 'test')),
    inbound_id      TEXT UNIQUE,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    failures        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_at      BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX idx_channel_outbox_due ON channel_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX idx_channel_outbox_target ON channel_outbox (channel_id, target, created_at)
    WHERE status IN ('pending', 'sending');
CREATE INDEX idx_channel_outbox_done ON channel_outbox (updated_at) WHERE status IN ('sent', 'failed');

-- The pace of each destination (a chat of a channel, or its webhook: target ''): one send in flight at a time, and
-- the provider's interval (or its Retry-After) between two. A claim is a guarded UPDATE of this row, so on any
-- number of nodes one courier owns a destination at a time and its messages go out in order.
CREATE TABLE channel_pace (
    channel_id   TEXT NOT NULL REFERENCES workspace_channels (id) ON DELETE CASCADE,
    target       TEXT NOT NULL,
    next_send_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, target)
);
