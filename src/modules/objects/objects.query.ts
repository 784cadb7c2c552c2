import { ERR } from '../../platform/errors.js'
import { parseWhereParam } from '../../platform/http/where-param.js'
import type { SortOrder } from '../../platform/http/pagination.js'
import type { ObjectFilters } from './objects.page.js'

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
  const where = parseWhereParam(query.where)
  const q = query.q?.trim() ? query.q.trim() : null
  const date = (value: string | undefined) => (value === undefined ? null : new Date(value))
  return { where, q, createdAfter: date(query.created_after), createdBefore: date(query.created_before) }
}

export function cursorNumber(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw ERR.invalidCursor('The cursor is malformed.')
  return value
}
