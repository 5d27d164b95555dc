-- Webhook subscriptions. The secret signs each delivery (HMAC-SHA256), so it is
-- stored as is; it is shown once, when the webhook is created.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    -- Comma-separated event names, e.g. 'stream.started,stream.ended'.
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
