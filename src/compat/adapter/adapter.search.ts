import { Type } from 'typebox'
import { ERR } from '../../platform/errors.js'

/** A day (`2024-01-31`) or an RFC 3339 time. */
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}([Tt ].+)?$', maxLength: 40 })
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/
const DAY_MS = 86_400_000

/** The adapter's search request; `limit` is bounded by the house's search (1–50). */
export const SearchRequest = Type.Object({
  query: Type.String({ minLength: 1, maxLength: 2000, pattern: '\\S' }),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
  filters: Type.Optional(
    Type.Union([
      Type.Object({
        categories: Type.Optional(Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 50 }), Type.Null()])),
        date_range: Type.Optional(Type.Union([Type.Object({ start: Type.Optional(Day), end: Type.Optional(Day) }), Type.Null()])),
      }),
      Type.Null(),
    ]),
  ),
  context: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])),
})

function instant(value: string, pointer: string, endOfDay: boolean): string {
  const at = Date.parse(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value)
  if (Number.isNaN(at)) throw ERR.validation('The date range is not valid.', [{ pointer, location: 'body', message: 'must be a date (YYYY-MM-DD) or an RFC 3339 time' }])
  // A day as the end of a range includes that whole day.
  return new Date(DATE_ONLY.test(value) && endOfDay ? at + DAY_MS : at).toISOString()
}

/** `date_range: {start, end}` as the house search's `created_after` / `created_before`. */
export function dateRange(range: { start?: string; end?: string } | null): { created_after?: string; created_before?: string } {
  if (range === null) return {}
  return {
    ...(range.start === undefined ? {} : { created_after: instant(range.start, '/filters/date_range/start', false) }),
    ...(range.end === undefined ? {} : { created_before: instant(range.end, '/filters/date_range/end', true) }),
  }
}
