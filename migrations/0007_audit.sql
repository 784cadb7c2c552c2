-- The audit log: one row per authenticated request and per identity event (signup, logins, password
-- and email changes, key create/rotate/revoke, refresh token reuse). Rows are written in batches off
-- the request path and deleted after AUDIT_RETENTION_DAYS by the daily `audit.purge` job.
-- gpt_id leads every index a GPT's audit reads; it is null for account-only events (a login), which
-- are read through account_id. No foreign keys: a row outlives the key or session it names.

CREATE TABLE audit_log (
  gpt_id         text,
  id             uuid NOT NULL,
  account_id     uuid,
  -- admin, key, account, or anonymous (a failed login, a signup).
  principal_kind text NOT NULL,
  principal_id   text,
  -- The route's operationId for a request; the event's name for an identity event (login.failed, …).
  action         text NOT NULL,
  targets        jsonb NOT NULL DEFAULT '{}',
  status         smallint NOT NULL,
  duration_ms    real,
  request_id     text,
  ip             text,
  user_agent     text,
  -- Sanitized: secret-looking members redacted, strings and the whole object truncated.
  request        jsonb,
  created_at     timestamptz(3) NOT NULL,
  PRIMARY KEY (id)
);

CREATE INDEX audit_log_gpt_idx ON audit_log (gpt_id, created_at, id) WHERE gpt_id IS NOT NULL;
CREATE INDEX audit_log_account_idx ON audit_log (account_id, created_at, id) WHERE account_id IS NOT NULL;
-- The retention purge deletes by age alone.
CREATE INDEX audit_log_created_idx ON audit_log (created_at);
