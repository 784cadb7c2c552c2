import { sql, type Compilable, type Kysely, type RawBuilder, type SelectQueryBuilder } from 'kysely'
import { limitInText, prepared } from '../../platform/db/prepared.js'
import { compiledPerShape } from '../../platform/db/shapes.js'
import type { JsonObject, Tables } from '../../platform/db/tables.js'
import type { SortOrder } from '../../platform/http/pagination.js'
import { notExpired } from './objects.expiry.js'

export interface ObjectFilters {
  /** Only this end user's documents (of a per-user collection). */
  userId?: string
  where: JsonObject | null
  q: string | null
  createdAfter: Date | null
  createdBefore: Date | null
}

export type ObjectSeek =
  | { by: 'created_at' | 'updated_at'; order: SortOrder; limit: number; after: [Date, string] | null }
  /** Ranked full-text results: best first, then by id. */
  | { by: 'rank'; limit: number; after: [number, string] | null }

/** What sets a page query's text besides which filters it has: its sort, its order and its row count. */
type PageShape = { by: ObjectSeek['by']; order: SortOrder; rows: number }

/** A page query's values; a null one (no such filter, no cursor) leaves its condition out. */
interface PageValues extends Record<string, unknown> {
  gptId: string
  collection: string
  userId: string | null
  where: string | null
  q: string | null
  createdAfter: Date | null
  createdBefore: Date | null
  afterKey: Date | number | null
  afterId: string | null
  /** The members every document of the page has alike, as JSON text: `,"gpt_id":…,"collection":…`. */
  shared: string
}

/** A page's rows before their columns, with what orders them: a `rank` column (null unless ranked) and its sort key. */
export interface PageRows {
  query: SelectQueryBuilder<Tables, 'objects', { rank: number | null }>
  key: RawBuilder<unknown>
  direction: SortOrder
}

function pageRows(db: Kysely<Tables>, shape: PageShape, values: PageValues): PageRows {
  let query = db
    .selectFrom('objects')
    .where('gpt_id', '=', values.gptId)
    .where('collection', '=', values.collection)
    .where(notExpired('objects'))
  if (values.userId !== null) query = query.where('user_id', '=', values.userId)
  if (values.where !== null) query = query.where(sql<boolean>`body @> ${values.where}::jsonb`)
  if (values.createdAfter !== null) query = query.where('created_at', '>', values.createdAfter)
  if (values.createdBefore !== null) query = query.where('created_at', '<', values.createdBefore)

  if (shape.by === 'rank') {
    const tsquery = sql`websearch_to_tsquery('simple', ${values.q})`
    const rank = sql<number | null>`ts_rank(search, ${tsquery})::float8`
    query = query.where(sql<boolean>`search @@ ${tsquery}`)
    if (values.afterKey !== null) query = query.where(sql<boolean>`(${rank}, id) < (${values.afterKey}::float8, ${values.afterId}::uuid)`)
    return { query: query.select(rank.as('rank')), key: rank, direction: 'desc' }
  }

  if (values.q !== null) query = query.where(sql<boolean>`search @@ websearch_to_tsquery('simple', ${values.q})`)
  if (values.afterKey !== null) {
    const { afterKey, afterId } = values as { afterKey: Date; afterId: string }
    query = query.where((eb) => eb(eb.refTuple(shape.by as 'created_at', 'id'), shape.order === 'asc' ? '>' : '<', eb.tuple(afterKey, afterId)))
  }
  // The rank column comes from the database too: copying 50 rows to add it cost 4% of a page's CPU.
  return { query: query.select(sql<number | null>`null::float8`.as('rank')), key: sql.ref(shape.by), direction: shape.order }
}

/** A page's query in its order (its sort key, then id, the same way), limited to `rows`. */
export function inPageOrder<O>(query: SelectQueryBuilder<Tables, 'objects', O>, page: PageRows, rows: number) {
  return query.orderBy(page.key, page.direction).orderBy('id', page.direction).limit(limitInText(rows))
}

/**
 * A page statement: `select` gives the page's rows their columns, order and limit (one row more than
 * the page, to tell whether more follow). Kysely builds it once per shape (see compiledPerShape); a page
 * with no filter runs as a prepared statement.
 */
export function pageStatement<R>(db: Kysely<Tables>, select: (rows: PageRows, shape: PageShape, values: PageValues) => Compilable<R>) {
  const compiled = compiledPerShape((shape: PageShape, values: PageValues) => select(pageRows(db, shape, values), shape, values))
  return (gptId: string, collection: string, filters: ObjectFilters, seek: ObjectSeek) => {
    const shape: PageShape = { by: seek.by, order: seek.by === 'rank' ? 'desc' : seek.order, rows: seek.limit + 1 }
    const values: PageValues = {
      gptId,
      collection,
      userId: filters.userId ?? null,
      where: filters.where ? JSON.stringify(filters.where) : null,
      q: filters.q,
      createdAfter: filters.createdAfter,
      createdBefore: filters.createdBefore,
      afterKey: seek.after?.[0] ?? null,
      afterId: seek.after?.[1] ?? null,
      shared: `,"gpt_id":${JSON.stringify(gptId)},"collection":${JSON.stringify(collection)}`,
    }
    const query = compiled(shape, values)
    // A plain page walks the list index whatever the values, so it is prepared; a filter's best plan depends on them.
    return !filters.where && !filters.q && !filters.createdAfter && !filters.createdBefore ? prepared(query) : query
  }
}
