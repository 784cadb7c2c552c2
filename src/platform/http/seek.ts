import { dateKey, type PageRequest } from './pagination.js'
import { ERR } from '../errors.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A decoded `(created_at, id)` cursor key, checked, for lists sorted by time then uuid. */
export function timeIdAfter(page: PageRequest): [Date, string] | null {
  if (!page.after) return null
  const [at, id] = page.after
  if (typeof id !== 'string' || !UUID.test(id)) throw ERR.invalidCursor('The cursor is malformed.')
  return [dateKey(at), id]
}
