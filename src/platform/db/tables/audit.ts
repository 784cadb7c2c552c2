// The audit log.
import type { ColumnType } from 'kysely'
import type { JsonValue } from './columns.js'

export interface AuditLogTable {
  gpt_id: string | null
  id: string
  account_id: string | null
  principal_kind: string
  principal_id: string | null
  action: string
  targets: ColumnType<Record<string, string>, string, never>
  status: number
  duration_ms: number | null
  request_id: string | null
  ip: string | null
  user_agent: string | null
  request: ColumnType<JsonValue | null, string | null, never>
  created_at: Date
}
