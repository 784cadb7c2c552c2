// Collections and their documents (objects).
import type { ColumnType } from 'kysely'
import type { CreatedAt, UpdatedAt, JsonObject } from './columns.js'

export interface CollectionsTable {
  gpt_id: string
  name: string
  schema: ColumnType<JsonObject | null, string | null, string | null>
  per_user: ColumnType<boolean, boolean | undefined, boolean>
  /** Seconds a document lives after its last write (null: for ever). */
  ttl_seconds: ColumnType<number | null, number | null | undefined, number | null>
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface ObjectsTable {
  gpt_id: string
  id: string
  collection: string
  body: ColumnType<JsonObject, string, string>
  /** The end user of a document in a per-user collection; null in shared collections. */
  user_id: ColumnType<string | null, string | null | undefined, never>
  version: ColumnType<number, number | undefined, number>
  created_at: CreatedAt
  updated_at: UpdatedAt
  search: ColumnType<string, never, never>
}
