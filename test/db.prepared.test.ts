import { sql, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tables } from '../src/platform/db/tables.js'
import { MAX_PREPARED_STATEMENTS, prepared, preparedName } from '../src/platform/db/prepared.js'
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js'

let test: TestDatabase
let db: Kysely<Tables>

beforeAll(async () => {
  test = await createTestDatabase()
  db = test.database.db
})
afterAll(() => test.drop())

/** The statements prepared in this transaction's connection. */
async function preparedStatements(trx: Kysely<Tables>): Promise<string[]> {
  const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(trx)
  return rows.map((row) => row.statement)
}

describe('prepared statements', () => {
  it('runs a marked query as a named statement of its connection, and answers it as before', async () => {
    const query = prepared(db.selectFrom('gpts').select('id').where('id', '=', 'prepared-a').compile())
    await db.transaction().execute(async (trx) => {
      const before = await preparedStatements(trx)
      expect(before).not.toContain(query.sql)
      const first = await trx.executeQuery({ ...query, parameters: ['prepared-a'] })
      const again = await trx.executeQuery({ ...query, parameters: ['prepared-b'] })
      expect(first.rows).toEqual([])
      expect(again.rows).toEqual([])
      expect((await preparedStatements(trx)).filter((text) => text === query.sql)).toHaveLength(1)
    })
  })

  it('leaves an unmarked query unnamed', async () => {
    const query = db.selectFrom('gpts').select(['id', 'name']).where('name', '=', 'unmarked').compile()
    await db.transaction().execute(async (trx) => {
      await trx.executeQuery(query)
      expect(await preparedStatements(trx)).not.toContain(query.sql)
    })
    expect(preparedName(query.sql)).toBeUndefined()
  })

  it('reports a failing marked statement as an error and runs it again afterwards', async () => {
    const query = prepared(sql<{ n: number }>`select 1 / ${1}::int as n`.compile(db))
    await expect(db.executeQuery({ ...query, parameters: [0] })).rejects.toThrow(/division by zero/)
    expect((await db.executeQuery({ ...query, parameters: [1] })).rows).toEqual([{ n: 1 }])
  })

  it('gives one name to one text, marked from anywhere', () => {
    const text = db.selectFrom('gpts').select('description').where('id', '=', 'x').compile()
    const other = db.selectFrom('gpts').select('description').where('id', '=', 'y').compile()
    prepared(text)
    prepared(other)
    expect(preparedName(text.sql)).toBe(preparedName(other.sql))
    expect(preparedName(text.sql)).toMatch(/^as_[0-9a-f]{24}$/)
  })

  it('marks at most MAX_PREPARED_STATEMENTS texts, so that varying texts cannot fill the backends', () => {
    for (let n = 0; n < MAX_PREPARED_STATEMENTS + 10; n++) prepared(sql`select ${n}::int + ${sql.lit(n)}`.compile(db))
    const last = sql`select ${1}::int + ${sql.lit(MAX_PREPARED_STATEMENTS + 9)}`.compile(db)
    expect(preparedName(last.sql)).toBeUndefined()
  })
})
