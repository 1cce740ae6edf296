-- Secrets (data.md §3), sealed at rest and never plaintext (base/seal.h): encrypted_value is nonce ‖ ciphertext ‖
-- tag of XChaCha20-Poly1305 with the value's place as associated data; encryption_version 2 is that scheme (the
-- reference's 0 = cleartext and 1 = AES-GCM are refused here); key_id names the key that sealed it, so a rotation
-- can move values from one key to the next while both are known.
CREATE TABLE global_secrets (
    id                 TEXT PRIMARY KEY,
    key                TEXT NOT NULL UNIQUE CHECK (length(key) BETWEEN 1 AND 128),
    encrypted_value    BYTEA NOT NULL CHECK (length(encrypted_value) > 40),
    encryption_version INTEGER NOT NULL CHECK (encryption_version = 2),
    key_id             TEXT NOT NULL CHECK (length(key_id) = 16),
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

-- A workspace's own secrets; one of the same key overrides the global for that workspace.
CREATE TABLE workspace_secrets (
    id                 TEXT PRIMARY KEY,
    workspace_id       TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    key                TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 128),
    encrypted_value    BYTEA NOT NULL CHECK (length(encrypted_value) > 40),
    encryption_version INTEGER NOT NULL CHECK (encryption_version = 2),
    key_id             TEXT NOT NULL CHECK (length(key_id) = 16),
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (workspace_id, key)
);

-- The inbound secret sealed the same way. platform_inbound_secret (0009) keeps only what colony wrote in
-- plaintext before this migration; the first start with a key seals those and clears the column.
ALTER TABLE workspaces ADD COLUMN inbound_secret_sealed BYTEA CHECK (inbound_secret_sealed IS NULL OR length(inbound_secret_sealed) > 40);
ALTER TABLE workspaces ADD COLUMN inbound_secret_key_id TEXT CHECK (inbound_secret_key_id IS NULL OR length(inbound_secret_key_id) = 16);
