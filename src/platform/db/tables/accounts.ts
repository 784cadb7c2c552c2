// Accounts, their keys and login sessions, login throttling, and the signing keys of tokens.
import type { ColumnType } from 'kysely'
import type { CreatedAt, UpdatedAt } from './columns.js'

export interface AccountsTable {
  id: string
  email: string
  password_hash: string
  created_at: CreatedAt
  updated_at: UpdatedAt
  deleted_at: ColumnType<Date | null, never, Date | null>
}

export interface AccountKeysTable {
  account_id: string
  id: string
  secret_hash: Buffer
  revoked_at: ColumnType<Date | null, never, Date | null>
  created_at: CreatedAt
}

export interface AccountSessionsTable {
  account_id: string
  id: string
  expires_at: Date
  revoked_at: ColumnType<Date | null, never, Date | null>
  created_at: CreatedAt
}

export interface AccountRefreshTokensTable {
  token_hash: Buffer
  account_id: string
  session_id: string
  used_at: ColumnType<Date | null, never, Date | null>
  created_at: CreatedAt
}

export interface LoginFailuresTable {
  subject: string
  failures: number
  last_failed_at: Date
  locked_until: Date | null
}

export interface ConsoleSessionsTable {
  token_hash: Buffer
  kind: 'account' | 'operator'
  account_id: string | null
  account_session_id: string | null
  csrf_token: string
  expires_at: Date
  created_at: CreatedAt
}

export interface SigningKeysTable {
  kid: string
  alg: string
  public_jwk: ColumnType<Record<string, unknown>, string, string>
  private_jwk: ColumnType<Record<string, unknown>, string, string>
  created_at: CreatedAt
  retired_at: ColumnType<Date | null, never, Date | null>
}
