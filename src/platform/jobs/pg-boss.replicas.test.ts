import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { openDatabase } from '../db/database.js'
import type { JobDefinition } from './jobs.queue.js'
import { PgBossJobQueue } from './pg-boss.queue.js'

/**
 * Replicas start together (a rollout, a scale-up) on a database where their queues do not exist
 * yet: the first start, or a release that adds a job. pg-boss creates each queue's partition without
 * a lock, so two processes doing it at once deadlock; the queue must start on both all the same.
 */

const serverUrl = process.env.TEST_DATABASE_URL
const STARTS = 2
const QUEUES = 12

async function admin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

const definitions = (): JobDefinition[] =>
  Array.from({ length: QUEUES }, (_, index) => ({
    name: `replica-job-${index}`,
    schedule: `${index} 3 * * *`,
    policy: index % 2 === 0 ? ('short' as const) : ('standard' as const),
    async handler() {
      return { index }
    },
  }))

describe.skipIf(!serverUrl)('pg-boss queues started by two processes at once', () => {
  it.each(Array.from({ length: STARTS }, (_, start) => start + 1))('start %i: both start, with every queue and schedule once', async () => {
    const name = `jobs_replicas_${randomBytes(6).toString('hex')}`
    await admin(`CREATE DATABASE ${name}`)
    const url = new URL(serverUrl!)
    url.pathname = `/${name}`
    const databases = await Promise.all([0, 1].map(() => openDatabase({ kind: 'postgres', url: url.toString(), poolSize: 4 })))
    const queues = databases.map((database) => new PgBossJobQueue({ database, stopTimeoutMs: 1000 }))
    try {
      for (const queue of queues) for (const definition of definitions()) queue.register(definition)
      await Promise.all(queues.map((queue) => queue.start()))
      for (const queue of queues) {
        const schedules = await queue.schedules()
        expect(schedules.map((schedule) => schedule.name).sort()).toEqual(definitions().map((definition) => definition.name).sort())
      }
      // Both take work: a job enqueued on one is stored once, in the queue the other created.
      const ids = await Promise.all(queues.map((queue, index) => queue.enqueue('replica-job-1', { from: index })))
      expect(ids.every((id) => typeof id === 'string')).toBe(true)
    } finally {
      await Promise.all(queues.map((queue) => queue.stop()))
      await Promise.all(databases.map((database) => database.close()))
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    }
  }, 60_000)
})
