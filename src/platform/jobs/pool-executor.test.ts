import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js'
import { PoolExecutor, retryDeadlocks } from './pool-executor.js'

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
    await expect(test.database.db.selectFrom('gpts').select('id').limit(1).execute()).resolves.toBeInstanceOf(Array)
    await test.database.ping()
    await executor.close()
  })
})

const failure = (code: string) => Object.assign(new Error(`failed with ${code}`), { code })

describe('retryDeadlocks', () => {
  it.each([
    { name: 'succeeds at once', failures: [], attempts: 5, calls: 1, error: null },
    { name: 'a deadlock victim, then a success', failures: ['40P01'], attempts: 5, calls: 2, error: null },
    { name: 'deadlocks up to the last attempt, then a success', failures: ['40P01', '40P01'], attempts: 3, calls: 3, error: null },
    { name: 'deadlocks on every attempt', failures: ['40P01', '40P01', '40P01'], attempts: 3, calls: 3, error: '40P01' },
    { name: 'another error (a unique violation)', failures: ['23505'], attempts: 5, calls: 1, error: '23505' },
    { name: 'another error after a deadlock', failures: ['40P01', '42P01'], attempts: 5, calls: 2, error: '42P01' },
  ])('$name', async ({ failures, attempts, calls, error }) => {
    let made = 0
    const declare = async () => {
      const code = failures[made++]
      if (code !== undefined) throw failure(code)
    }
    const outcome = retryDeadlocks(declare, attempts)
    if (error === null) await expect(outcome).resolves.toBeUndefined()
    else await expect(outcome).rejects.toMatchObject({ code: error })
    expect(made).toBe(calls)
  })
})
