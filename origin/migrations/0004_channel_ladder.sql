-- Issue 7. Whether the live ABR ladder encodes extra renditions of the channel's
-- stream (1) or only the source is served (0), and whether a live stream that
-- ends becomes a VOD asset (1). New channels take `[ladder] live_default` for
-- `ladder` unless the API or `[[channels]]` says otherwise.
ALTER TABLE channels ADD COLUMN ladder BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN record BIGINT NOT NULL DEFAULT 0;
