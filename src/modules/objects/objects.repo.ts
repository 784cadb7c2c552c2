import { CompiledQuery, sql, type Kysely, type RawBuilder, type Selectable } from 'kysely'
import type { JsonObject, ObjectsTable, Tables } from '../../platform/db/tables.js'
import { coalesced, type CoalesceOptions } from '../../platform/db/coalesce.js'
import { compiledOnce, limitInText } from '../../platform/db/prepared.js'
import { isExpired, notExpired } from './objects.expiry.js'
import { inPageOrder, pageStatement, type ObjectFilters, type ObjectSeek } from './objects.page.js'

export type ObjectRow = Omit<Selectable<ObjectsTable>, 'search'>

const COLUMNS = ['gpt_id', 'id', 'collection', 'body', 'user_id', 'version', 'created_at', 'updated_at'] as const

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

/** The insert of `insertObjectUnder`, written once: building it with Kysely on each write cost more CPU than its round trip. */
const insertUnder = compiledOnce<ObjectRow>(
  CompiledQuery.raw(`insert into objects (gpt_id, id, collection, body, user_id)
    select $1, $2::uuid, $3, $4::jsonb, $5
    where exists (select 1 from collections where gpt_id = $1 and name = $3 and per_user = $6 and schema is not distinct from $7::jsonb)
    returning ${COLUMNS.join(', ')}`),
)

/**
 * insertUnder for many documents at once, each under its own rules, given as one JSON array of
 * records (see insertObjectSoon). Rows come back in no set order; a document refused has none.
 */
const insertManyUnder = compiledOnce<ObjectRow>(
  CompiledQuery.raw(`insert into objects (gpt_id, id, collection, body, user_id)
    select r.gpt_id, r.id, r.collection, r.body, r.user_id
    from jsonb_to_recordset($1::jsonb) as r(gpt_id text, id uuid, collection text, body jsonb, user_id text, per_user boolean, schema jsonb)
    where exists (select 1 from collections c where c.gpt_id = r.gpt_id and c.name = r.collection and c.per_user = r.per_user and c.schema is not distinct from r.schema)
    returning ${COLUMNS.join(', ')}`),
)

/**
 * Two joined inserts at once, so that one slow statement does not hold every write back. One alone
 * answers a saturating load a little faster; three or more, a little slower (fewer rows per statement).
 */
const JOINED_INSERTS: CoalesceOptions = { maxInFlight: 2, maxBatch: 32 }

/** A document bigger than this (as JSON text) is inserted alone: joining pays for small writes, whose statement costs more than their row. */
const JOINED_BODY_MAX = 16 * 1024

export interface UnderRules {
  row: { gpt_id: string; id: string; collection: string; body: JsonObject; user_id: string | null }
  rules: { schemaText: string | null; perUser: boolean }
}

/** One insert for the joined statement: its record there, and its parameters for insertUnder alone. */
type JoinedInsert = { id: string; record: string; parameters: unknown[] }

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

function underParameters({ row, rules }: UnderRules, text: string): unknown[] {
  return [row.gpt_id, row.id, row.collection, text, row.user_id, rules.perUser, rules.schemaText]
}

export class ObjectsRepository {
  private readonly findObjectQuery: ReturnType<typeof compileFindObject>
  private readonly pageRows: ReturnType<typeof pageRowsStatement>
  private readonly pageText: ReturnType<typeof pageTextStatement>

  private readonly insertJoined: (insert: JoinedInsert) => Promise<ObjectRow | null>

  constructor(
    private readonly db: Kysely<Tables>,
    joining: CoalesceOptions = JOINED_INSERTS,
  ) {
    this.findObjectQuery = compileFindObject(db)
    this.pageRows = pageRowsStatement(db)
    this.pageText = pageTextStatement(db)
    this.insertJoined = coalesced(
      async (insert) => (await insertUnder(db, insert.parameters))[0] ?? null,
      async (inserts) => {
        const rows = new Map((await insertManyUnder(db, [`[${inserts.map((insert) => insert.record).join(',')}]`])).map((row) => [row.id, row]))
        return inserts.map((insert) => rows.get(insert.id) ?? null)
      },
      joining,
    )
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
    return (await insertUnder(db, underParameters(insert, JSON.stringify(insert.row.body))))[0] ?? null
  }

  /**
   * insertObjectUnder on the repository's own database, joined into one statement with the inserts
   * that arrive while earlier ones are running (see coalesced). For a small document.
   */
  async insertObjectSoon(insert: UnderRules): Promise<ObjectRow | null> {
    const text = JSON.stringify(insert.row.body)
    const parameters = underParameters(insert, text)
    if (text.length > JOINED_BODY_MAX) return (await insertUnder(this.db, parameters))[0] ?? null
    const { gpt_id, id, collection, user_id } = insert.row
    // The schema is JSON text already, and the body was just written: both go in as they are.
    const record = `{"gpt_id":${JSON.stringify(gpt_id)},"id":${JSON.stringify(id)},"collection":${JSON.stringify(collection)},"body":${text},"user_id":${JSON.stringify(user_id)},"per_user":${insert.rules.perUser},"schema":${insert.rules.schemaText ?? 'null'}}`
    return this.insertJoined({ id, record, parameters })
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
