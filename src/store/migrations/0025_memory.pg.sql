-- Memory (shared/api/data.md §2): the reference's plugin tables (memory v2) held by colony itself, and the
-- key/value store. The SQLite twin of this file differs only in how text is searched (an FTS5 table there, a
-- tsvector column and a GIN index here) and in how the triggers are written.
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
-- so "a  b"): both databases index exactly these terms, and the ranking reads them the same way on both. The
-- tsvector is built from those terms as they are (no parser, no dictionary), so it holds what FTS5 holds.
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
    created_at          BIGINT NOT NULL,
    search              tsvector GENERATED ALWAYS AS (array_to_tsvector(string_to_array(btrim(terms), '  ')))
                            STORED
);
CREATE INDEX idx_memory_records_list ON memory_records (namespace, pin, created_at, id);
CREATE INDEX idx_memory_records_expiry ON memory_records (expires_at) WHERE expires_at IS NOT NULL;
-- fastupdate off: a pending list would be scanned whole by every search until a later insert paid for merging it
-- (a recall of 3 ms became 90 ms after a bulk import, and one insert in a few hundred took 120 ms).
CREATE INDEX idx_memory_records_search ON memory_records USING gin (search) WITH (fastupdate = off);

-- colony_count(text, pattern): non-overlapping occurrences, as SQLite's connections compute it (store/sqlite.c);
-- a plain SQL function, which the planner inlines.
CREATE FUNCTION colony_count(t TEXT, p TEXT) RETURNS BIGINT LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN length(p) = 0 THEN 0 ELSE CAST((length(t) - length(replace(t, p, ''))) / length(p) AS BIGINT) END
$$;

CREATE FUNCTION colony_memory_figures() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE memory_namespaces SET record_count = record_count + 1,
            content_bytes = content_bytes + octet_length(NEW.content) WHERE name = NEW.namespace;
        RETURN NEW;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE memory_namespaces SET record_count = record_count - 1,
            content_bytes = content_bytes - octet_length(OLD.content) WHERE name = OLD.namespace;
        RETURN OLD;
    END IF;
    -- Records are written once and forgotten whole; an UPDATE would leave the figures behind.
    RAISE EXCEPTION 'memory_records: a memory is never changed, only forgotten' USING ERRCODE = 'check_violation';
END
$$;
CREATE TRIGGER memory_records_figures AFTER INSERT OR DELETE ON memory_records
    FOR EACH ROW EXECUTE FUNCTION colony_memory_figures();
CREATE TRIGGER memory_records_immutable BEFORE UPDATE ON memory_records
    FOR EACH ROW EXECUTE FUNCTION colony_memory_figures();

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
