// GPTs (the tenants), their API keys, and the idempotency keys of their writes.
import type { ColumnType } from 'kysely'
import type { CreatedAt, JsonObject, UpdatedAt } from './columns.js'

export interface GptsTable {
  id: string
  name: string
  description: string | null
  owner_account_id: ColumnType<string | null, string | null | undefined, never>
  /** `{ parts, collections }` as JSON text on write; null: the defaults. */
  action_exposure: ColumnType<JsonObject | null, string | null | undefined, string | null>
  /** Days a chat session is kept after its last activity (null: for ever). */
  session_retention_days: ColumnType<number | null, number | null | undefined, number | null>
  /** Days mail is kept after it was sent (null: for ever). */
  mail_retention_days: ColumnType<number | null, number | null | undefined, number | null>
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface ApiKeysTable {
  id: string
  gpt_id: string
  name: string | null
  secret_hash: Buffer
  scopes: string[]
  expires_at: Date | null
  revoked_at: Date | null
  last_used_at: Date | null
  agent_id: string | null
  created_at: CreatedAt
}

export interface IdempotencyKeysTable {
  gpt_id: string
  key: string
  fingerprint: string
  response_status: number
  response_body: ColumnType<unknown, string, string>
  response_headers: ColumnType<Record<string, string>, string | undefined, string>
  created_at: CreatedAt
}
