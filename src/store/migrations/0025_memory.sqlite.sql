-- Memory (shared/api/data.md §2): the reference's plugin tables (memory v2) held by colony itself, and the
-- key/value store. The PostgreSQL twin of this file differs only in how text is searched (a tsvector column and a
-- GIN index there, an FTS5 table here) and in how the triggers are written.
--
-- A namespace is named after the workspace it belongs to (workspace:<id>, team:<id>, org:<id>); owner_id is that
-- workspace, so purging a workspace deletes its namespaces and their records with it. record_count and
-- content_bytes are kept by the triggers below whatever deletes or inserts a record, so a namespace's bounds are
-- checked against exact figures (model/memory.c), and never go negative.
CREATE TABLE memory_namespaces (
    name          TEXT PRIMARY KEY CHECK (length(name) BETWEEN 3 AND 256),
    kind          TEXT NOT NULL CHECK (kind IN ('workspace', 'team', 'org', 'custom')),
    owner_id      TEXT REFERENCES workspaces (id) ON DELETE CASCADE,
    expires_at    BIGINT,
    metadata      TEXT,
    record_count  BIGINT NOT NULL DEFAULT 0 CHECK (record_count >= 0),
    content_bytes BIGINT NOT NULL DEFAULT 0 CHECK (content_bytes >= 0),
    created_at    BIGINT NOT NULL,
    CONSTRAINT memory_namespaces_owned CHECK ((kind = 'custom') = (owner_id IS NULL))
);
CREATE INDEX idx_memory_namespaces_owner ON memory_namespaces (owner_id);

-- One memory. `terms` is the content in its search form (model/memtext.c: one space before and after each term,
-- so "a  b"): both databases index exactly these terms, and the ranking reads them the same way on both.
CREATE TABLE memory_records (
    seq                 AUTOINCREMENT_PK,
    id                  TEXT NOT NULL UNIQUE,
    namespace           TEXT NOT NULL REFERENCES memory_namespaces (name) ON DELETE CASCADE,
    content             TEXT NOT NULL CHECK (length(content) > 0),
    kind                TEXT NOT NULL CHECK (kind IN ('fact', 'summary', 'checkpoint')),
    source              TEXT NOT NULL CHECK (source IN ('agent', 'runtime', 'user')),
    pin                 INTEGER NOT NULL DEFAULT 0 CHECK (pin IN (0, 1)),
    expires_at          BIGINT,
    source_workspace_id TEXT,
    terms               TEXT NOT NULL,
    term_count          INTEGER NOT NULL CHECK (term_count >= 0),
    created_at          BIGINT NOT NULL
);
CREATE INDEX idx_memory_records_list ON memory_records (namespace, pin, created_at, id);
CREATE INDEX idx_memory_records_expiry ON memory_records (expires_at) WHERE expires_at IS NOT NULL;

-- Prefix indexes for query terms of 3 to 8 characters: a prefix query of such a length reads one doclist, as a
-- whole term does (without one, FTS5 merges the doclists of every term in the range: five times slower for a
-- frequent word). detail=none: a query is a conjunction of terms, so positions are never needed.
CREATE VIRTUAL TABLE memory_fts USING fts5 (terms, content = 'memory_records', content_rowid = 'seq',
    tokenize = 'ascii', prefix = '3 4 5 6 7 8', detail = 'none');

CREATE TRIGGER memory_records_added AFTER INSERT ON memory_records BEGIN
    INSERT INTO memory_fts (rowid, terms) VALUES (NEW.seq, NEW.terms);
    UPDATE memory_namespaces SET record_count = record_count + 1,
        content_bytes = content_bytes + length(CAST(NEW.content AS BLOB)) WHERE name = NEW.namespace;
END;
CREATE TRIGGER memory_records_deleted AFTER DELETE ON memory_records BEGIN
    INSERT INTO memory_fts (memory_fts, rowid, terms) VALUES ('delete', OLD.seq, OLD.terms);
    UPDATE memory_namespaces SET record_count = record_count - 1,
        content_bytes = content_bytes - length(CAST(OLD.content AS BLOB)) WHERE name = OLD.namespace;
END;
-- Records are written once and forgotten whole; an UPDATE would leave the index and the figures behind.
CREATE TRIGGER memory_records_immutable BEFORE UPDATE ON memory_records BEGIN
    SELECT RAISE(ABORT, 'memory_records: a memory is never changed, only forgotten');
END;

-- Key/value memory of a workspace (§2.4): a JSON value per key, versioned for compare-and-set.
CREATE TABLE workspace_memory (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    key          TEXT NOT NULL CHECK (length(key) > 0),
    value        TEXT NOT NULL,
    expires_at   BIGINT,
    version      BIGINT NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, key)
);
CREATE INDEX idx_workspace_memory_expiry ON workspace_memory (expires_at) WHERE expires_at IS NOT NULL;
