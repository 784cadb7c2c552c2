-- Extraction of memories from chat sessions: a run per request (or per N new turns of a character
-- with automatic extraction), the per-session cursor of what was read, and the character setting.

ALTER TABLE characters ADD COLUMN extraction jsonb NOT NULL DEFAULT '{"auto": false}';

CREATE TABLE extraction_runs (
  gpt_id        text NOT NULL REFERENCES gpts (id) ON DELETE CASCADE,
  id            uuid NOT NULL,
  session_id    uuid NOT NULL,
  user_id       text NOT NULL,
  -- 'request' (POST …/extract) or 'auto' (the character's every_turns).
  trigger       text NOT NULL CHECK (trigger IN ('request', 'auto')),
  status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'waiting_budget', 'done', 'failed')),
  -- Why it waits or failed, in words.
  reason        text,
  extractor     text,
  -- The first and last message read (null until it ran, or when there was nothing new).
  from_message_id uuid,
  to_message_id   uuid,
  messages_read integer NOT NULL DEFAULT 0,
  -- [{action, memory_id, supersedes, content, message_ids}] and the counts per action.
  decisions     jsonb NOT NULL DEFAULT '[]',
  summary       jsonb NOT NULL DEFAULT '{}',
  tokens_in     integer NOT NULL DEFAULT 0,
  tokens_out    integer NOT NULL DEFAULT 0,
  attempts      integer NOT NULL DEFAULT 0,
  created_at    timestamptz(3) NOT NULL DEFAULT now(),
  started_at    timestamptz(3),
  finished_at   timestamptz(3),
  PRIMARY KEY (gpt_id, id),
  -- Deleting a session deletes its runs (the memories they wrote stay).
  FOREIGN KEY (gpt_id, session_id) REFERENCES chat_sessions (gpt_id, id) ON DELETE CASCADE
);
-- At most one run waiting to start per session: a second request joins it.
CREATE UNIQUE INDEX extraction_runs_pending_idx ON extraction_runs (gpt_id, session_id) WHERE status IN ('queued', 'waiting_budget');
CREATE INDEX extraction_runs_session_idx ON extraction_runs (gpt_id, session_id, created_at, id);
-- The day's budget: runs started and tokens spent per GPT.
CREATE INDEX extraction_runs_started_idx ON extraction_runs (gpt_id, started_at) WHERE started_at IS NOT NULL;

-- The last message of each session an extraction has read.
CREATE TABLE extraction_cursors (
  gpt_id          text NOT NULL,
  session_id      uuid NOT NULL,
  message_id      uuid NOT NULL,
  message_created_at timestamptz(3) NOT NULL,
  updated_at      timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (gpt_id, session_id),
  FOREIGN KEY (gpt_id, session_id) REFERENCES chat_sessions (gpt_id, id) ON DELETE CASCADE
);
