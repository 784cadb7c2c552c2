import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { ERR } from '../errors.js'

export type SortOrder = 'asc' | 'desc'

export interface PageRequest {
  limit: number
  order: SortOrder
  /** The sort key of the last row of the previous page. */
  after: unknown[] | null
}

export interface Page<T> {
  items: T[]
  nextCursor: string | null
  hasMore: boolean
}

export function pageQuerySchema(limits: { maxPageSize: number }) {
  return {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: limits.maxPageSize, description: 'Page size.' })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'Opaque cursor from `next_cursor`.' })),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  }
}

/** Offset paging beside the cursor, for clients that count rows (the replaced chat store's `skip`). */
export function offsetQuerySchema() {
  return {
    offset: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Skip this many items first (not with `cursor`); the answer then carries `total`.' }),
    ),
  }
}

/** An offset, when given, replaces the cursor: both at once is a 422. */
export function checkOffset(query: { cursor?: string; offset?: number }): number | null {
  if (query.offset === undefined) return null
  if (query.cursor !== undefined) {
    throw ERR.validation('Give either `cursor` or `offset`, not both.', [{ pointer: '/offset', location: 'query', message: 'must not be given with cursor' }])
  }
  return query.offset
}

/**
 * A cursor is base64url JSON of the list it belongs to (`scope`, which includes the order) and the
 * last row's sort key; a cursor from another list is refused rather than silently misread.
 */
export function encodeCursor(scope: string, key: unknown[]): string {
  return Buffer.from(JSON.stringify({ s: scope, k: key })).toString('base64url')
}

export function decodeCursor(cursor: string, scope: string): unknown[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw ERR.invalidCursor('The cursor is malformed.')
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { k?: unknown }).k)) {
    throw ERR.invalidCursor('The cursor is malformed.')
  }
  if ((parsed as { s?: unknown }).s !== scope) {
    throw ERR.invalidCursor('The cursor was issued for another list or sort order.')
  }
  return (parsed as { k: unknown[] }).k
}

/** Reads `limit`, `cursor` and `order` into a page request for the list named by `scope`. */
export function pageRequest(
  query: { limit?: number; cursor?: string; order?: SortOrder },
  scope: string,
  defaults: { defaultPageSize: number; order: SortOrder },
): PageRequest & { scope: string } {
  const order = query.order ?? defaults.order
  const fullScope = `${scope}:${order}`
  return {
    scope: fullScope,
    limit: query.limit ?? defaults.defaultPageSize,
    order,
    after: query.cursor === undefined ? null : decodeCursor(query.cursor, fullScope),
  }
}

/** Turns `limit + 1` fetched rows into a page; `keyOf` gives a row's sort key. */
export function toPage<T>(rows: T[], request: PageRequest & { scope: string }, keyOf: (row: T) => unknown[]): Page<T> {
  const items = rows.length > request.limit ? rows.slice(0, request.limit) : rows
  return { items, ...pageEnd(request, rows.length, items[items.length - 1], keyOf) }
}

/**
 * Where a page ends, from how many rows were read for it (`limit + 1` asked: the one more says more
 * follow) and its last row: whether more follow, and the cursor to them.
 */
export function pageEnd<T>(
  request: PageRequest & { scope: string },
  found: number,
  last: T | null | undefined,
  keyOf: (row: T) => unknown[],
): Pick<Page<T>, 'hasMore' | 'nextCursor'> {
  const hasMore = found > request.limit
  return { hasMore, nextCursor: hasMore && last !== undefined && last !== null ? encodeCursor(request.scope, keyOf(last)) : null }
}

/** Sets `Link: <…>; rel="next"` pointing at the same request with the next cursor. */
export function setNextLink(request: FastifyRequest, reply: FastifyReply, publicUrl: string, nextCursor: string | null): void {
  if (nextCursor === null) return
  const url = new URL(request.url, `${publicUrl}/`)
  url.searchParams.set('cursor', nextCursor)
  reply.header('link', `<${publicUrl}${url.pathname}${url.search}>; rel="next"`)
}

/** Dates in a sort key travel as RFC 3339 strings. */
export function dateKey(value: unknown): Date {
  const date = new Date(String(value))
  if (typeof value !== 'string' || Number.isNaN(date.getTime())) throw ERR.invalidCursor('The cursor is malformed.')
  return date
}

/** Reads every page of a list (for callers that need all of it: the CLI, a GPT's Action spec). */
export async function allPages<T>(list: (cursor?: string) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = []
  let cursor: string | undefined
  do {
    const page = await list(cursor)
    items.push(...page.items)
    cursor = page.nextCursor ?? undefined
  } while (cursor !== undefined)
  return items
}
