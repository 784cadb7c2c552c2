-- Sign-ins to the admin console (/admin). The cookie holds a random token; only its SHA-256 is kept.
-- An account's console session rides on one of its login sessions (account_sessions): ending either
-- ends the console's access. An operator's has no account. Looked up by token hash before the
-- principal is known, so under Citus it is a reference table like account_refresh_tokens.
CREATE TABLE console_sessions (
  token_hash         bytea PRIMARY KEY,
  kind               text NOT NULL CHECK (kind IN ('account', 'operator')),
  account_id         uuid REFERENCES accounts (id) ON DELETE CASCADE,
  account_session_id uuid,
  -- Sent back by the console in X-CSRF-Token on every write: a cross-site page cannot read it.
  csrf_token         text NOT NULL,
  expires_at         timestamptz(3) NOT NULL,
  created_at         timestamptz(3) NOT NULL DEFAULT now(),
  CHECK ((kind = 'account') = (account_id IS NOT NULL AND account_session_id IS NOT NULL))
);

CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);
