-- The secret colony presents when it pushes to a workspace's own endpoints (chat uploads): minted at register,
-- handed to the agent once per register, checked by the agent.
ALTER TABLE workspaces ADD COLUMN platform_inbound_secret TEXT;
