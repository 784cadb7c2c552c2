import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, type Database } from '../db/database.js'
import { migrateToLatest } from '../db/migrate.js'
import { PgBossJobQueue } from './pg-boss.queue.js'

// The service starts its queue only once it listens: a request in between must wait for the start,
// not fail with "not running".
describe('a job queue while it starts (PGlite)', () => {
  let database: Database
  beforeAll(async () => {
    database = await openDatabase({ kind: 'pglite' })
    await migrateToLatest(database.db)
  }, 120_000)
  afterAll(async () => {
    await database.close()
  })

  it('an enqueue, a job read and the schedule list made during start() wait for it, and the job runs', async () => {
    const queue = new PgBossJobQueue({ database, pollingIntervalSeconds: 0.2 })
    const handled: unknown[] = []
    queue.register<{ word: string }>({ name: 'window.echo', handler: async (data) => void handled.push(data) })
    const starting = queue.start()
    const id = await queue.enqueue('window.echo', { word: 'early' })
    expect(id).toEqual(expect.any(String))
    expect(await queue.schedules()).toEqual([])
    const job = await queue.getJob('window.echo', id!)
    expect(job?.data).toEqual({ word: 'early' })
    await starting
    await expect.poll(() => handled, { timeout: 30_000 }).toEqual([{ word: 'early' }])
    await queue.stop()
  })

  it('a failed start fails the enqueue waiting for it', async () => {
    // Nothing listens on port 1: pg-boss's start cannot connect.
    const pool = new pg.Pool({ host: '127.0.0.1', port: 1, connectionTimeoutMillis: 2000 })
    pool.on('error', () => {})
    const queue = new PgBossJobQueue({ database: { pool } })
    queue.register({ name: 'window.never', handler: async () => {} })
    const starting = queue.start().catch((error: unknown) => error)
    await expect(queue.enqueue('window.never', {})).rejects.toThrow()
    expect(await starting).toBeInstanceOf(Error)
    await pool.end()
  })
})
