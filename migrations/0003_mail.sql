-- Agents of a GPT, mail between them with per-recipient read state, and conversations.

CREATE TABLE agents (
  gpt_id     text NOT NULL REFERENCES gpts (id) ON DELETE CASCADE,
  id         uuid NOT NULL,
  name       text NOT NULL,
  address    text,
  port       integer CHECK (port BETWEEN 1 AND 65535),
  metadata   jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (gpt_id, id),
  UNIQUE (gpt_id, name)
);
CREATE INDEX agents_list_idx ON agents (gpt_id, created_at, id);

CREATE TABLE conversations (
  gpt_id      text NOT NULL REFERENCES gpts (id) ON DELETE CASCADE,
  id          uuid NOT NULL,
  title       text NOT NULL,
  description text,
  archived    boolean NOT NULL DEFAULT false,
  metadata    jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  updated_at  timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (gpt_id, id)
);
CREATE INDEX conversations_list_idx ON conversations (gpt_id, created_at, id);
CREATE INDEX conversations_metadata_idx ON conversations USING gin (metadata jsonb_path_ops);

CREATE TABLE mail (
  gpt_id          text NOT NULL,
  id              uuid NOT NULL,
  sender_id       uuid NOT NULL,
  conversation_id uuid,
  parent_id       uuid,
  type            text NOT NULL DEFAULT 'text',
  importance      smallint NOT NULL DEFAULT 5 CHECK (importance BETWEEN 0 AND 10),
  content         text NOT NULL,
  metadata        jsonb NOT NULL DEFAULT '{}',
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (gpt_id, id),
  FOREIGN KEY (gpt_id, sender_id) REFERENCES agents (gpt_id, id) ON DELETE CASCADE,
  FOREIGN KEY (gpt_id, conversation_id) REFERENCES conversations (gpt_id, id) ON DELETE CASCADE,
  -- A reply outlives the message it answered (PostgreSQL 15: SET NULL of one column of the key).
  FOREIGN KEY (gpt_id, parent_id) REFERENCES mail (gpt_id, id) ON DELETE SET NULL (parent_id)
);
CREATE INDEX mail_sender_idx ON mail (gpt_id, sender_id, created_at, id);
CREATE INDEX mail_conversation_idx ON mail (gpt_id, conversation_id, created_at, id) WHERE conversation_id IS NOT NULL;
CREATE INDEX mail_parent_idx ON mail (gpt_id, parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE mail_recipients (
  gpt_id     text NOT NULL,
  mail_id    uuid NOT NULL,
  agent_id   uuid NOT NULL,
  -- The mail's time, repeated here so that an inbox is read from this table's index alone.
  created_at timestamptz(3) NOT NULL,
  read_at    timestamptz(3),
  PRIMARY KEY (gpt_id, mail_id, agent_id),
  FOREIGN KEY (gpt_id, mail_id) REFERENCES mail (gpt_id, id) ON DELETE CASCADE,
  FOREIGN KEY (gpt_id, agent_id) REFERENCES agents (gpt_id, id) ON DELETE CASCADE
);
CREATE INDEX mail_recipients_inbox_idx ON mail_recipients (gpt_id, agent_id, created_at, mail_id);
CREATE INDEX mail_recipients_unread_idx ON mail_recipients (gpt_id, agent_id, created_at, mail_id) WHERE read_at IS NULL;

CREATE TABLE mail_metadata (
  gpt_id     text NOT NULL,
  mail_id    uuid NOT NULL,
  key        text NOT NULL,
  value      jsonb NOT NULL,
  set_by     uuid,
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (gpt_id, mail_id, key),
  FOREIGN KEY (gpt_id, mail_id) REFERENCES mail (gpt_id, id) ON DELETE CASCADE
);

-- A key may be bound to one agent: it then acts only as that agent.
ALTER TABLE api_keys ADD COLUMN agent_id uuid;
ALTER TABLE api_keys ADD FOREIGN KEY (gpt_id, agent_id) REFERENCES agents (gpt_id, id) ON DELETE CASCADE;
