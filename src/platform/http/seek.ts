import { dateKey, type PageRequest } from './pagination.js'
import { ERR } from '../errors.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A uuid taken from a cursor: anything else is a malformed cursor, never a database cast error. */
export function cursorUuid(value: unknown): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw ERR.invalidCursor('The cursor is malformed.')
  return value
}

/** A decoded `(created_at, id)` cursor key, checked, for lists sorted by time then uuid. */
export function timeIdAfter(page: PageRequest): [Date, string] | null {
  if (!page.after) return null
  return [dateKey(page.after[0]), cursorUuid(page.after[1])]
}

/** A decoded `(created_at, name)` cursor key, for lists whose tiebreak is a text key (GPT ids, collection names). */
export function timeNameAfter(page: PageRequest): [Date, string] | null {
  if (!page.after) return null
  const name = page.after[1]
  if (typeof name !== 'string') throw ERR.invalidCursor('The cursor is malformed.')
  return [dateKey(page.after[0]), name]
}
