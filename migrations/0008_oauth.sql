-- The OAuth 2.1 authorization server: apps (clients) registered on a GPT, the end users who sign in to
-- them on the consent page, pending consent requests, authorization codes, grants (one per consent or
-- refresh-token family) with their one-time refresh tokens, and access tokens revoked before expiry.
-- Apps, codes and refresh tokens are looked up by what the client sends (client_id, a code, a token
-- hash) before the GPT is known, so under Citus they are reference tables like api_keys; end users
-- and grants lead with their GPT.

CREATE TABLE oauth_apps (
  id            uuid PRIMARY KEY,
  gpt_id        text NOT NULL REFERENCES gpts (id) ON DELETE CASCADE,
  name          text NOT NULL,
  client_id     text NOT NULL UNIQUE,
  -- SHA-256 of the secret (256 random bits, shown once); null for a public client.
  secret_hash   bytea,
  type          text NOT NULL CHECK (type IN ('confidential', 'public')),
  redirect_uris text[] NOT NULL,
  scopes        text[] NOT NULL,
  -- Requests per minute for this app's tokens (null: the GPT's key budgets apply).
  rate_limit_per_minute integer,
  created_at    timestamptz(3) NOT NULL DEFAULT now(),
  last_used_at  timestamptz(3)
);

CREATE INDEX oauth_apps_gpt_idx ON oauth_apps (gpt_id, created_at, id);

CREATE TABLE oauth_end_users (
  gpt_id        text NOT NULL REFERENCES gpts (id) ON DELETE CASCADE,
  id            uuid NOT NULL,
  email         text NOT NULL,
  password_hash text NOT NULL,
  created_at    timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (id)
);

CREATE UNIQUE INDEX oauth_end_users_email_idx ON oauth_end_users (gpt_id, lower(email));

-- A consent page that was opened: the checked authorization request, waiting for the end user.
CREATE TABLE oauth_consents (
  id         uuid PRIMARY KEY,
  app_id     uuid NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
  request    jsonb NOT NULL,
  csrf_hash  bytea NOT NULL,
  expires_at timestamptz(3) NOT NULL
);

-- One per approved consent: the family of its one-time refresh tokens, and the `sid` of its access tokens.
CREATE TABLE oauth_grants (
  id           uuid PRIMARY KEY,
  gpt_id       text NOT NULL,
  app_id       uuid NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
  end_user_id  uuid REFERENCES oauth_end_users (id) ON DELETE CASCADE,
  scopes       text[] NOT NULL,
  resource     text NOT NULL,
  expires_at   timestamptz(3) NOT NULL,
  revoked_at   timestamptz(3),
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  last_used_at timestamptz(3)
);

CREATE INDEX oauth_grants_app_idx ON oauth_grants (app_id, created_at, id);

CREATE TABLE oauth_codes (
  code_hash      bytea PRIMARY KEY,
  app_id         uuid NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
  end_user_id    uuid NOT NULL REFERENCES oauth_end_users (id) ON DELETE CASCADE,
  redirect_uri   text NOT NULL,
  -- Whether the authorization request named redirect_uri (then the token request must name it too).
  redirect_given boolean NOT NULL,
  scopes         text[] NOT NULL,
  resource       text NOT NULL,
  code_challenge text,
  expires_at     timestamptz(3) NOT NULL,
  -- The grant the code was exchanged for: a second exchange revokes it (RFC 6749 §4.1.2).
  grant_id       uuid
);

CREATE TABLE oauth_refresh_tokens (
  token_hash bytea PRIMARY KEY,
  grant_id   uuid NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
  used_at    timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE INDEX oauth_refresh_tokens_grant_idx ON oauth_refresh_tokens (grant_id);

-- Access tokens revoked one by one (RFC 7009); kept until they would have expired anyway.
CREATE TABLE oauth_revoked_tokens (
  jti        uuid PRIMARY KEY,
  expires_at timestamptz(3) NOT NULL
);

-- Per-user documents: in a collection marked per_user, a document an end user writes is theirs
-- (user_id), and end users see only their own there. Shared collections keep user_id null.
ALTER TABLE collections ADD COLUMN per_user boolean NOT NULL DEFAULT false;
ALTER TABLE objects ADD COLUMN user_id text;
CREATE INDEX objects_user_idx ON objects (gpt_id, collection, user_id, created_at, id) WHERE user_id IS NOT NULL;
