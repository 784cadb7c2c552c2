import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ObjectsRepository, type UnderRules } from '../src/modules/objects/objects.repo.js'
import { uuidv7 } from '../src/platform/uuidv7-pool.js'
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js'

// Inserts and reads of one document made while another is running go to PostgreSQL as one statement
// (insertObjectSoon, findObject). These cases hold each caller to its own row, under its own GPT and
// rules, and to its own failure.

let test: TestDatabase
/** One joined insert at a time: every insert made while the first runs joins the second statement. */
let repo: ObjectsRepository

const GPT = 'joined'
const OTHER = 'joined-other'
const SCHEMA = { type: 'object', required: ['title'] }

beforeAll(async () => {
  test = await createTestDatabase()
  const db = test.database.db
  repo = new ObjectsRepository(db, { maxInFlight: 1, maxBatch: 32 })
  await sql`insert into gpts (id, name) values (${GPT}, 'Joined'), (${OTHER}, 'Other')`.execute(db)
  await sql`insert into collections (gpt_id, name) values (${GPT}, 'plain'), (${OTHER}, 'plain')`.execute(db)
  await sql`insert into collections (gpt_id, name, per_user, schema) values (${GPT}, 'mine', true, ${JSON.stringify(SCHEMA)}::jsonb)`.execute(db)
  await sql`insert into collections (gpt_id, name, ttl_seconds) values (${GPT}, 'brief', 60)`.execute(db)
})

afterAll(() => test.drop())

const plain = (gptId: string, body: UnderRules['row']['body']): UnderRules => ({
  row: { gpt_id: gptId, id: uuidv7(), collection: 'plain', body, user_id: null },
  rules: { schemaText: null, perUser: false },
})
const mine = (user: string, body: UnderRules['row']['body'], schemaText = JSON.stringify(SCHEMA)): UnderRules => ({
  row: { gpt_id: GPT, id: uuidv7(), collection: 'mine', body, user_id: user },
  rules: { schemaText, perUser: true },
})

/** The first insert runs alone; the others, made while it runs, join one statement. */
function together(inserts: UnderRules[]) {
  return Promise.allSettled(inserts.map((insert) => repo.insertObjectSoon(insert)))
}

describe('inserts joined into one statement', () => {
  it("answer each caller with its own document, stored under its own GPT, collection and owner", async () => {
    const inserts = [
      plain(GPT, { n: 0 }),
      ...Array.from({ length: 12 }, (_, n) => plain(n % 2 ? OTHER : GPT, { n: n + 1, text: `"quoted" \\ ${n} 😀`, nested: { deep: [1.5, null, true] } })),
      mine('user "a"', { title: 'one of a' }),
      mine('user b', { title: 'one of b' }),
    ]
    const outcomes = await together(inserts)
    const rows = outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : outcome.reason))
    rows.forEach((row, index) => {
      const { gpt_id, id, collection, body, user_id } = inserts[index]!.row
      expect(row).toMatchObject({ gpt_id, id, collection, body, user_id, version: 1 })
    })
    const stored = await sql<{ id: string; gpt_id: string; user_id: string | null; body: unknown; xmin: string }>`
      select id, gpt_id, user_id, body, xmin::text from objects where gpt_id in (${GPT}, ${OTHER})`.execute(test.database.db)
    const storedOf = (insert: UnderRules) => stored.rows.find((row) => row.id === insert.row.id)!
    for (const insert of inserts) {
      const { id, gpt_id, user_id, body } = insert.row
      expect(storedOf(insert)).toMatchObject({ id, gpt_id, user_id, body })
    }
    // One transaction wrote all but the first.
    expect(new Set(inserts.map((insert) => storedOf(insert).xmin)).size).toBe(2)
  })

  it('answer null to a document whose collection no longer has its rules, and store the others', async () => {
    const sharedInMine = plain(GPT, { checked: 'as if mine were not per user' })
    sharedInMine.row.collection = 'mine'
    const nowhere = plain(GPT, { checked: 'for a collection that is gone' })
    nowhere.row.collection = 'no such collection'
    const inserts = [
      plain(GPT, { first: true }),
      mine('user a', { title: 'checked against the schema as it is' }),
      mine('user a', { title: 'checked against an older schema' }, JSON.stringify({ type: 'object' })),
      sharedInMine,
      nowhere,
      plain(GPT, { last: true }),
    ]
    const outcomes = await together(inserts)
    const values = outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value?.id ?? null : 'failed'))
    expect(values).toEqual([inserts[0]!.row.id, inserts[1]!.row.id, null, null, null, inserts[5]!.row.id])
  })

  it("fail only the caller whose document PostgreSQL refuses, when the joined statement fails", async () => {
    const refused = plain(GPT, { id: 'not a uuid' })
    refused.row.id = 'not-a-uuid'
    const duplicate = plain(GPT, { n: 'a second row with the first one id' })
    const inserts = [plain(GPT, { first: true }), plain(GPT, { before: true }), refused, duplicate, plain(GPT, { after: true })]
    duplicate.row.id = inserts[0]!.row.id
    const outcomes = await together(inserts)
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled'])
    const stored = await sql<{ n: number }>`select count(*)::int as n from objects where id in (${inserts[1]!.row.id}, ${inserts[4]!.row.id})`.execute(test.database.db)
    expect(stored.rows[0]!.n).toBe(2)
  })

  it('insert a large document alone, beside joined small ones', async () => {
    const large = plain(GPT, { text: 'x'.repeat(20_000) })
    const inserts = [plain(GPT, { first: true }), plain(GPT, { small: 1 }), large, plain(GPT, { small: 2 })]
    const rows = (await together(inserts)).map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : null))
    expect(rows.map((row) => row?.id)).toEqual(inserts.map((insert) => insert.row.id))
    expect(rows[2]!.body).toEqual(large.row.body)
    const writers = await sql<{ id: string; xmin: string }>`select id, xmin::text from objects where id in (${inserts[1]!.row.id}, ${inserts[3]!.row.id})`.execute(test.database.db)
    expect(new Set(writers.rows.map((row) => row.xmin)).size).toBe(1)
  })
})

describe('reads joined into one statement', () => {
  let ids: { mine: string; other: string; expired: string; live: string }

  beforeAll(async () => {
    const db = test.database.db
    const insert = async (gptId: string, collection: string, body: object, age = '0 seconds') =>
      (await sql<{ id: string }>`insert into objects (gpt_id, id, collection, body, updated_at)
        values (${gptId}, gen_random_uuid(), ${collection}, ${JSON.stringify(body)}::jsonb, now() - ${age}::interval) returning id`.execute(db)).rows[0]!.id
    ids = {
      mine: await insert(GPT, 'plain', { read: 'mine' }),
      other: await insert(OTHER, 'plain', { read: 'theirs' }),
      expired: await insert(GPT, 'brief', { read: 'expired' }, '2 minutes'),
      live: await insert(GPT, 'brief', { read: 'live' }, '10 seconds'),
    }
  })

  it("answer each caller with its own GPT's live document, or null", async () => {
    const asked: [string, string, unknown][] = [
      [GPT, ids.live, { read: 'live' }],
      [GPT, ids.mine, { read: 'mine' }],
      [OTHER, ids.other, { read: 'theirs' }],
      [GPT, ids.other, null],
      [OTHER, ids.mine, null],
      [GPT, ids.expired, null],
      [GPT, ids.live, { read: 'live' }],
      [GPT, uuidv7(), null],
      [GPT, ids.mine, { read: 'mine' }],
    ]
    const rows = await Promise.all(asked.map(([gptId, id]) => repo.findObject(gptId, id)))
    expect(rows.map((row) => row?.body ?? null)).toEqual(asked.map(([, , body]) => body))
    rows.forEach((row, index) => row && expect(row).toMatchObject({ gpt_id: asked[index]![0], id: asked[index]![1] }))
  })

  it("fail only the caller whose read PostgreSQL refuses", async () => {
    const outcomes = await Promise.allSettled([ids.mine, ids.mine, 'not-a-uuid', ids.live].map((id) => repo.findObject(GPT, id)))
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value?.body : null))).toEqual([{ read: 'mine' }, { read: 'mine' }, null, { read: 'live' }])
  })
})
