import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PURGE_CONSOLE_SESSIONS_JOB } from '../src/modules/console/console.purge-sessions.job.js'
import { PURGE_EXPIRED_KEYS_JOB } from '../src/modules/keys/keys.purge-expired.job.js'
import { registerJobs, type JobInfo, type JobLogger } from '../src/platform/jobs/jobs.queue.js'
import { PgBossJobQueue } from '../src/platform/jobs/pg-boss.queue.js'
import { createTestApp, type TestApp, serviceJobs } from './helpers/test-app.js'
import { onPostgres } from './helpers/test-database.js'

/** The service's own background jobs (src/jobs.ts) on a real pg-boss queue. */

const FAST = { pollingIntervalSeconds: 0.2, cronMonitorIntervalSeconds: 1, cronWorkerIntervalSeconds: 1, stopTimeoutMs: 5000 }

let t: TestApp
let queue: PgBossJobQueue
const logs: Array<{ msg: string | undefined; obj: object }> = []

function capturingLogger(): JobLogger {
  const push = (obj: object, msg?: string) => void logs.push({ obj, msg })
  return { info: push, warn: push, error: push }
}

async function completed(name: string, id: string | null, timeoutMs = 10_000): Promise<JobInfo> {
  if (!id) throw new Error('no job id')
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const job = await queue.getJob(name, id)
    if (job?.state === 'completed') return job
    if (Date.now() > deadline) throw new Error(`job ${name} ${id} not completed in ${timeoutMs} ms: ${JSON.stringify(job)}`)
    await sleep(50)
  }
}

const daysAgo = (days: number) => sql<Date>`now() - make_interval(days => ${days})`

beforeAll(async () => {
  t = await createTestApp()
  queue = new PgBossJobQueue({ database: t.db.database, logger: capturingLogger(), ...FAST })
  registerJobs(
    queue,
    serviceJobs(t, capturingLogger()),
  )
  await queue.start()
}, 60_000)

afterAll(async () => {
  await queue?.stop()
  await t?.close()
})

describe('the service jobs', () => {
  it('schedules the periodic ones in UTC', async () => {
    const schedules = (await queue.schedules()).sort((a, b) => a.name.localeCompare(b.name))
    expect(schedules).toEqual([
      { name: 'accounts.purge-deleted', cron: '47 3 * * *', timezone: 'UTC' },
      { name: 'audit.purge', cron: '7 4 * * *', timezone: 'UTC' },
      { name: 'backups.create', cron: '30 2 * * *', timezone: 'UTC' },
      { name: 'chat.purge-old-sessions', cron: '37 4 * * *', timezone: 'UTC' },
      { name: 'chat.recover-interrupted', cron: '* * * * *', timezone: 'UTC' },
      { name: PURGE_CONSOLE_SESSIONS_JOB, cron: '41 * * * *', timezone: 'UTC' },
      // Autovacuum's work, on the embedded database only (PostgreSQL does it itself).
      ...(onPostgres() ? [] : [{ name: 'database.vacuum', cron: '* * * * *', timezone: 'UTC' }]),
      { name: 'documents.purge-expired', cron: '*/5 * * * *', timezone: 'UTC' },
      { name: 'embeddings.backfill', cron: '* * * * *', timezone: 'UTC' },
      { name: 'extraction.sweep', cron: '*/15 * * * *', timezone: 'UTC' },
      { name: PURGE_EXPIRED_KEYS_JOB, cron: '17 3 * * *', timezone: 'UTC' },
      { name: 'mail.purge-old', cron: '53 4 * * *', timezone: 'UTC' },
      { name: 'memories.purge-expired', cron: '*/5 * * * *', timezone: 'UTC' },
      { name: 'oauth.purge', cron: '23 4 * * *', timezone: 'UTC' },
    ])
  })

  it('purges only the keys revoked or expired more than the retention ago', async () => {
    const { db } = t.db.database
    await db.insertInto('gpts').values({ id: 'gpt-purge', name: 'Purge' }).execute()
    const keys = {
      revokedLongAgo: { revoked_at: daysAgo(31), expires_at: null },
      revokedRecently: { revoked_at: daysAgo(29), expires_at: null },
      expiredLongAgo: { revoked_at: null, expires_at: daysAgo(40) },
      expiredRecently: { revoked_at: null, expires_at: daysAgo(10) },
      revokedRecentlyExpiredLongAgo: { revoked_at: daysAgo(5), expires_at: daysAgo(60) },
      active: { revoked_at: null, expires_at: null },
      expiresLater: { revoked_at: null, expires_at: sql<Date>`now() + interval '5 days'` },
    }
    const ids = Object.fromEntries(Object.keys(keys).map((label) => [label, randomUUID()])) as Record<keyof typeof keys, string>
    await db
      .insertInto('api_keys')
      .values(
        Object.entries(keys).map(([label, times]) => ({
          id: ids[label as keyof typeof keys],
          gpt_id: 'gpt-purge',
          secret_hash: Buffer.alloc(32, 1),
          scopes: ['read'],
          ...times,
        })),
      )
      .execute()
    const remaining = async () => (await db.selectFrom('api_keys').select('id').where('gpt_id', '=', 'gpt-purge').execute()).map((row) => row.id).sort()

    const run = await completed(PURGE_EXPIRED_KEYS_JOB, await queue.enqueue(PURGE_EXPIRED_KEYS_JOB, {}))
    expect(run.output).toEqual({ deleted: 3, retentionDays: 30 })
    expect(await remaining()).toEqual([ids.revokedRecently, ids.expiredRecently, ids.active, ids.expiresLater].sort())
    expect(logs).toContainEqual({ msg: 'purged expired API keys', obj: { job: PURGE_EXPIRED_KEYS_JOB, deleted: 3, retentionDays: 30 } })

    const shorter = await completed(PURGE_EXPIRED_KEYS_JOB, await queue.enqueue(PURGE_EXPIRED_KEYS_JOB, { retentionDays: 20 }))
    expect(shorter.output).toEqual({ deleted: 1, retentionDays: 20 })
    expect(await remaining()).toEqual([ids.expiredRecently, ids.active, ids.expiresLater].sort())
  })

  it('purges the expired console sign-ins, and only those', async () => {
    const { db } = t.db.database
    const row = (n: number, expiresAt: ReturnType<typeof daysAgo>) => ({
      token_hash: Buffer.alloc(32, n),
      kind: 'operator' as const,
      account_id: null,
      account_session_id: null,
      csrf_token: `csrf-${n}`,
      expires_at: expiresAt,
    })
    await db.insertInto('console_sessions').values([row(1, daysAgo(1)), row(2, sql<Date>`now() - interval '1 second'`), row(3, sql<Date>`now() + interval '1 hour'`)]).execute()
    const run = await completed(PURGE_CONSOLE_SESSIONS_JOB, await queue.enqueue(PURGE_CONSOLE_SESSIONS_JOB, {}))
    expect(run.output).toEqual({ deleted: 2 })
    expect((await db.selectFrom('console_sessions').select('csrf_token').execute()).map((left) => left.csrf_token)).toEqual(['csrf-3'])
    expect(logs).toContainEqual({ msg: 'purged expired console sessions', obj: { job: PURGE_CONSOLE_SESSIONS_JOB, deleted: 2 } })
  })
})
