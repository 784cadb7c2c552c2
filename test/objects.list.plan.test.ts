import { sql, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ObjectsRepository } from '../src/modules/objects/objects.repo.js'
import type { Tables } from '../src/platform/db/tables.js'
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js'

let test: TestDatabase

beforeAll(async () => {
  test = await createTestDatabase()
  const db = test.database.db
  await sql`insert into gpts (id, name) values ('plan', 'Plan')`.execute(db)
  await sql`insert into collections (gpt_id, name) values ('plan', 'big'), ('plan', 'small')`.execute(db)
  // A collection large enough that reading a tenth of it costs far more than a page.
  await sql`insert into objects (gpt_id, id, collection, body, created_at)
    select 'plan', gen_random_uuid(), case when n % 10 = 0 then 'small' else 'big' end, jsonb_build_object('n', n),
      now() - make_interval(secs => n)
    from generate_series(1, 5000) as n`.execute(db)
  await new ObjectsRepository(db).analyzeObjects()
})
afterAll(() => test.drop())

/** How often PostgreSQL planned the list's prepared statement in this connection, generic and custom. */
async function listPlans(trx: Kysely<Tables>): Promise<{ generic: number; custom: number }> {
  const { rows } = await sql<{ generic: number; custom: number }>`
    select generic_plans::int as generic, custom_plans::int as custom from pg_prepared_statements
    where statement like 'select "gpt_id", "id", "collection", "body"%' and statement like '%order by%'`.execute(trx)
  expect(rows).toHaveLength(1)
  return rows[0]!
}

describe('a page of documents', () => {
  it('runs on one generic plan of its prepared statement, whatever the collection and page size, instead of being planned again for each page', async () => {
    await test.database.db.transaction().execute(async (trx) => {
      const repo = new ObjectsRepository(trx)
      const filters = { where: null, q: null, createdAfter: null, createdBefore: null }
      const pages: number[] = []
      for (let run = 0; run < 12; run++) {
        const rows = await repo.listObjects('plan', run % 2 ? 'big' : 'small', filters, { by: 'created_at', order: 'desc', limit: 50, after: null })
        pages.push(rows.length)
      }
      expect(pages).toEqual(Array(12).fill(51))
      const plans = await listPlans(trx)
      // PostgreSQL tries custom plans for the first five runs, then keeps the generic one when it costs no more.
      expect(plans.custom).toBeLessThanOrEqual(5)
      expect(plans.generic).toBeGreaterThanOrEqual(7)
    })
  })
})
