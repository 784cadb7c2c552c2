import { describe, expect, it } from 'vitest'
import { RequestMinutes } from './metrics.minutes.js'
import { JobRuns } from './jobs/job-runs.js'
import type { JobContext } from './jobs/jobs.queue.js'

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0)

describe('RequestMinutes', () => {
  it('keeps a sample a minute: requests, 5xx errors, p95 within its bucket', () => {
    let now = T0 + 5_000
    const ring = new RequestMinutes(60, () => now)
    // 100 requests of 1..100 ms: the true p95 is 95 ms.
    for (let ms = 1; ms <= 100; ms++) ring.record(ms === 7 ? 503 : ms === 8 ? 404 : 200, ms)
    now += 60_000
    ring.record(500, 3)
    const samples = ring.samples()
    expect(samples).toHaveLength(60)
    expect(samples.at(-1)).toEqual({ at: new Date(T0 + 60_000).toISOString(), requests: 1, errors: 1, p95_ms: expect.any(Number) })
    const first = samples.at(-2)!
    expect(first).toMatchObject({ at: new Date(T0).toISOString(), requests: 100, errors: 1 })
    // Buckets are 12 % wide: the estimate stays within one of them.
    expect(first.p95_ms).toBeGreaterThan(95 / 1.12)
    expect(first.p95_ms).toBeLessThan(95 * 1.12)
    expect(samples.slice(0, -2).every((sample) => sample.requests === 0 && sample.p95_ms === null)).toBe(true)
  })

  it('forgets a minute once the window has passed it, also when its slot is reused', () => {
    let now = T0
    const ring = new RequestMinutes(3, () => now)
    ring.record(200, 1)
    ring.record(200, 1)
    now += 3 * 60_000
    expect(ring.samples().map((sample) => sample.requests)).toEqual([0, 0, 0])
    ring.record(200, 1)
    expect(ring.samples().map((sample) => sample.requests)).toEqual([0, 0, 1])
  })
})

describe('JobRuns', () => {
  const ctx = { id: '1', name: 'x', retryCount: 0, signal: new AbortController().signal, logger: { info() {}, warn() {}, error() {} } } as JobContext

  it('counts completed and failed runs, passing the output and the error through', async () => {
    const runs = new JobRuns(() => T0)
    let fail = false
    const job = runs.counted({ name: 'demo.job', handler: async () => { if (fail) throw new Error('boom'); return { done: 1 } } })
    runs.counted({ name: 'idle.job', handler: async () => undefined })
    await expect(job.handler({}, ctx)).resolves.toEqual({ done: 1 })
    fail = true
    await expect(job.handler({}, ctx)).rejects.toThrow('boom')
    expect(runs.summary()).toEqual([
      { name: 'demo.job', runs: 2, failures: 1, last_run_at: new Date(T0).toISOString(), last_outcome: 'failed' },
      { name: 'idle.job', runs: 0, failures: 0, last_run_at: null, last_outcome: null },
    ])
  })
})
