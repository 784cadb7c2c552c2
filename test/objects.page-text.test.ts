import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ObjectFilters, ObjectSeek } from '../src/modules/objects/objects.page.js'
import { ObjectsRepository } from '../src/modules/objects/objects.repo.js'
import { toObjectView } from '../src/modules/objects/objects.view.js'
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js'

// The document list's answer is written by PostgreSQL (listObjectsText); every other answer is
// toObjectView serialized. These cases hold them to the same documents, member for member.

let test: TestDatabase
let repo: ObjectsRepository

/** Names that need escaping in JSON, as the repository takes them (the API's rules are checked before it). */
const GPT = 'g"\\1'
const COLLECTION = 'c\n2'

const bodies = [
  { title: 'A "quoted" note', tags: ['x', 'y'], n: 1.5 },
  { text: 'tab\there, newline\nthere, back\\slash, nul-ish \u0001 and \u001f', emoji: '😀 日本語', nested: { deep: [{ a: null }, true, false] } },
  { big: 12345678901234567890, tiny: 1e-7, negative: -0.5, zero: 0, exp: 1e21 },
  { word: 'lorem ipsum dolor' },
  {},
]

beforeAll(async () => {
  test = await createTestDatabase()
  const db = test.database.db
  repo = new ObjectsRepository(db)
  await sql`insert into gpts (id, name) values (${GPT}, 'Text page')`.execute(db)
  await sql`insert into collections (gpt_id, name) values (${GPT}, ${COLLECTION})`.execute(db)
  // Times with microseconds (stored to the millisecond), one far in the past, two alike.
  const times = ['2026-12-05 10:00:00.999999+00', '2026-12-05 10:00:00.0019+00', '0999-01-01 00:00:00+00', '2026-12-05 23:59:59.9996+05:30', '2026-12-05 10:00:00.0019+00']
  for (const [n, body] of bodies.entries()) {
    await sql`insert into objects (gpt_id, id, collection, body, user_id, created_at, updated_at)
      values (${GPT}, gen_random_uuid(), ${COLLECTION}, ${JSON.stringify(body)}::jsonb, ${n % 2 ? `user "${n}"\t` : null},
        ${times[n]}::timestamptz, ${times[(n + 1) % times.length]}::timestamptz)`.execute(db)
  }
})

afterAll(() => test.drop())

const none: ObjectFilters = { where: null, q: null, createdAfter: null, createdBefore: null }

const cases: [string, ObjectFilters, ObjectSeek][] = [
  ['newest first', none, { by: 'created_at', order: 'desc', limit: 50, after: null }],
  ['oldest first, a page of two', none, { by: 'created_at', order: 'asc', limit: 2, after: null }],
  ['by last change', none, { by: 'updated_at', order: 'desc', limit: 3, after: null }],
  ['after a cursor', none, { by: 'created_at', order: 'desc', limit: 2, after: [new Date('2026-12-05T10:00:00.500Z'), '00000000-0000-0000-0000-000000000000'] }],
  ["one end user's", { ...none, userId: 'user "1"\t' }, { by: 'created_at', order: 'desc', limit: 50, after: null }],
  ['filtered by a member', { ...none, where: { word: 'lorem ipsum dolor' } }, { by: 'created_at', order: 'desc', limit: 50, after: null }],
  ['ranked by a search', { ...none, q: 'lorem' }, { by: 'rank', limit: 1, after: null }],
  ['empty', { ...none, where: { absent: true } }, { by: 'created_at', order: 'desc', limit: 50, after: null }],
]

describe("a page written by PostgreSQL (the list's answer)", () => {
  it.each(cases)('holds the same documents as the page read as rows, in the same order (%s)', async (_, filters, seek) => {
    const rows = await repo.listObjects(GPT, COLLECTION, filters, seek)
    const page = await repo.listObjectsText(GPT, COLLECTION, filters, seek)
    const views = rows.slice(0, seek.limit).map(toObjectView)
    const written = JSON.parse(`[${page.items}]`) as object[]
    expect(written).toEqual(JSON.parse(JSON.stringify(views)))
    // Member for member: the same names in the same order as every other answer gives.
    expect(written.map((document) => Object.keys(document))).toEqual(views.map((view) => Object.keys(view)))
    expect(page.found).toBe(rows.length)
    const last = rows.length >= seek.limit ? rows[seek.limit - 1]! : null
    expect(page.last).toEqual(last && { id: last.id, created_at: last.created_at, updated_at: last.updated_at, rank: last.rank })
  })

  it('writes times as toISOString does: UTC, with the milliseconds stored', async () => {
    const page = await repo.listObjectsText(GPT, COLLECTION, none, { by: 'created_at', order: 'asc', limit: 50, after: null })
    const times = (JSON.parse(`[${page.items}]`) as { created_at: string }[]).map((document) => document.created_at)
    expect(times).toEqual(['0999-01-01T00:00:00.000Z', '2026-12-05T10:00:00.002Z', '2026-12-05T10:00:00.002Z', '2026-12-05T10:00:01.000Z', '2026-12-05T18:30:00.000Z'])
  })
})
