import type { JsonObject } from '../../platform/db/tables.js'
import { ERR } from '../../platform/errors.js'
import { findUnstorableText } from '../../platform/json-depth.js'
import type { SortOrder } from '../../platform/http/pagination.js'
import type { ObjectFilters } from './objects.repo.js'

export interface ListObjectsQuery {
  limit?: number
  cursor?: string
  order?: SortOrder
  sort?: 'created_at' | 'updated_at'
  where?: string
  q?: string
  created_after?: string
  created_before?: string
}

export function parseFilters(query: ListObjectsQuery): ObjectFilters {
  let where: JsonObject | null = null
  if (query.where !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(query.where)
    } catch {
      throw ERR.validation('`where` is not valid JSON.', [{ pointer: '/where', location: 'query', message: 'must be a JSON object' }])
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw ERR.validation('`where` must be a JSON object.', [{ pointer: '/where', location: 'query', message: 'must be a JSON object' }])
    }
    // The request-wide check sees the query as sent; JSON escapes inside `where` only show once parsed.
    const unstorable = findUnstorableText(parsed)
    if (unstorable) {
      throw ERR.validation('`where` holds text that cannot be stored.', [{ pointer: '/where', location: 'query', message: unstorable.message }])
    }
    where = parsed as JsonObject
  }
  const q = query.q?.trim() ? query.q.trim() : null
  const date = (value: string | undefined) => (value === undefined ? null : new Date(value))
  return { where, q, createdAfter: date(query.created_after), createdBefore: date(query.created_before) }
}

export function cursorNumber(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw ERR.invalidCursor('The cursor is malformed.')
  return value
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function cursorUuid(value: unknown): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw ERR.invalidCursor('The cursor is malformed.')
  return value
}
