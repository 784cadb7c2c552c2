// Memories and the embeddings of searchable rows.
import type { ColumnType } from 'kysely'
import type { CreatedAt, UpdatedAt, JsonColumn } from './columns.js'

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
