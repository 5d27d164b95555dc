-- Channels of the catalog. Portable SQL: the same file runs on SQLite and
-- PostgreSQL (TEXT and BIGINT only; times are milliseconds since the Unix epoch).
CREATE TABLE channels (
    name TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    -- SHA-256 of the stream key, lower-case hex. The key itself is never stored.
    stream_key_hash TEXT NOT NULL UNIQUE,
    -- 'public' or 'token' (playback needs a signed token).
    playback TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
