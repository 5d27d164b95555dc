-- VOD assets and their processing jobs (issue 7). Portable SQL: the same file runs
-- on SQLite and PostgreSQL. Times are milliseconds since the Unix epoch. The
-- full-text index is not here: it differs per database (SQLite FTS5, PostgreSQL
-- GIN over to_tsvector) and is created in code after the migrations
-- (origin/src/catalog/asset_store.rs, `create_search_index`).
CREATE TABLE assets (
    -- Random, URL-safe: 16 characters of [a-z0-9].
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    -- Tags between commas, with a leading and a trailing one: ',cats,music,'
    -- (so that one tag is matched with LIKE '%,tag,%').
    tags TEXT NOT NULL,
    -- 'uploaded', 'processing', 'ready' or 'failed'.
    status TEXT NOT NULL,
    -- Why it failed (status 'failed'), shown to the uploader.
    reason TEXT,
    -- The uploaded file's name as the client gave it (display only).
    source_name TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    duration_s DOUBLE PRECISION,
    width BIGINT,
    height BIGINT,
    -- RFC 6381 codec strings, e.g. 'avc1.64001f,mp4a.40.2'.
    codecs TEXT,
    -- JSON array describing the renditions (written by the job runner).
    renditions TEXT,
    views BIGINT NOT NULL DEFAULT 0,
    -- 'upload' or 'live' (live-to-VOD); channel is set for 'live'.
    origin TEXT NOT NULL,
    channel TEXT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX assets_by_status ON assets (status, created_ms);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    -- 'transcode'.
    kind TEXT NOT NULL,
    -- 'queued', 'running', 'done' or 'failed'.
    state TEXT NOT NULL,
    progress_percent DOUBLE PRECISION NOT NULL DEFAULT 0,
    eta_s DOUBLE PRECISION,
    -- How many times a runner claimed it (a restart re-queues a running job).
    attempts BIGINT NOT NULL DEFAULT 0,
    reason TEXT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX jobs_by_state ON jobs (state, created_ms);
CREATE INDEX jobs_by_asset ON jobs (asset_id);
