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

export interface CollectionsTable {
  gpt_id: string
  name: string
  schema: ColumnType<JsonObject | null, string | null, string | null>
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface ObjectsTable {
  gpt_id: string
  id: string
  collection: string
  body: ColumnType<JsonObject, string, string>
  version: ColumnType<number, number | undefined, number>
  created_at: CreatedAt
  updated_at: UpdatedAt
  search: ColumnType<string, never, never>
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

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

/** Every table of the service, as Kysely sees it. */
export interface Tables {
  gpts: GptsTable
  api_keys: ApiKeysTable
  collections: CollectionsTable
  objects: ObjectsTable
  idempotency_keys: IdempotencyKeysTable
}
