-- Accounts (owners of GPTs), their keys and login sessions, and the keys that sign access tokens.
-- accounts, account_keys and account_refresh_tokens are looked up before the account is known (an
-- email, a key id, a token hash), so under Citus they are reference tables like gpts and api_keys;
-- account_sessions leads with its account, which every access token names (`sub`).

CREATE TABLE accounts (
  id            uuid PRIMARY KEY,
  email         text NOT NULL,
  password_hash text NOT NULL,
  created_at    timestamptz(3) NOT NULL DEFAULT now(),
  updated_at    timestamptz(3) NOT NULL DEFAULT now(),
  -- Soft delete: hidden with its GPTs until the purge job removes it after ACCOUNT_RETENTION_DAYS.
  deleted_at    timestamptz(3)
);

-- Deleted accounts keep their email until purged, so that a restore never meets a taken address.
CREATE UNIQUE INDEX accounts_email_idx ON accounts (lower(email));
CREATE INDEX accounts_deleted_idx ON accounts (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE account_keys (
  account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  id          uuid NOT NULL,
  secret_hash bytea NOT NULL,
  revoked_at  timestamptz(3),
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (id)
);

CREATE INDEX account_keys_account_idx ON account_keys (account_id, created_at);

-- One row per login: a family of refresh tokens, and the `sid` of its access tokens.
CREATE TABLE account_sessions (
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  id         uuid NOT NULL,
  expires_at timestamptz(3) NOT NULL,
  revoked_at timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, id)
);

CREATE TABLE account_refresh_tokens (
  token_hash bytea PRIMARY KEY,
  account_id uuid NOT NULL,
  session_id uuid NOT NULL,
  -- Set when the token is exchanged; a second exchange is a reuse and ends the session.
  used_at    timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  FOREIGN KEY (account_id, session_id) REFERENCES account_sessions (account_id, id) ON DELETE CASCADE
);

CREATE INDEX account_refresh_tokens_session_idx ON account_refresh_tokens (account_id, session_id);

-- Failed logins per subject (`email:<address>` or `ip:<address>`), for growing delays.
CREATE TABLE login_failures (
  subject        text PRIMARY KEY,
  failures       integer NOT NULL,
  last_failed_at timestamptz(3) NOT NULL,
  locked_until   timestamptz(3)
);

-- ES256 keys that sign access tokens. Retired keys stop signing but still verify until dropped.
CREATE TABLE signing_keys (
  kid         text PRIMARY KEY,
  alg         text NOT NULL,
  public_jwk  jsonb NOT NULL,
  private_jwk jsonb NOT NULL,
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  retired_at  timestamptz(3)
);

-- GPTs made by an account; the operator's GPTs have no owner. Purging an account removes its GPTs.
ALTER TABLE gpts ADD COLUMN owner_account_id uuid REFERENCES accounts (id) ON DELETE CASCADE;
CREATE INDEX gpts_owner_idx ON gpts (owner_account_id, created_at, id) WHERE owner_account_id IS NOT NULL;
