-- Collections of JSON documents per GPT. Keys lead with gpt_id (Citus distribution column).

CREATE TABLE collections (
  gpt_id     text NOT NULL REFERENCES gpts (id) ON DELETE CASCADE,
  name       text NOT NULL,
  schema     jsonb,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (gpt_id, name)
);

CREATE INDEX collections_list_idx ON collections (gpt_id, created_at, name);

CREATE TABLE objects (
  gpt_id     text NOT NULL,
  id         uuid NOT NULL,
  collection text NOT NULL,
  body       jsonb NOT NULL,
  version    integer NOT NULL DEFAULT 1,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  -- Every string value of the body, language-neutral, for `q`.
  search     tsvector GENERATED ALWAYS AS (jsonb_to_tsvector('simple', body, '["string"]')) STORED,
  PRIMARY KEY (gpt_id, id),
  FOREIGN KEY (gpt_id, collection) REFERENCES collections (gpt_id, name) ON DELETE CASCADE
);

-- Seek pagination in both sort orders.
CREATE INDEX objects_created_idx ON objects (gpt_id, collection, created_at, id);
CREATE INDEX objects_updated_idx ON objects (gpt_id, collection, updated_at, id);
-- `where` containment and `q` full text.
CREATE INDEX objects_body_idx ON objects USING gin (body jsonb_path_ops);
CREATE INDEX objects_search_idx ON objects USING gin (search);

-- Idempotency-Key: the first response to a key is replayed for 24 hours.
CREATE TABLE idempotency_keys (
  gpt_id          text NOT NULL REFERENCES gpts (id) ON DELETE CASCADE,
  key             text NOT NULL,
  fingerprint     text NOT NULL,
  response_status integer NOT NULL,
  response_body   jsonb NOT NULL,
  response_headers jsonb NOT NULL DEFAULT '{}',
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (gpt_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
