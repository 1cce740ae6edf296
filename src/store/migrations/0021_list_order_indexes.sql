-- Every list pages by a keyset over a unique ordering (src/api/paging.h): these indexes serve those orders, so a
-- page costs its own rows, never the rows before it.
-- GET /workspaces: live rows by (created_at, id); replaces the plain created_at index, which served the old
-- unpaged list only.
CREATE INDEX idx_workspaces_live_order ON workspaces (created_at, id) WHERE status <> 'removed';
DROP INDEX idx_workspaces_created_at;
-- peers and children of a workspace, in creation order
CREATE INDEX idx_workspaces_live_children ON workspaces (parent_id, created_at, id) WHERE status <> 'removed';
-- a workspace's delegations and the admin list by status, newest first with the id as the tie-break
DROP INDEX idx_delegations_caller;
CREATE INDEX idx_delegations_caller_order ON delegations (caller_id, created_at, delegation_id);
CREATE INDEX idx_delegations_status_order ON delegations (status, created_at, delegation_id);
-- chat history: the canvas's own messages of a workspace, newest first
CREATE INDEX idx_activity_chat ON activity_logs (workspace_id, created_at, seq)
    WHERE activity_type = 'a2a_receive' AND source_id IS NULL;
