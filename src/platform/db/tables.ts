import type { ColumnType } from 'kysely'

type CreatedAt = ColumnType<Date, Date | undefined, never>
type UpdatedAt = ColumnType<Date, Date | undefined, Date>

export interface GptsTable {
  id: string
  name: string
  description: string | null
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
  created_at: CreatedAt
}

/** Every table of the service, as Kysely sees it. */
export interface Tables {
  gpts: GptsTable
  api_keys: ApiKeysTable
}
