-- The deployment's own facts, and the colony nodes that serve it.
CREATE TABLE meta (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row per `colony serve` process that ever started against this database; last_seen_at is refreshed while it
-- runs, so operators (and later the multi-node fan-out) can tell which nodes are alive.
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    hostname     TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    version      TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    stopped_at   BIGINT
);
CREATE INDEX nodes_last_seen_idx ON nodes (last_seen_at);
