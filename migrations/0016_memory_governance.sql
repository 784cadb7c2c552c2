-- Memory governance: expiry, provenance, valid time, supersession, pinning and importance, and the
-- history of every change.

ALTER TABLE memories
  -- Past it the memory is hidden at once (lists, search, recall); the memories.purge-expired job deletes it.
  ADD COLUMN expires_at    timestamptz(3),
  -- Where it came from: {"type": "manual" | "chat_message" | "document" | "extraction", "id": …}.
  ADD COLUMN source        jsonb NOT NULL DEFAULT '{"type": "manual"}',
  -- When what it says was (or is) true; search's as_of picks the memories valid then.
  ADD COLUMN valid_from    timestamptz(3) NOT NULL DEFAULT now(),
  ADD COLUMN valid_to      timestamptz(3),
  ADD COLUMN superseded_by uuid,
  ADD COLUMN pinned        boolean NOT NULL DEFAULT false,
  ADD COLUMN importance    real NOT NULL DEFAULT 0.5 CHECK (importance >= 0 AND importance <= 1),
  ADD CONSTRAINT memories_validity_check CHECK (valid_to IS NULL OR valid_to >= valid_from);
UPDATE memories SET valid_from = created_at;
CREATE INDEX memories_expires_idx ON memories (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX memories_pinned_idx ON memories (gpt_id, user_id) WHERE pinned;

-- Every change of a memory, kept after the memory is deleted (no foreign key to it): a plain delete
-- blanks the content of the memory's rows and leaves a tombstone; a purge removes the rows too.
CREATE TABLE memory_history (
  gpt_id     text NOT NULL REFERENCES gpts (id) ON DELETE CASCADE,
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  memory_id  uuid NOT NULL,
  -- The memory's end user when it changed: an end user reads only their own memories' history.
  user_id    text,
  action     text NOT NULL CHECK (action IN ('create', 'update', 'supersede', 'expire', 'delete')),
  -- The memory's fields before and after (null before a create, after a delete, and once forgotten).
  old        jsonb,
  new        jsonb,
  actor_kind text NOT NULL,
  actor_id   text,
  at         timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX memory_history_memory_idx ON memory_history (gpt_id, memory_id, id);
