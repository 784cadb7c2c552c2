// Memories and the embeddings of searchable rows.
import type { ColumnType } from 'kysely'
import type { CreatedAt, UpdatedAt, JsonColumn, JsonObject } from './columns.js'

export type EmbeddingStatus = 'pending' | 'ready' | 'failed'

export interface MemoriesTable {
  gpt_id: string
  id: string
  entity_type: string | null
  entity_id: string | null
  user_id: string | null
  content: string
  metadata: JsonColumn
  embedding_status: ColumnType<EmbeddingStatus, EmbeddingStatus | undefined, EmbeddingStatus>
  embedding_error: string | null
  embedding_attempts: ColumnType<number, number | undefined, number>
  revision: ColumnType<number, number | undefined, number>
  created_at: CreatedAt
  updated_at: UpdatedAt
  search: ColumnType<string, never, never>
  expires_at: Date | null
  source: ColumnType<MemorySource, string | undefined, string>
  valid_from: ColumnType<Date, Date | undefined, Date>
  valid_to: Date | null
  superseded_by: string | null
  pinned: ColumnType<boolean, boolean | undefined, boolean>
  importance: ColumnType<number, number | undefined, number>
}

export type MemorySourceType = 'manual' | 'chat_message' | 'document' | 'extraction'

/** Where a memory came from: the id is the chat message's, the document's, or the extraction job's. */
export interface MemorySource {
  type: MemorySourceType
  id?: string
  /** The chat session of a chat message, or the collection of a document. */
  parent?: string
}

export type MemoryAction = 'create' | 'update' | 'supersede' | 'expire' | 'delete'

export interface MemoryHistoryTable {
  gpt_id: string
  id: ColumnType<string, never, never>
  memory_id: string
  user_id: string | null
  action: MemoryAction
  old: ColumnType<JsonObject | null, string | null, string | null>
  new: ColumnType<JsonObject | null, string | null, string | null>
  actor_kind: string
  actor_id: string | null
  at: ColumnType<Date, Date | undefined, Date>
}

export interface EmbeddingsTable {
  gpt_id: string
  id: ColumnType<string, never, never>
  memory_id: string | null
  object_id: string | null
  message_id: string | null
  model: string
  dims: number
  /** Written as a vector literal `[1,2,…]`, which both vector and real[] columns accept through a cast. */
  embedding: ColumnType<unknown, string, string>
  embedded_at: ColumnType<Date, Date | undefined, Date>
}
