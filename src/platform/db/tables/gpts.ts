// GPTs (the tenants), their API keys, and the idempotency keys of their writes.
import type { ColumnType } from 'kysely'
import type { CreatedAt, UpdatedAt } from './columns.js'

export interface GptsTable {
  id: string
  name: string
  description: string | null
  owner_account_id: ColumnType<string | null, string | null | undefined, never>
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
