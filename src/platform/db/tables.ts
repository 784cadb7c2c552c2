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
  agent_id: string | null
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

type JsonColumn<T = JsonObject> = ColumnType<T, string | undefined, string>

export interface AgentsTable {
  gpt_id: string
  id: string
  name: string
  address: string | null
  port: number | null
  metadata: JsonColumn
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface ConversationsTable {
  gpt_id: string
  id: string
  title: string
  description: string | null
  archived: ColumnType<boolean, boolean | undefined, boolean>
  metadata: JsonColumn
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface MailTable {
  gpt_id: string
  id: string
  sender_id: string
  conversation_id: string | null
  parent_id: string | null
  type: ColumnType<string, string | undefined, string>
  importance: ColumnType<number, number | undefined, number>
  content: string
  metadata: JsonColumn
  created_at: CreatedAt
}

export interface MailRecipientsTable {
  gpt_id: string
  mail_id: string
  agent_id: string
  created_at: Date
  read_at: Date | null
}

export interface MailMetadataTable {
  gpt_id: string
  mail_id: string
  key: string
  value: JsonColumn<JsonValue>
  set_by: string | null
  updated_at: UpdatedAt
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
  agents: AgentsTable
  conversations: ConversationsTable
  mail: MailTable
  mail_recipients: MailRecipientsTable
  mail_metadata: MailMetadataTable
}
