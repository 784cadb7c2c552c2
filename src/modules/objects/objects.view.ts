import type { Selectable } from 'kysely'
import type { ObjectsTable } from '../../platform/db/tables.js'
import type { ObjectView } from './objects.schemas.js'

export type ObjectRow = Omit<Selectable<ObjectsTable>, 'search'>

/** A document row's columns, as every statement of the repository reads them. */
export const OBJECT_COLUMNS = ['gpt_id', 'id', 'collection', 'body', 'user_id', 'version', 'created_at', 'updated_at'] as const

export function toObjectView(row: ObjectRow): ObjectView {
  const { id, gpt_id, collection, body } = row
  const created_at = row.created_at.toISOString()
  const updated_at = row.updated_at.toISOString()
  // Two literal shapes rather than a spread in the middle: a page maps 50 rows.
  return row.user_id === null
    ? { id, gpt_id, collection, body, created_at, updated_at }
    : { id, gpt_id, collection, body, user_id: row.user_id, created_at, updated_at }
}
