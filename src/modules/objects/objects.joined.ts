import { CompiledQuery, type Kysely } from 'kysely'
import { coalesced, type CoalesceOptions } from '../../platform/db/coalesce.js'
import { compiledOnce } from '../../platform/db/prepared.js'
import type { JsonObject, Tables } from '../../platform/db/tables.js'
import { notExpired } from './objects.expiry.js'
import { OBJECT_COLUMNS, type ObjectRow } from './objects.view.js'

// The reads and writes of one document that come at once are joined, each kind into one statement
// (see coalesced). Their many-row statements take their rows as one JSON array of records: one
// parameter whatever their number, so that each is one prepared statement.

/**
 * Two joined statements of a kind at once, so that one slow statement does not hold every other
 * back. One alone answers a saturating load a little faster; three or more, a little slower.
 */
export const JOINED: CoalesceOptions = { maxInFlight: 2, maxBatch: 32 }

/** A document bigger than this (as JSON text) is inserted alone: joining pays for small writes, whose statement costs more than their row. */
const JOINED_BODY_MAX = 16 * 1024

/** A checked document's insert, on the condition that its collection still has the rules it was checked against. */
export interface UnderRules {
  row: { gpt_id: string; id: string; collection: string; body: JsonObject; user_id: string | null }
  /** The collection's schema as JSON text (null for none) and `per_user`. */
  rules: { schemaText: string | null; perUser: boolean }
}

const COLUMNS = OBJECT_COLUMNS.join(', ')

/** One insert under its rules, written once: building it with Kysely on each write cost more CPU than its round trip. */
const insertUnder = compiledOnce<ObjectRow>(
  CompiledQuery.raw(`insert into objects (gpt_id, id, collection, body, user_id)
    select $1, $2::uuid, $3, $4::jsonb, $5
    where exists (select 1 from collections where gpt_id = $1 and name = $3 and per_user = $6 and schema is not distinct from $7::jsonb)
    returning ${COLUMNS}`),
)

/** insertUnder for many documents, each under its own rules. Rows come back in no set order; a document refused has none. */
const insertManyUnder = compiledOnce<ObjectRow>(
  CompiledQuery.raw(`insert into objects (gpt_id, id, collection, body, user_id)
    select r.gpt_id, r.id, r.collection, r.body, r.user_id
    from jsonb_to_recordset($1::jsonb) as r(gpt_id text, id uuid, collection text, body jsonb, user_id text, per_user boolean, schema jsonb)
    where exists (select 1 from collections c where c.gpt_id = r.gpt_id and c.name = r.collection and c.per_user = r.per_user and c.schema is not distinct from r.schema)
    returning ${COLUMNS}`),
)

function insertParameters({ row, rules }: UnderRules, text: string): unknown[] {
  return [row.gpt_id, row.id, row.collection, text, row.user_id, rules.perUser, rules.schemaText]
}

/** insertUnder's row; null when the collection no longer has the rules (changed or gone). */
const insertedUnder = async (db: Kysely<Tables>, parameters: unknown[]): Promise<ObjectRow | null> => (await insertUnder(db, parameters))[0] ?? null

/** Inserts one document if its collection still has its rules; null when it has not (changed or gone). */
export function insertOneUnder(db: Kysely<Tables>, insert: UnderRules): Promise<ObjectRow | null> {
  return insertedUnder(db, insertParameters(insert, JSON.stringify(insert.row.body)))
}

/** insertOneUnder on `db`, joined with the inserts made while earlier ones run; a large document goes alone. */
export function joinedInserts(db: Kysely<Tables>, options: CoalesceOptions): (insert: UnderRules) => Promise<ObjectRow | null> {
  type Joined = { id: string; record: string; parameters: unknown[] }
  const insert = coalesced<Joined, ObjectRow | null>(
    (one) => insertedUnder(db, one.parameters),
    async (many) => {
      const rows = new Map((await insertManyUnder(db, [`[${many.map((one) => one.record).join(',')}]`])).map((row) => [row.id, row]))
      return many.map((one) => rows.get(one.id) ?? null)
    },
    options,
  )
  return async (under) => {
    const text = JSON.stringify(under.row.body)
    const parameters = insertParameters(under, text)
    if (text.length > JOINED_BODY_MAX) return insertedUnder(db, parameters)
    const { gpt_id, id, collection, user_id } = under.row
    // The schema is JSON text already, and the body was just written: both go in as they are.
    const record = `{"gpt_id":${JSON.stringify(gpt_id)},"id":${JSON.stringify(id)},"collection":${JSON.stringify(collection)},"body":${text},"user_id":${JSON.stringify(user_id)},"per_user":${under.rules.perUser},"schema":${under.rules.schemaText ?? 'null'}}`
    return insert({ id, record, parameters })
  }
}

type Wanted = { gpt_id: string; id: string }

/** The live documents among many `{gpt_id, id}`, as findOne reads one. Rows come back in no set order. */
function compileFindMany(db: Kysely<Tables>) {
  return compiledOnce<ObjectRow>(
    CompiledQuery.raw(`select ${OBJECT_COLUMNS.map((column) => `objects.${column}`).join(', ')}
      from jsonb_to_recordset($1::jsonb) as wanted(gpt_id text, id uuid)
      join objects on objects.gpt_id = wanted.gpt_id and objects.id = wanted.id
      where ${notExpired('objects').compile(db).sql}`),
  )
}

/** findOne on `db`, joined with the reads made while earlier ones run. */
export function joinedFinds(db: Kysely<Tables>, findOne: (wanted: Wanted) => Promise<ObjectRow[]>, options: CoalesceOptions): (wanted: Wanted) => Promise<ObjectRow | null> {
  const findMany = compileFindMany(db)
  // U+0000 is in no GPT id (GPT_ID_PATTERN): the two parts of a key cannot run into each other.
  const keyOf = (wanted: Wanted) => `${wanted.gpt_id}\u0000${wanted.id}`
  return coalesced(
    async (wanted) => (await findOne(wanted))[0] ?? null,
    async (many) => {
      const rows = new Map((await findMany(db, [JSON.stringify(many)])).map((row) => [keyOf(row), row]))
      return many.map((wanted) => rows.get(keyOf(wanted)) ?? null)
    },
    options,
  )
}
