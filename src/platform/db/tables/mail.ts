// Agents and the mail between them.
import type { ColumnType } from 'kysely'
import type { CreatedAt, UpdatedAt, JsonColumn, JsonValue } from './columns.js'

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
  edited_at: ColumnType<Date | null, Date | null | undefined, Date | null>
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
  id: ColumnType<string, string | undefined, never>
  value: JsonColumn<JsonValue>
  set_by: string | null
  created_at: CreatedAt
  updated_at: UpdatedAt
}
