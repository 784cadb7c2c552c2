import { sql, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tables } from '../src/platform/db/tables.js'
import { limitInText, MAX_PREPARED_STATEMENTS, prepared, preparedName } from '../src/platform/db/prepared.js'
import { openDatabase, type Database } from '../src/platform/db/database.js'
import { createTestDatabase, onPostgres, type TestDatabase } from './helpers/test-database.js'

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

  it('refuses to mark a query that selects or returns *', () => {
    expect(() => prepared(db.selectFrom('gpts').selectAll().where('id', '=', 'x').compile())).toThrow(/names its columns, not \*/)
    expect(() => prepared(db.selectFrom('gpts as g').selectAll('g').where('g.id', '=', 'x').compile())).toThrow(/names its columns/)
    expect(() => prepared(db.updateTable('gpts').set({ name: 'n' }).where('id', '=', 'x').returningAll().compile())).toThrow(/names its columns/)
    expect(() => prepared(db.selectFrom('gpts').select((eb) => eb.fn.countAll<string>().as('n')).where('id', '=', 'x').compile())).not.toThrow()
  })

  it('keeps answering a marked read after a column is added to its table (a rolling upgrade migrating under it)', async () => {
    // One connection, so that the second run reuses the statement the first one prepared.
    const one: Database = onPostgres() ? await openDatabase({ kind: 'postgres', url: test.url!, poolSize: 1 }) : test.database
    try {
      await sql`create table prepared_probe (a int, b text)`.execute(one.db)
      await sql`insert into prepared_probe values (1, 'one')`.execute(one.db)
      const query = prepared(sql<{ a: number; b: string }>`select a, b from prepared_probe where a = ${1}`.compile(one.db))
      expect((await one.db.executeQuery(query)).rows).toEqual([{ a: 1, b: 'one' }])
      // What a prepared `*` would do, which is why prepared() refuses it (on a client released without
      // an error: pool.query would end PGlite's one connection on the error).
      const star = async () => {
        const client = await one.pool.connect()
        try {
          return await client.query({ name: 'probe_star', text: 'select * from prepared_probe where a = $1', values: [1] })
        } finally {
          client.release()
        }
      }
      await star()
      await sql`alter table prepared_probe add column c int`.execute(one.db)
      expect((await one.db.executeQuery(query)).rows).toEqual([{ a: 1, b: 'one' }])
      await expect(star()).rejects.toThrow(/cached plan must not change result type/)
      expect((await one.db.executeQuery(query)).rows).toEqual([{ a: 1, b: 'one' }])
    } finally {
      await sql`drop table if exists prepared_probe`.execute(one.db)
      if (one !== test.database) await one.close()
    }
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

  it('writes a page size into the statement text, and refuses anything but a row count', async () => {
    const query = db.selectFrom('gpts').select('id').limit(limitInText(51)).compile()
    expect(query.sql).toMatch(/limit 51$/)
    expect(query.parameters).toEqual([])
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => limitInText(bad)).toThrow(/a row count/)
  })
})
