import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { JsonObject, Tables } from '../../platform/db/tables.js'
import type { CoalesceOptions } from '../../platform/db/coalesce.js'
import { compiledOnce, limitInText } from '../../platform/db/prepared.js'
import { isExpired, notExpired } from './objects.expiry.js'
import { insertOneUnder, joinedFinds, joinedInserts, JOINED, type UnderRules } from './objects.joined.js'
import { inPageOrder, pageStatement, type ObjectFilters, type ObjectSeek } from './objects.page.js'
import { OBJECT_COLUMNS as COLUMNS, type ObjectRow } from './objects.view.js'

export type { ObjectRow, UnderRules }

export type ListedObject = ObjectRow & { rank: number | null }

/** A page as PostgreSQL wrote it: `found` rows were read (one more than the page means more follow); `last` is the page's last document, once the page is full. */
export interface ObjectPageText {
  /** The documents' JSON texts, comma-separated, in the page's order (empty for none). */
  items: string
  found: number
  last: { id: string; created_at: Date; updated_at: Date; rank: number | null } | null
}

/** A timestamp as toISOString writes it: UTC, milliseconds (all a column of timestamptz(3) holds), `Z`. */
const isoText = (column: string) => sql`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

/**
 * A document's view (toObjectView) as JSON text, written by PostgreSQL: the same members in the same
 * order, the body as jsonb prints it (which differs from JSON.stringify only in the spaces between
 * tokens), to_json escaping as JSON.stringify does. `shared` is the members every document of the
 * page has alike (`,"gpt_id":…,"collection":…`), written once by the caller rather than per row.
 */
function documentJson(shared: unknown) {
  return sql<string>`concat('{"id":"', id, '"', ${shared}::text, ',"body":', body, ',"user_id":' || to_json(user_id),
    ',"created_at":"', ${isoText('created_at')}, '","updated_at":"', ${isoText('updated_at')}, '"}')`
}

function compileFindObject(db: Kysely<Tables>) {
  return compiledOnce(db.selectFrom('objects').select(COLUMNS).where('gpt_id', '=', '').where('id', '=', '').where(notExpired('objects')).compile())
}

function pageRowsStatement(db: Kysely<Tables>) {
  return pageStatement(db, (page, shape) => inPageOrder(page.query.select(COLUMNS), page, shape.rows))
}

/** The page as one row (see listObjectsText): its documents' text in order, without the look-ahead row, and its last row's sort key. */
function pageTextStatement(db: Kysely<Tables>) {
  return pageStatement(db, (page, shape, values) => {
    const direction = sql.raw(page.direction)
    // The row's place in the page, so that the outer query joins in that order and leaves out the look-ahead row.
    const place = sql<number>`row_number() over (order by ${page.key} ${direction}, id ${direction})`
    const rows = inPageOrder(page.query.select([place.as('n'), documentJson(values.shared).as('doc'), 'id', 'created_at', 'updated_at']), page, shape.rows)
    const size = limitInText(shape.rows - 1)
    const last = (value: RawBuilder<unknown>) => sql`max(${value}) filter (where n = ${size})`
    return db
      .selectFrom(rows.as('page'))
      .select([
        sql<string>`coalesce(string_agg(doc, ',' order by n) filter (where n <= ${size}), '')`.as('items'),
        sql<number>`count(*)::int`.as('found'),
        sql<string | null>`${last(sql`id::text`)}`.as('last_id'),
        sql<Date | null>`${last(sql.ref('created_at'))}`.as('last_created_at'),
        sql<Date | null>`${last(sql.ref('updated_at'))}`.as('last_updated_at'),
        sql<number | null>`${last(sql.ref('rank'))}`.as('last_rank'),
      ])
  })
}

export class ObjectsRepository {
  private readonly findObjectQuery: ReturnType<typeof compileFindObject>
  private readonly pageRows: ReturnType<typeof pageRowsStatement>
  private readonly pageText: ReturnType<typeof pageTextStatement>

  private readonly insertJoined: ReturnType<typeof joinedInserts>
  private readonly findJoined: ReturnType<typeof joinedFinds>

  /** `joining`: how single reads and writes made at once are joined (see objects.joined.ts). */
  constructor(
    private readonly db: Kysely<Tables>,
    joining: CoalesceOptions = JOINED,
  ) {
    this.findObjectQuery = compileFindObject(db)
    this.pageRows = pageRowsStatement(db)
    this.pageText = pageTextStatement(db)
    this.insertJoined = joinedInserts(db, joining)
    this.findJoined = joinedFinds(db, (wanted) => this.findObjectQuery(db, [wanted.gpt_id, wanted.id]), joining)
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
  async insertObjectUnder(db: Kysely<Tables>, insert: UnderRules): Promise<ObjectRow | null> {
    return insertOneUnder(db, insert)
  }

  /**
   * insertObjectUnder on the repository's own database, joined into one statement with the inserts
   * made while earlier ones are running.
   */
  insertObjectSoon(insert: UnderRules): Promise<ObjectRow | null> {
    return this.insertJoined(insert)
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
      // On the repository's own database, joined with the reads made while earlier ones are running.
      if (db === this.db) return this.findJoined({ gpt_id: gptId, id })
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

  async listObjects(gptId: string, collection: string, filters: ObjectFilters, seek: ObjectSeek): Promise<ListedObject[]> {
    return (await this.db.executeQuery(this.pageRows(gptId, collection, filters, seek))).rows
  }

  /**
   * The same page as one row that PostgreSQL writes: each document's view as JSON text (see
   * documentJson), joined by commas in the page's order. Read as 51 rows of 8 columns, a page cost
   * the service more CPU to parse and print again than a bare server's whole select of those rows.
   */
  async listObjectsText(gptId: string, collection: string, filters: ObjectFilters, seek: ObjectSeek): Promise<ObjectPageText> {
    const found = (await this.db.executeQuery(this.pageText(gptId, collection, filters, seek))).rows[0]!
    const last = found.last_id === null ? null : { id: found.last_id, created_at: found.last_created_at!, updated_at: found.last_updated_at!, rank: found.last_rank }
    return { items: found.items, found: found.found, last }
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
