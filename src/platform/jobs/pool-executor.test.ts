import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js'
import { PoolExecutor } from './pool-executor.js'

let test: TestDatabase
beforeAll(async () => {
  test = await createTestDatabase()
})
afterAll(() => test.drop())

describe('PoolExecutor (pg-boss on the service pool)', () => {
  it('reports a failing statement and keeps the database usable for the next ones', async () => {
    const executor = new PoolExecutor(test.database.pool)
    await expect(executor.executeSql('select $1::uuid', ['not-a-uuid'])).rejects.toThrow(/invalid input syntax for type uuid/)
    await expect(executor.executeSql('select 1/0')).rejects.toThrow(/division by zero/)
    expect((await executor.executeSql('select $1::int + 1 as n', [1])).rows).toEqual([{ n: 2 }])
    // The service's own queries go on too (on PGlite they share its one connection).
    expect((await test.database.db.selectFrom('gpts').select('id').limit(1).execute()).length).toBeGreaterThanOrEqual(0)
    await test.database.ping()
    await executor.close()
  })
})
