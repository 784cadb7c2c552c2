import { describe, expect, it } from 'vitest'
import { retryDeadlocks } from './pool-executor.js'

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
