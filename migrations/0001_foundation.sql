-- Tenants and their API keys.
-- gpts and api_keys are small and looked up before the tenant is known (a key by its id),
-- so under Citus they are reference tables; every tenant-owned table leads its key with gpt_id.

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
    CREATE EXTENSION IF NOT EXISTS vector;
  END IF;
END
$$;

CREATE TABLE gpts (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  description text,
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  updated_at  timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id           uuid PRIMARY KEY,
  gpt_id       text NOT NULL REFERENCES gpts (id) ON DELETE CASCADE,
  name         text,
  secret_hash  bytea NOT NULL,
  scopes       text[] NOT NULL,
  expires_at   timestamptz(3),
  revoked_at   timestamptz(3),
  last_used_at timestamptz(3),
  created_at   timestamptz(3) NOT NULL DEFAULT now()
);

CREATE INDEX api_keys_gpt_created_idx ON api_keys (gpt_id, created_at, id);
