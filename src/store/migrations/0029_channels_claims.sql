-- Who a Discord interaction is for. Discord signs with the application's public key, which is public: any workspace
-- could configure a victim application's key and channel id. So (application key, Discord channel id) belongs to at
-- most one channel: claim = 'discord:' || the key in lower case ('env' when the channel relies on
-- DISCORD_APP_PUBLIC_KEY and none is set) || ':' || the channel id. The primary key refuses a second claim, also
-- from two nodes at once; a claim of a removed workspace's channel is taken over (model/channel.c).
CREATE TABLE channel_claims (
    claim      TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL REFERENCES workspace_channels (id) ON DELETE CASCADE
);
CREATE INDEX idx_channel_claims_channel ON channel_claims (channel_id);
