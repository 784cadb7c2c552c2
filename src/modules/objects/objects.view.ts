import type { ListedObjectText, ObjectRow } from './objects.repo.js'
import type { ObjectView } from './objects.schemas.js'

export function toObjectView(row: ObjectRow): ObjectView {
  const { id, gpt_id, collection, body } = row
  const created_at = row.created_at.toISOString()
  const updated_at = row.updated_at.toISOString()
  // Two literal shapes rather than a spread in the middle: a page maps 50 rows.
  return row.user_id === null
    ? { id, gpt_id, collection, body, created_at, updated_at }
    : { id, gpt_id, collection, body, user_id: row.user_id, created_at, updated_at }
}

/**
 * A document's view as JSON text, with the body as PostgreSQL printed it: the same members in the same
 * order as toObjectView serialized by the ObjectBody schema. A page of 50 no longer parses each body only
 * to serialize it again (jsonb's text differs from JSON.stringify's only in the spaces between tokens).
 */
export function toObjectJson(row: ListedObjectText): string {
  const user = row.user_id === null ? '' : `,"user_id":${JSON.stringify(row.user_id)}`
  // id is a uuid as PostgreSQL prints it: nothing in it needs escaping.
  return `{"id":"${row.id}","gpt_id":${JSON.stringify(row.gpt_id)},"collection":${JSON.stringify(row.collection)},"body":${row.body}${user},"created_at":"${row.created_at.toISOString()}","updated_at":"${row.updated_at.toISOString()}"}`
}
