-- Retention: a collection's documents may expire (ttl_seconds after their last write), and a GPT may
-- keep chat sessions and mail for a limited number of days. NULL keeps them for ever.
ALTER TABLE collections ADD COLUMN ttl_seconds integer CHECK (ttl_seconds > 0);
ALTER TABLE gpts ADD COLUMN session_retention_days integer CHECK (session_retention_days > 0);
ALTER TABLE gpts ADD COLUMN mail_retention_days integer CHECK (mail_retention_days > 0);

-- The purge jobs find what to purge from these: few rows carry a retention, so the indexes stay small.
CREATE INDEX collections_ttl_idx ON collections (gpt_id, name) WHERE ttl_seconds IS NOT NULL;
CREATE INDEX gpts_retention_idx ON gpts (id) WHERE session_retention_days IS NOT NULL OR mail_retention_days IS NOT NULL;
-- A GPT's mail oldest first (the other mail indexes lead with a sender or a conversation).
CREATE INDEX mail_created_idx ON mail (gpt_id, created_at, id);
