-- Where the current chat session starts in the activity log: the highest activity seq of the workspace when the
-- session was reset. created_at has millisecond resolution, so a message and a reset in the same millisecond could
-- not be told apart by time; the seq can.
ALTER TABLE workspaces ADD COLUMN chat_session_seq BIGINT;
