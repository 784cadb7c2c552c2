import type { JsonObject } from '../db/tables.js'
import { ERR } from '../errors.js'
import { findUnstorableText } from '../json-depth.js'

/**
 * A `where` query parameter: a JSON object matched by containment. Not JSON, not an object, or
 * holding text PostgreSQL cannot compare (JSON escapes only show once parsed, after the request-wide
 * check) is a 422 naming the parameter.
 */
export function parseWhereParam(text: string | undefined): JsonObject | null {
  if (text === undefined) return null
  const fail = (detail: string, message = 'must be a JSON object') =>
    ERR.validation(detail, [{ pointer: '/where', location: 'query', message }])
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw fail('`where` is not valid JSON.')
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw fail('`where` must be a JSON object.')
  const unstorable = findUnstorableText(parsed)
  if (unstorable) throw fail('`where` holds text that cannot be stored.', unstorable.message)
  return parsed as JsonObject
}
