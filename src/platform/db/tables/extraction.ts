// Extraction of memories from chat sessions: runs and per-session cursors.
import type { ColumnType } from 'kysely'
import type { CreatedAt, JsonColumn, JsonValue, UpdatedAt } from './columns.js'

export type ExtractionStatus = 'queued' | 'running' | 'waiting_budget' | 'done' | 'failed'
export type ExtractionTrigger = 'request' | 'auto'

export interface ExtractionRunsTable {
  gpt_id: string
  id: string
  session_id: string
  user_id: string
  trigger: ExtractionTrigger
  status: ColumnType<ExtractionStatus, ExtractionStatus | undefined, ExtractionStatus>
  reason: string | null
  extractor: string | null
  from_message_id: string | null
  to_message_id: string | null
  messages_read: ColumnType<number, number | undefined, number>
  decisions: JsonColumn<JsonValue[]>
  summary: JsonColumn<Record<string, number>>
  tokens_in: ColumnType<number, number | undefined, number>
  tokens_out: ColumnType<number, number | undefined, number>
  attempts: ColumnType<number, number | undefined, number>
  created_at: CreatedAt
  started_at: Date | null
  finished_at: Date | null
}

export interface ExtractionCursorsTable {
  gpt_id: string
  session_id: string
  message_id: string
  message_created_at: Date
  updated_at: UpdatedAt
}

/** A character's automatic extraction: after every `every_turns` new user messages of a session. */
export interface CharacterExtraction {
  auto: boolean
  every_turns?: number
}
