-- Long-term memories, and the embedding vectors of everything a GPT stores (memories, documents, chat messages).

CREATE TABLE memories (
  gpt_id             text NOT NULL REFERENCES gpts (id) ON DELETE CASCADE,
  id                 uuid NOT NULL,
  entity_type        text,
  entity_id          text,
  user_id            text,
  content            text NOT NULL,
  metadata           jsonb NOT NULL DEFAULT '{}',
  embedding_status   text NOT NULL DEFAULT 'pending' CHECK (embedding_status IN ('pending', 'ready', 'failed')),
  embedding_error    text,
  embedding_attempts integer NOT NULL DEFAULT 0,
  -- Bumped on every content change, so that an embedding computed for older content is not stored.
  revision           integer NOT NULL DEFAULT 1,
  created_at         timestamptz(3) NOT NULL DEFAULT now(),
  updated_at         timestamptz(3) NOT NULL DEFAULT now(),
  search             tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED,
  PRIMARY KEY (gpt_id, id)
);
-- Upsert by entity: one memory per (entity_type, entity_id) within a GPT.
CREATE UNIQUE INDEX memories_entity_idx ON memories (gpt_id, entity_type, entity_id) WHERE entity_type IS NOT NULL AND entity_id IS NOT NULL;
CREATE INDEX memories_list_idx ON memories (gpt_id, created_at, id);
CREATE INDEX memories_user_idx ON memories (gpt_id, user_id, created_at, id);
CREATE INDEX memories_metadata_idx ON memories USING gin (metadata jsonb_path_ops);
CREATE INDEX memories_search_idx ON memories USING gin (search);
CREATE INDEX memories_pending_idx ON memories (gpt_id, created_at) WHERE embedding_status = 'pending';

-- One vector per item. Exactly one of the three item columns is set, so that each has a real foreign key
-- and deleting the item (or its GPT, collection or session) deletes its vector.
CREATE TABLE embeddings (
  gpt_id     text NOT NULL REFERENCES gpts (id) ON DELETE CASCADE,
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  memory_id  uuid,
  object_id  uuid,
  message_id uuid,
  model      text NOT NULL,
  dims       integer NOT NULL,
  embedding  real[] NOT NULL,
  -- An item changed after this is embedded again (documents and messages are embedded in the background).
  embedded_at timestamptz(3) NOT NULL DEFAULT now(),
  CHECK (num_nonnulls(memory_id, object_id, message_id) = 1),
  FOREIGN KEY (gpt_id, memory_id) REFERENCES memories (gpt_id, id) ON DELETE CASCADE,
  FOREIGN KEY (gpt_id, object_id) REFERENCES objects (gpt_id, id) ON DELETE CASCADE,
  FOREIGN KEY (gpt_id, message_id) REFERENCES chat_messages (gpt_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX embeddings_memory_idx ON embeddings (gpt_id, memory_id) WHERE memory_id IS NOT NULL;
CREATE UNIQUE INDEX embeddings_object_idx ON embeddings (gpt_id, object_id) WHERE object_id IS NOT NULL;
CREATE UNIQUE INDEX embeddings_message_idx ON embeddings (gpt_id, message_id) WHERE message_id IS NOT NULL;
-- Reindexing finds the vectors of another model.
CREATE INDEX embeddings_model_idx ON embeddings (gpt_id, model);

-- With pgvector the column is a vector; its HNSW index is made at start for the configured dimension
-- (an HNSW index needs one fixed dimension). Without it, vectors stay real[] and search scans exactly.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
    EXECUTE 'ALTER TABLE embeddings ALTER COLUMN embedding TYPE vector USING embedding::vector';
  END IF;
END
$$;
