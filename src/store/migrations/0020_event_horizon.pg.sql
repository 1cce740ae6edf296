-- Event ids are drawn only after the writing transaction holds a transaction id. A reader of the log can then
-- tell from its snapshot which missing ids may still commit: an id allocated before a snapshot was taken belongs to
-- a transaction whose id is below that snapshot's xmax, so once a later snapshot's xmin has passed that xmax, the
-- id is committed or never will be (ARCHITECTURE.md, "Events"). SQLite needs nothing: one writer at a time commits
-- ids in order.
ALTER TABLE events ALTER COLUMN id DROP IDENTITY;
CREATE SEQUENCE colony_event_ids AS BIGINT OWNED BY events.id;
SELECT setval('colony_event_ids', COALESCE((SELECT max(id) FROM events), 0) + 1, false);
CREATE FUNCTION colony_next_event_id() RETURNS BIGINT LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_current_xact_id();
    RETURN nextval('colony_event_ids');
END
$$;
ALTER TABLE events ALTER COLUMN id SET DEFAULT colony_next_event_id();
