-- The canvas's saved viewport: one row with a fixed id, upserted on every save.
CREATE TABLE canvas_viewport (
    id       TEXT PRIMARY KEY,
    x        DOUBLE PRECISION NOT NULL DEFAULT 0,
    y        DOUBLE PRECISION NOT NULL DEFAULT 0,
    zoom     DOUBLE PRECISION NOT NULL DEFAULT 1,
    saved_at BIGINT NOT NULL
);
