import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, type Database } from '../db/database.js'
import { migrateToLatest } from '../db/migrate.js'
import type { JobInfo, JobLogger, JobQueue, JobState } from './jobs.queue.js'
import { PgBossJobQueue, type PgBossJobQueueOptions } from './pg-boss.queue.js'

interface Backend {
  name: string
  open(): Promise<{ database: Database; drop(): Promise<void> }>
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

const backends: Backend[] = [
  {
    name: 'pglite',
    async open() {
      const database = await openDatabase({ kind: 'pglite' })
      await migrateToLatest(database.db)
      return { database, drop: () => database.close() }
    },
  },
]
const serverUrl = process.env.TEST_DATABASE_URL
if (serverUrl) {
  backends.push({
    name: 'postgres',
    async open() {
      const name = `jobs_test_${randomBytes(6).toString('hex')}`
      await adminQuery(serverUrl, `CREATE DATABASE ${name}`)
      const url = new URL(serverUrl)
      url.pathname = `/${name}`
      const database = await openDatabase({ kind: 'postgres', url: url.toString(), poolSize: 4 })
      await migrateToLatest(database.db)
      return {
        database,
        async drop() {
          await database.close()
          await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
        },
      }
    },
  })
}

const FAST: Omit<PgBossJobQueueOptions, 'database'> = {
  pollingIntervalSeconds: 0.2,
  cronMonitorIntervalSeconds: 1,
  cronWorkerIntervalSeconds: 1,
  stopTimeoutMs: 5000,
}

function capturingLogger(lines: Array<{ msg: string | undefined; obj: object }>): JobLogger {
  const push = (obj: object, msg?: string) => lines.push({ obj, msg })
  return { info: push, warn: push, error: push }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {}
  const promise = new Promise<void>((done) => (resolve = done))
  return { promise, resolve }
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; last value ${JSON.stringify(value)}`)
    await sleep(50)
  }
}

function settled(queue: JobQueue, name: string, id: string | null, state: JobState): Promise<JobInfo | null> {
  if (!id) throw new Error('no job id')
  return until(() => queue.getJob(name, id), (job) => job?.state === state)
}

describe.each(backends)('background jobs on $name', (backend) => {
  let database: Database
  let drop: () => Promise<void> = async () => {}
  let queue: PgBossJobQueue
  const logs: Array<{ msg: string | undefined; obj: object }> = []
  const echoed: Array<{ data: object; retryCount: number }> = []
  const flakyRetryCounts: number[] = []
  const cronRuns: object[] = []
  let uniqueRuns = 0
  const slowStarted = deferred()
  let slowFinished = false

  beforeAll(async () => {
    ;({ database, drop } = await backend.open())
    queue = new PgBossJobQueue({ database, logger: capturingLogger(logs), ...FAST })
    queue.register<{ word: string; n: number }>({
      name: 'test.echo',
      async handler(data, ctx) {
        echoed.push({ data, retryCount: ctx.retryCount })
        return { echoed: data.word }
      },
    })
    queue.register({
      name: 'test.flaky',
      retryLimit: 2,
      retryDelaySeconds: 0,
      retryBackoff: false,
      async handler(_data, ctx) {
        flakyRetryCounts.push(ctx.retryCount)
        throw new Error(`boom ${flakyRetryCounts.length}`)
      },
    })
    queue.register({ name: 'test.cron', schedule: '* * * * *', scheduleData: { source: 'cron' }, handler: async (data) => void cronRuns.push(data) })
    queue.register({ name: 'test.unique', policy: 'short', handler: async () => void uniqueRuns++ })
    queue.register({
      name: 'test.slow',
      async handler() {
        slowStarted.resolve()
        await sleep(800)
        slowFinished = true
        return { slept: 800 }
      },
    })
    await queue.start()
  }, 30_000)

  afterAll(async () => {
    await queue?.stop()
    await drop()
  })

  it('handles an enqueued job with its data and stores its output', async () => {
    const id = await queue.enqueue('test.echo', { word: 'hello', n: 42 })
    const job = await settled(queue, 'test.echo', id, 'completed')
    expect(echoed).toEqual([{ data: { word: 'hello', n: 42 }, retryCount: 0 }])
    expect(job).toMatchObject({ id, name: 'test.echo', state: 'completed', data: { word: 'hello', n: 42 }, retryCount: 0, output: { echoed: 'hello' } })
    expect(job!.completedOn!.getTime()).toBeGreaterThanOrEqual(job!.startedOn!.getTime())
    // pg-boss maintenance is multi-statement SQL in one transaction: it must run on this backend too.
    await queue.maintain()
    expect((await queue.getJob('test.echo', id!))?.state).toBe('completed')
  })

  it('retries a failing handler up to its limit, then marks the job failed', async () => {
    const id = await queue.enqueue('test.flaky', { attempt: 'all' })
    const job = await settled(queue, 'test.flaky', id, 'failed')
    expect(flakyRetryCounts).toEqual([0, 1, 2])
    expect(job).toMatchObject({ state: 'failed', retryCount: 2, retryLimit: 2, output: { name: 'Error', message: 'boom 3' } })
    expect(logs.filter((line) => line.msg === 'job failed')).toHaveLength(3)
  })

  it('refuses unknown names and data that is not a JSON object', async () => {
    await expect(queue.enqueue('test.unknown', {})).rejects.toThrow('no job is registered as test.unknown')
    await expect(queue.enqueue('test.echo', [1, 2])).rejects.toThrow('data must be a JSON object')
    expect(() => queue.register({ name: 'test.late', handler: async () => null })).toThrow('before starting')
  })

  it('delays a job and keeps one waiting job per singleton key under the short policy', async () => {
    const first = await queue.enqueue('test.unique', {}, { startAfterMs: 60_000, singletonKey: 'k' })
    const duplicate = await queue.enqueue('test.unique', {}, { startAfterMs: 60_000, singletonKey: 'k' })
    const other = await queue.enqueue('test.unique', {}, { startAfterMs: 60_000, singletonKey: 'other' })
    expect(first).toMatch(/^[0-9a-f-]{36}$/)
    expect(duplicate).toBeNull()
    expect(other).toMatch(/^[0-9a-f-]{36}$/)
    const job = await queue.getJob('test.unique', first!)
    expect(job?.state).toBe('created')
    const delayMs = job!.startAfter.getTime() - job!.createdOn.getTime()
    expect(delayMs).toBeGreaterThanOrEqual(59_000)
    expect(delayMs).toBeLessThanOrEqual(61_000)
    await sleep(400)
    expect(uniqueRuns).toBe(0)
  })

  it('registers schedules in UTC and runs a due one with its data', async () => {
    const schedules = await queue.schedules()
    const byName = Object.fromEntries(schedules.map((schedule) => [schedule.name, schedule]))
    expect(byName['test.cron']).toEqual({ name: 'test.cron', cron: '* * * * *', timezone: 'UTC' })
    expect(byName['test.echo']).toBeUndefined()
    await until(async () => cronRuns.length, (runs) => runs >= 1, 10_000)
    expect(cronRuns[0]).toEqual({ source: 'cron' })
  }, 15_000)

  it('stop() aborts a handler that outlives the grace period and leaves its job to be retried', async () => {
    const started = deferred()
    let abortReason: unknown = null
    const second = new PgBossJobQueue({ database, ...FAST, stopTimeoutMs: 300 })
    second.register({
      name: 'test.hang',
      retryLimit: 1,
      async handler(_data, ctx) {
        started.resolve()
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))
        abortReason = ctx.signal.reason
      },
    })
    await second.start()
    const id = await second.enqueue('test.hang', {})
    await started.promise
    const t0 = Date.now()
    await second.stop()
    expect(Date.now() - t0).toBeLessThan(3000)
    expect(abortReason).toBeInstanceOf(Error)
    expect((abortReason as Error).message).toBe('the job queue stopped while the job was running')
    const { rows } = await database.pool.query<{ state: string }>('SELECT state FROM pgboss.job WHERE id = $1', [id])
    expect(rows).toEqual([{ state: 'retry' }])
  })

  it('stop() waits for a running handler to finish and records its result', async () => {
    const id = await queue.enqueue('test.slow', {})
    await slowStarted.promise
    expect(slowFinished).toBe(false)
    await queue.stop()
    expect(slowFinished).toBe(true)
    const { rows } = await database.pool.query<{ state: string; output: unknown }>('SELECT state, output FROM pgboss.job WHERE id = $1', [id])
    expect(rows).toEqual([{ state: 'completed', output: { slept: 800 } }])
    await expect(queue.enqueue('test.echo', { word: 'late', n: 0 })).rejects.toThrow('not running')
  })

  it('a restart leaves queues and schedules declared as before untouched, and applies changed ones', async () => {
    const startWith = async (retryLimit: number, schedule: string | undefined, data: object = {}) => {
      const other = new PgBossJobQueue({ database, ...FAST })
      other.register({ name: 'declared.a', retryLimit, handler: async () => {} })
      other.register({ name: 'declared.b', ...(schedule ? { schedule, scheduleData: data } : {}), handler: async () => {} })
      await other.start()
      await other.stop()
    }
    const stored = async () => ({
      queues: (await database.pool.query(`SELECT name, retry_limit, updated_on FROM pgboss.queue WHERE name LIKE 'declared.%' ORDER BY name`)).rows,
      schedules: (await database.pool.query(`SELECT name, cron, data, updated_on FROM pgboss.schedule WHERE name LIKE 'declared.%'`)).rows,
    })
    await startWith(1, '5 * * * *', { b: 1, a: [2] })
    const first = await stored()
    expect(first.schedules).toMatchObject([{ name: 'declared.b', cron: '5 * * * *', data: { a: [2], b: 1 } }])
    await startWith(1, '5 * * * *', { b: 1, a: [2] })
    expect(await stored()).toEqual(first)
    await startWith(3, '7 * * * *', { b: 1, a: [2] })
    const changed = await stored()
    expect(changed.queues).toMatchObject([{ name: 'declared.a', retry_limit: 3 }, { name: 'declared.b', retry_limit: 2 }])
    expect(changed.schedules).toMatchObject([{ name: 'declared.b', cron: '7 * * * *' }])
    await startWith(3, undefined)
    expect((await stored()).schedules).toEqual([])
  })
})

