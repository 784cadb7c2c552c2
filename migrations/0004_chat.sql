-- Characters (named system prompts), chat sessions of end users, and their messages.

CREATE TABLE characters (
  gpt_id      text NOT NULL REFERENCES gpts (id) ON DELETE CASCADE,
  id          uuid NOT NULL,
  name        text NOT NULL,
  agent_role  text NOT NULL,
  model       text,
  temperature real,
  memory      jsonb NOT NULL DEFAULT '{"enabled": false}',
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  updated_at  timestamptz(3) NOT NULL DEFAULT now(),
  -- Soft delete: sessions and messages made with a character keep pointing at it.
  deleted_at  timestamptz(3),
  PRIMARY KEY (gpt_id, id)
);
CREATE INDEX characters_list_idx ON characters (gpt_id, created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE chat_sessions (
  gpt_id           text NOT NULL REFERENCES gpts (id) ON DELETE CASCADE,
  id               uuid NOT NULL,
  user_id          text NOT NULL,
  name             text,
  metadata         jsonb NOT NULL DEFAULT '{}',
  character_id     uuid,
  is_favorite      boolean NOT NULL DEFAULT false,
  last_activity_at timestamptz(3) NOT NULL DEFAULT now(),
  -- The generation running for this session, held under a lease that its process keeps renewing:
  -- at most one per session across every process, and a crashed process's lease simply runs out.
  generating_message_id  uuid,
  generation_lease_until timestamptz(3),
  created_at       timestamptz(3) NOT NULL DEFAULT now(),
  updated_at       timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (gpt_id, id),
  FOREIGN KEY (gpt_id, character_id) REFERENCES characters (gpt_id, id)
);
-- Newest activity first, for one user or for the whole GPT.
CREATE INDEX chat_sessions_user_idx ON chat_sessions (gpt_id, user_id, last_activity_at, id);
CREATE INDEX chat_sessions_activity_idx ON chat_sessions (gpt_id, last_activity_at, id);

CREATE TABLE chat_messages (
  gpt_id          text NOT NULL,
  session_id      uuid NOT NULL,
  id              uuid NOT NULL,
  sender          text NOT NULL CHECK (sender IN ('user', 'ai', 'system', 'tool')),
  content         text NOT NULL DEFAULT '',
  context         jsonb,
  status          text NOT NULL DEFAULT 'complete' CHECK (status IN ('pending', 'in_progress', 'complete', 'failed')),
  partial_content text NOT NULL DEFAULT '',
  error_message   text,
  model           text,
  character_id    uuid,
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  updated_at      timestamptz(3) NOT NULL DEFAULT now(),
  search          tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED,
  PRIMARY KEY (gpt_id, id),
  FOREIGN KEY (gpt_id, session_id) REFERENCES chat_sessions (gpt_id, id) ON DELETE CASCADE
);
CREATE INDEX chat_messages_session_idx ON chat_messages (gpt_id, session_id, created_at, id);
CREATE INDEX chat_messages_search_idx ON chat_messages USING gin (search);
-- Restart recovery looks for unfinished generations only.
CREATE INDEX chat_messages_in_progress_idx ON chat_messages (gpt_id, session_id) WHERE status = 'in_progress';
