// Characters, chat sessions and their messages.
import type { ColumnType } from 'kysely'
import type { CreatedAt, UpdatedAt, JsonColumn, JsonValue } from './columns.js'
import type { CharacterExtraction } from './extraction.js'

export interface CharactersTable {
  gpt_id: string
  id: string
  name: string
  agent_role: string
  model: string | null
  temperature: number | null
  memory: JsonColumn<CharacterMemory>
  extraction: JsonColumn<CharacterExtraction>
  created_at: CreatedAt
  updated_at: UpdatedAt
  deleted_at: Date | null
}

export interface CharacterMemory {
  enabled: boolean
  top_k?: number
  entity_type?: string
}

export interface ChatSessionsTable {
  gpt_id: string
  id: string
  user_id: string
  name: string | null
  metadata: JsonColumn
  character_id: string | null
  is_favorite: ColumnType<boolean, boolean | undefined, boolean>
  last_activity_at: ColumnType<Date, Date | undefined, Date>
  generating_message_id: string | null
  generation_lease_until: Date | null
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export type MessageSender = 'user' | 'ai' | 'system' | 'tool'

export type MessageStatus = 'pending' | 'in_progress' | 'complete' | 'failed' | 'cancelled'

export interface ChatMessagesTable {
  gpt_id: string
  session_id: string
  id: string
  sender: MessageSender
  content: ColumnType<string, string | undefined, string>
  context: ColumnType<JsonValue | null, string | null | undefined, string | null>
  status: ColumnType<MessageStatus, MessageStatus | undefined, MessageStatus>
  partial_content: ColumnType<string, string | undefined, string>
  error_message: string | null
  model: string | null
  character_id: string | null
  created_at: CreatedAt
  updated_at: UpdatedAt
  search: ColumnType<string, never, never>
}
