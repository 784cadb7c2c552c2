// The OAuth server: apps, end users, consents, grants, codes, refresh tokens and revoked access tokens.
import type { ColumnType } from 'kysely'
import type { CreatedAt } from './columns.js'

export interface OAuthAppsTable {
  id: string
  gpt_id: string
  name: string
  client_id: string
  secret_hash: Buffer | null
  type: 'confidential' | 'public'
  redirect_uris: string[]
  scopes: string[]
  rate_limit_per_minute: number | null
  created_at: CreatedAt
  last_used_at: Date | null
}

export interface OAuthEndUsersTable {
  gpt_id: string
  id: string
  email: string
  password_hash: string
  created_at: CreatedAt
}

export interface OAuthConsentsTable {
  id: string
  app_id: string
  request: ColumnType<Record<string, string>, string, string>
  csrf_hash: Buffer
  expires_at: Date
}

export interface OAuthGrantsTable {
  id: string
  gpt_id: string
  app_id: string
  end_user_id: string | null
  scopes: string[]
  resource: string
  expires_at: Date
  revoked_at: Date | null
  created_at: CreatedAt
  last_used_at: Date | null
}

export interface OAuthCodesTable {
  code_hash: Buffer
  app_id: string
  end_user_id: string
  redirect_uri: string
  redirect_given: boolean
  scopes: string[]
  resource: string
  code_challenge: string | null
  expires_at: Date
  grant_id: string | null
}

export interface OAuthRefreshTokensTable {
  token_hash: Buffer
  grant_id: string
  used_at: Date | null
  created_at: CreatedAt
}

export interface OAuthRevokedTokensTable {
  jti: string
  expires_at: Date
}
