import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { purgeAuditJob } from '../src/modules/audit/audit.purge.job.js'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js'

let db: TestDatabase

beforeAll(async () => {
  db = await createTestDatabase()
}, 60_000)

afterAll(async () => {
  await db?.drop()
})

const count = async (gptId: string) =>
  Number((await db.database.db.selectFrom('audit_log').select((eb) => eb.fn.countAll().as('n')).where('gpt_id', '=', gptId).executeTakeFirstOrThrow()).n)

async function getMe(t: TestApp, gptId: string, times: number): Promise<void> {
  const { token } = await createGptWithKey(t.services, gptId)
  for (let i = 0; i < times; i++) expect((await t.app.inject({ url: '/v1/me', headers: bearer(token) })).statusCode).toBe(200)
}

describe('audit rows and the app lifecycle', () => {
  it('rows recorded just before a clean close are stored by it', async () => {
    // A flush interval far longer than the test: only the close can write them.
    const t = await createTestApp({ db, env: { AUDIT_FLUSH_MS: '600000' } })
    await getMe(t, 'closing-gpt', 5)
    expect(await count('closing-gpt')).toBe(0)
    await t.close()
    expect(await count('closing-gpt')).toBe(6)
  })

  it('AUDIT=off records nothing; the log still answers', async () => {
    const t = await createTestApp({ db, env: { AUDIT: 'off' } })
    try {
      expect(t.services.auditWriter).toBeNull()
      await getMe(t, 'quiet-gpt', 3)
      const admin = await createGptWithKey(t.services, 'quiet-gpt', ['read', 'write', 'admin'])
      const response = await t.app.inject({ url: '/v1/gpts/quiet-gpt/audit', headers: bearer(admin.token) })
      expect(response.statusCode).toBe(200)
      expect(response.json()).toEqual({ audit: [], next_cursor: null, has_more: false })
    } finally {
      await t.close()
    }
    expect(await count('quiet-gpt')).toBe(0)
  })

  it('the audit.purge job deletes rows older than the retention', async () => {
    const t = await createTestApp({ db, env: { AUDIT_RETENTION_DAYS: '90' } })
    try {
      const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000)
      const row = (days: number) => ({ gpt_id: 'old-gpt', id: randomUUID(), principal_kind: 'key', action: `${days}d`, targets: '{}', status: 200, created_at: daysAgo(days) })
      await db.database.db.insertInto('audit_log').values([row(200), row(91), row(89), row(1)]).execute()
      const logs: unknown[] = []
      const logger = { info: (object: object) => logs.push(object), warn() {}, error() {} }
      const run = { id: 'run', name: 'audit.purge', retryCount: 0, signal: new AbortController().signal, logger }
      const job = purgeAuditJob({ audit: t.services.audit, logger, retentionDays: t.config.audit.retentionDays })
      expect(job.name).toBe('audit.purge')
      expect(await job.handler({}, run)).toEqual({ deleted: 2, retentionDays: 90 })
      const left = await db.database.db.selectFrom('audit_log').select('action').where('gpt_id', '=', 'old-gpt').orderBy('created_at').execute()
      expect(left.map((entry) => entry.action)).toEqual(['89d', '1d'])
      // A manual run may override the retention: 0 days deletes every row of the past.
      expect(await job.handler({ retentionDays: 0 }, run)).toMatchObject({ retentionDays: 0 })
      expect(await count('old-gpt')).toBe(0)
      expect(logs[0]).toEqual(expect.objectContaining({ job: 'audit.purge', deleted: 2, retentionDays: 90 }))
    } finally {
      await t.close()
    }
  })
})
