import { CompiledQuery, sql, type Kysely, type Selectable } from 'kysely'
import type { JsonObject, ObjectsTable, Tables } from '../../platform/db/tables.js'
import type { SortOrder } from '../../platform/http/pagination.js'
import { compiledOnce, limitInText, prepared } from '../../platform/db/prepared.js'
import { isExpired, notExpired } from './objects.expiry.js'

export type ObjectRow = Omit<Selectable<ObjectsTable>, 'search'>

const COLUMNS = ['gpt_id', 'id', 'collection', 'body', 'user_id', 'version', 'created_at', 'updated_at'] as const
const TEXT_COLUMNS = COLUMNS.map((column) => (column === 'body' ? sql<string>`body::text`.as('body') : column))

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

export type ListedObject = ObjectRow & { rank: number | null }
/** A listed row whose body is the stored JSON text, for answers that pass it through unparsed. */
export type ListedObjectText = Omit<ListedObject, 'body'> & { body: string }

function compileFindObject(db: Kysely<Tables>) {
  return compiledOnce(db.selectFrom('objects').select(COLUMNS).where('gpt_id', '=', '').where('id', '=', '').where(notExpired('objects')).compile())
}

/** The insert of `insertObjectUnder`, written once: building it with Kysely on each write cost more CPU than its round trip. */
const insertUnder = compiledOnce<ObjectRow>(
  CompiledQuery.raw(`insert into objects (gpt_id, id, collection, body, user_id)
    select $1, $2::uuid, $3, $4::jsonb, $5
    where exists (select 1 from collections where gpt_id = $1 and name = $3 and per_user = $6 and schema is not distinct from $7::jsonb)
    returning ${COLUMNS.join(', ')}`),
)

export class ObjectsRepository {
  private readonly findObjectQuery: ReturnType<typeof compileFindObject>

  constructor(private readonly db: Kysely<Tables>) {
    this.findObjectQuery = compileFindObject(db)
  }

  async insertObjects(
    db: Kysely<Tables>,
    rows: { gpt_id: string; id: string; collection: string; body: JsonObject; user_id?: string | null }[],
  ): Promise<ObjectRow[]> {
    if (rows.length === 0) return []
    return db
      .insertInto('objects')
      .values(rows.map((row) => ({ ...row, body: JSON.stringify(row.body) })))
      .returning(COLUMNS)
      .execute()
  }

  /**
   * Inserts one document only if its collection still has the rules it was checked against: the same
   * schema (as JSON, null for none) and `per_user`. Null when it has not (changed or gone): the caller
   * decides again on a fresh read. One statement, so that a write needs no read of its collection first.
   */
  async insertObjectUnder(
    db: Kysely<Tables>,
    row: { gpt_id: string; id: string; collection: string; body: JsonObject; user_id: string | null },
    rules: { schemaText: string | null; perUser: boolean },
  ): Promise<ObjectRow | null> {
    const { gpt_id, id, collection, body, user_id } = row
    return (await insertUnder(db, [gpt_id, id, collection, JSON.stringify(body), user_id, rules.perUser, rules.schemaText]))[0] ?? null
  }

  /**
   * Refreshes the planner's statistics after a bulk load: with the stale estimate of a few rows the
   * planner sorts the whole collection for every page instead of walking the list index.
   */
  async analyzeObjects(): Promise<void> {
    await sql`analyze objects`.execute(this.db)
  }

  /** The object; with `forUpdate` (inside a transaction `db`) its row stays locked until commit. */
  async findObject(gptId: string, id: string, db: Kysely<Tables> = this.db, forUpdate = false): Promise<ObjectRow | null> {
    if (!forUpdate) {
      return (await this.findObjectQuery(db, [gptId, id]))[0] ?? null
    }
    const query = db.selectFrom('objects').select(COLUMNS).where('gpt_id', '=', gptId).where('id', '=', id).where(notExpired('objects'))
    return (await query.forUpdate().executeTakeFirst()) ?? null
  }

  /** Replaces the body if the stored version is still `version`; null when it moved on (or is gone). */
  async updateBody(gptId: string, id: string, version: number, body: JsonObject, db: Kysely<Tables> = this.db): Promise<ObjectRow | null> {
    return (
      (await db
        .updateTable('objects')
        .set({ body: JSON.stringify(body), version: sql`version + 1`, updated_at: sql`now()` })
        .where('gpt_id', '=', gptId)
        .where('id', '=', id)
        .where('version', '=', version)
        .where(notExpired('objects'))
        .returning(COLUMNS)
        .executeTakeFirst()) ?? null
    )
  }

  /** Deletes the object (only at `version` when given); tells whether a row went. */
  async deleteObject(gptId: string, id: string, version: number | null): Promise<boolean> {
    let query = this.db.deleteFrom('objects').where('gpt_id', '=', gptId).where('id', '=', id)
    if (version !== null) query = query.where('version', '=', version)
    return (await query.executeTakeFirst()).numDeletedRows > 0n
  }

  async listObjects(gptId: string, collection: string, filters: ObjectFilters, seek: ObjectSeek): Promise<ListedObject[]>
  async listObjects(gptId: string, collection: string, filters: ObjectFilters, seek: ObjectSeek, body: 'text'): Promise<ListedObjectText[]>
  async listObjects(gptId: string, collection: string, filters: ObjectFilters, seek: ObjectSeek, body: 'json' | 'text' = 'json'): Promise<(ListedObject | ListedObjectText)[]> {
    let query = this.db
      .selectFrom('objects')
      // The text form names the same columns, body printed rather than parsed: typed as the row it mirrors.
      .select(body === 'json' ? COLUMNS : (TEXT_COLUMNS as unknown as typeof COLUMNS))
      .where('gpt_id', '=', gptId)
      .where('collection', '=', collection)
      .where(notExpired('objects'))
    if (filters.userId !== undefined) query = query.where('user_id', '=', filters.userId)
    if (filters.where) query = query.where(sql<boolean>`body @> ${JSON.stringify(filters.where)}::jsonb`)
    if (filters.createdAfter) query = query.where('created_at', '>', filters.createdAfter)
    if (filters.createdBefore) query = query.where('created_at', '<', filters.createdBefore)

    if (seek.by === 'rank') {
      const tsquery = sql`websearch_to_tsquery('simple', ${filters.q ?? ''})`
      const rank = sql<number>`ts_rank(search, ${tsquery})::float8`
      let ranked = query.select(rank.as('rank')).where(sql<boolean>`search @@ ${tsquery}`)
      if (seek.after) {
        const [afterRank, afterId] = seek.after
        ranked = ranked.where(sql<boolean>`(${rank}, id) < (${afterRank}::float8, ${afterId}::uuid)`)
      }
      return ranked.orderBy(rank, 'desc').orderBy('id', 'desc').limit(seek.limit + 1).execute()
    }

    if (filters.q) query = query.where(sql<boolean>`search @@ websearch_to_tsquery('simple', ${filters.q})`)
    const cmp = seek.order === 'asc' ? '>' : '<'
    if (seek.after) {
      const [at, afterId] = seek.after
      query = query.where((eb) => eb(eb.refTuple(seek.by, 'id'), cmp, eb.tuple(at, afterId)))
    }
    // The rank column comes from the database too: copying 50 rows to add it cost 4% of a page's CPU.
    const compiled = query
      .select(sql<number | null>`null::float8`.as('rank'))
      .orderBy(seek.by, seek.order)
      .orderBy('id', seek.order)
      .limit(limitInText(seek.limit + 1))
      .compile()
    // A plain page walks the list index whatever the values; a filter's best plan depends on them.
    const plain = !filters.where && !filters.q && !filters.createdAfter && !filters.createdBefore
    return (await this.db.executeQuery(plain ? prepared(compiled) : compiled)).rows
  }

  /**
   * Deletes up to `limit` expired documents of the collection, oldest write first (on the
   * updated_at index), so that one batch holds its locks briefly; returns how many went. The TTL
   * is the collection's at this moment (none now: nothing goes).
   */
  async deleteExpired(gptId: string, collection: string, limit: number): Promise<number> {
    const ttl = sql`(select ttl_seconds from collections where gpt_id = ${gptId} and name = ${collection})`
    const result = await sql`
      delete from objects where gpt_id = ${gptId} and id in (
        select id from objects where gpt_id = ${gptId} and collection = ${collection}
          and ${isExpired(sql.ref('updated_at'), ttl)}
        order by updated_at limit ${limit})`.execute(this.db)
    return Number(result.numAffectedRows ?? 0n)
  }

  /**
   * Pages through a whole collection oldest first, a batch at a time on the list index, so that an
   * export or a schema report holds one batch in memory whatever the collection's size.
   */
  async *scanCollection(gptId: string, collection: string, batchSize: number): AsyncGenerator<ObjectRow[]> {
    let after: [Date, string] | null = null
    for (;;) {
      const filters = { where: null, q: null, createdAfter: null, createdBefore: null }
      const rows: ListedObject[] = await this.listObjects(gptId, collection, filters, { by: 'created_at', order: 'asc', limit: batchSize - 1, after })
      if (rows.length === 0) return
      yield rows
      if (rows.length < batchSize) return
      const last = rows[rows.length - 1]!
      after = [last.created_at, last.id]
    }
  }
}
