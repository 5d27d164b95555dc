-- Whether chat tokens are issued without a nickname (1) or a nickname is required (0).
ALTER TABLE channels ADD COLUMN chat_anonymous BIGINT NOT NULL DEFAULT 1;
