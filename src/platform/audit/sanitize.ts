import type { JsonValue } from '../db/tables.js'
import { SECRET_NAME } from '../logger.js'

export const REDACTED = '[redacted]'
const MAX_STRING = 512
const MAX_ITEMS = 20
const MAX_DEPTH = 6
/** The whole sanitized request, as JSON text. */
export const MAX_REQUEST_CHARS = 4096

function clean(value: unknown, depth: number): JsonValue {
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value === 'boolean' || value === null || value === undefined) return value ?? null
  if (typeof value !== 'object') return null
  if (depth >= MAX_DEPTH) return '[…]'
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((item) => clean(item, depth + 1))
    return value.length > MAX_ITEMS ? [...items, `[${value.length - MAX_ITEMS} more]`] : items
  }
  const out: Record<string, JsonValue> = {}
  for (const [name, member] of Object.entries(value as Record<string, unknown>)) {
    // A secret's name is kept, so that the log tells a password change from an email change.
    out[name] = SECRET_NAME.test(name) ? REDACTED : clean(member, depth + 1)
  }
  return out
}

/**
 * What the audit log keeps of a request: the query and the body with the value of every secret-looking
 * member (password, token, key, secret, code, authorization, ...) replaced at any depth, strings cut at
 * 512 characters, lists at 20 items, and the whole at 4 kB (past it, a cut JSON text), so that no
 * credential and no document body in full is stored.
 */
export function sanitizeRequest(query: unknown, body: unknown): JsonValue | null {
  const hasQuery = typeof query === 'object' && query !== null && Object.keys(query).length > 0
  if (!hasQuery && (body === undefined || body === null)) return null
  const value: Record<string, JsonValue> = {}
  if (hasQuery) value.query = clean(query, 0)
  if (body !== undefined && body !== null) value.body = clean(body, 0)
  const text = JSON.stringify(value)
  return text.length > MAX_REQUEST_CHARS ? { truncated: true, json: text.slice(0, MAX_REQUEST_CHARS) } : value
}
