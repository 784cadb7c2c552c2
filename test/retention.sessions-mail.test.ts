import { randomUUID } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PURGE_OLD_MAIL_JOB, purgeOldMailJob } from '../src/modules/retention/mail.purge-old.job.js'
import { PURGE_OLD_SESSIONS_JOB, purgeOldSessionsJob } from '../src/modules/retention/sessions.purge-old.job.js'
import { silentJobLogger, type JobDefinition } from '../src/platform/jobs/jobs.queue.js'
import { Registry } from 'prom-client'
import { RetentionService } from '../src/modules/retention/retention.service.js'
import { CollectionsRepository } from '../src/modules/collections/collections.repo.js'
import { ObjectsRepository } from '../src/modules/objects/objects.repo.js'
import { SessionsRepository } from '../src/modules/chat/sessions.repo.js'
import { MailRepository } from '../src/modules/mail/mail.repo.js'
import { PurgeMetrics } from '../src/platform/jobs/batched-purge.js'
import { bearer, createGptWithKey, createTestApp, type HttpMethod, type TestApp } from './helpers/test-app.js'
import { expectProblem } from './helpers/problem.js'
import { signup } from './helpers/accounts.js'
import { MemoryHistoryRepository } from '../src/modules/memories/memories.history.repo.js'

/** Per-GPT session and mail retention: the settings (validation, who may set them) and the purge jobs, isolated per GPT. */

const GPT = 'keep-gpt'
const OTHER = 'keep-other'

let t: TestApp
const keys: Record<'admin' | 'writer' | 'reader' | 'other', string> = { admin: '', writer: '', reader: '', other: '' }

beforeAll(async () => {
  t = await createTestApp()
  keys.admin = (await createGptWithKey(t.services, GPT, ['read', 'write', 'admin'])).token
  keys.writer = (await createGptWithKey(t.services, GPT, ['read', 'write'])).token
  keys.reader = (await createGptWithKey(t.services, GPT, ['read'])).token
  keys.other = (await createGptWithKey(t.services, OTHER, ['read', 'write', 'admin'])).token
})

afterAll(async () => {
  await t?.close()
})

function call(method: HttpMethod, url: string, headers: Record<string, string>, payload?: unknown): Promise<LightMyRequestResponse> {
  return t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) })
}

const daysAgo = (days: number) => sql<Date>`now() - make_interval(days => ${days})`
const db = () => t.db.database.db
const run = (job: JobDefinition) => job.handler({}, { id: 'run', name: job.name, retryCount: 0, signal: new AbortController().signal, logger: silentJobLogger })

describe('retention settings of a GPT', () => {
  const url = `/v1/gpts/${GPT}`
  const invalid: Array<[string, Record<string, unknown>]> = [
    ['zero session days', { session_retention_days: 0 }],
    ['negative mail days', { mail_retention_days: -1 }],
    ['more than ten years', { session_retention_days: 3651 }],
    ['huge', { mail_retention_days: 1e15 }],
    ['fractional days', { mail_retention_days: 2.5 }],
    ['a string', { session_retention_days: '7' }],
    ['a boolean', { mail_retention_days: true }],
    ['an unknown setting', { chat_retention_days: 7 }],
    ['nothing to change', {}],
  ]

  it.each(invalid)('refuses %s with 422', async (_label, body) => {
    expectProblem(await call('PATCH', url, bearer(keys.admin), body), 422, url)
  })

  it.each([
    ['a read key', 'reader', 403],
    ['a write key', 'writer', 403],
    ["another GPT's admin key", 'other', 403],
  ] as const)('refuses %s (%s) with %i', async (_label, key, status) => {
    expectProblem(await call('PATCH', url, bearer(keys[key]), { session_retention_days: 1 }), status, url)
  })

  it("lets the owning account set them on its GPT, and answers 404 to another account", async () => {
    const [owner, stranger] = [await signup(t.app), await signup(t.app)]
    const created = await call('POST', '/v1/gpts', bearer(owner.key), { id: 'owned-keep', name: 'Owned' })
    expect(created.statusCode, created.body).toBe(201)
    const owned = '/v1/gpts/owned-keep'
    const set = await call('PATCH', owned, bearer(owner.key), { mail_retention_days: 14 })
    expect(set.statusCode, set.body).toBe(200)
    expect(set.json()).toMatchObject({ mail_retention_days: 14, session_retention_days: null })
    expectProblem(await call('PATCH', owned, bearer(stranger.key), { mail_retention_days: 1 }), 404, owned)
    expect((await call('GET', owned, bearer(owner.key))).json()).toMatchObject({ mail_retention_days: 14 })
  })

  it('sets, shows and clears them with an admin key; the operator has the same on the admin route', async () => {
    const set = await call('PATCH', url, bearer(keys.admin), { session_retention_days: 30, mail_retention_days: 3650 })
    expect(set.statusCode, set.body).toBe(200)
    expect(set.json()).toMatchObject({ id: GPT, session_retention_days: 30, mail_retention_days: 3650 })
    expect((await call('GET', url, bearer(keys.reader))).json()).toMatchObject({ session_retention_days: 30, mail_retention_days: 3650 })
    const cleared = await call('PATCH', url, bearer(keys.admin), { mail_retention_days: null })
    expect(cleared.json()).toMatchObject({ session_retention_days: 30, mail_retention_days: null })

    const admin = { authorization: `Bearer ${t.adminToken}` }
    const operator = await call('PATCH', `/v1/admin/gpts/${GPT}`, admin, { name: 'Kept', session_retention_days: null })
    expect(operator.statusCode, operator.body).toBe(200)
    expect(operator.json()).toMatchObject({ name: 'Kept', session_retention_days: null, mail_retention_days: null })
    expectProblem(await call('PATCH', '/v1/admin/gpts/no-such-gpt', admin, { mail_retention_days: 1 }), 404, '/v1/admin/gpts/no-such-gpt')
    expectProblem(await call('PATCH', `/v1/admin/gpts/${GPT}`, admin, { mail_retention_days: 0 }), 422, `/v1/admin/gpts/${GPT}`)
  })
})

async function session(gpt: string, idleDays: number, messages: number, generating = false): Promise<string> {
  const id = randomUUID()
  await db()
    .insertInto('chat_sessions')
    .values({
      gpt_id: gpt,
      id,
      user_id: 'u1',
      last_activity_at: daysAgo(idleDays),
      ...(generating ? { generating_message_id: randomUUID(), generation_lease_until: sql<Date>`now() + interval '1 minute'` } : {}),
    })
    .execute()
  for (let i = 0; i < messages; i++) {
    await db().insertInto('chat_messages').values({ gpt_id: gpt, session_id: id, id: randomUUID(), sender: 'user', content: `m${i}` }).execute()
  }
  return id
}

const sessionIds = async (gpt: string) =>
  (await db().selectFrom('chat_sessions').select('id').where('gpt_id', '=', gpt).execute()).map((row) => row.id).sort()
const messageCount = async (gpt: string) =>
  Number((await db().selectFrom('chat_messages').select((eb) => eb.fn.countAll<string>().as('n')).where('gpt_id', '=', gpt).executeTakeFirstOrThrow()).n)

describe(`the ${PURGE_OLD_SESSIONS_JOB} job`, () => {
  it('deletes the sessions idle longer than their GPT keeps them, with their messages; not a generating one, not another GPT\'s', async () => {
    await t.services.gpts.updateGpt(GPT, { session_retention_days: 10 })
    await t.services.gpts.updateGpt(OTHER, { session_retention_days: null })
    const old = await session(GPT, 11, 3)
    const recent = await session(GPT, 9, 2)
    const busy = await session(GPT, 11, 1, true)
    const theirs = await session(OTHER, 400, 2)

    const counts = await run(purgeOldSessionsJob({ retention: t.services.retention, logger: silentJobLogger }))
    expect(counts).toMatchObject({ sessions: 1, messages: 3 })
    expect(await sessionIds(GPT)).toEqual([recent, busy].sort())
    expect(await messageCount(GPT)).toBe(3)
    expect(await sessionIds(GPT)).not.toContain(old)
    expect(await sessionIds(OTHER)).toEqual([theirs])
    expect(await messageCount(OTHER)).toBe(2)

    expect(await run(purgeOldSessionsJob({ retention: t.services.retention, logger: silentJobLogger }))).toMatchObject({ sessions: 0, messages: 0 })
  })

  it('empties big sessions a batch of messages at a time (more messages than a batch)', async () => {
    await t.services.gpts.updateGpt(OTHER, { session_retention_days: 1 })
    const big = await session(OTHER, 2, 5)
    const deleted: number[] = []
    class CountingSessions extends SessionsRepository {
      override async deleteMessagesOfIdle(gptId: string, days: number, limit: number): Promise<number> {
        const rows = await super.deleteMessagesOfIdle(gptId, days, limit)
        if (gptId === OTHER) deleted.push(rows)
        return rows
      }
    }
    const database = db()
    const retention = new RetentionService({
      collections: new CollectionsRepository(database),
      objects: new ObjectsRepository(database),
      gpts: t.services.gpts,
      sessions: new CountingSessions(database),
      mail: new MailRepository(database),
      memories: new MemoryHistoryRepository(database),
      metrics: new PurgeMetrics(new Registry()),
      batchSize: 2,
    })
    // The other GPT's 400-day-old session of the test above (2 messages) goes too, now that it keeps sessions a day.
    expect(await retention.purgeOldSessions()).toMatchObject({ sessions: 2, messages: 7 })
    expect(deleted).toEqual([2, 2, 2, 1])
    expect(await sessionIds(OTHER)).not.toContain(big)
    expect(await messageCount(OTHER)).toBe(0)
  })
})

async function agent(gpt: string): Promise<string> {
  const id = randomUUID()
  await db().insertInto('agents').values({ gpt_id: gpt, id, name: `agent-${id}` }).execute()
  return id
}

async function mail(gpt: string, from: string, to: string, sentDaysAgo: number, parent: string | null = null): Promise<string> {
  const id = randomUUID()
  await db().insertInto('mail').values({ gpt_id: gpt, id, sender_id: from, parent_id: parent, content: 'hi', created_at: daysAgo(sentDaysAgo) }).execute()
  await db().insertInto('mail_recipients').values({ gpt_id: gpt, mail_id: id, agent_id: to, created_at: daysAgo(sentDaysAgo) }).execute()
  return id
}

const mailIds = async (gpt: string) => (await db().selectFrom('mail').select('id').where('gpt_id', '=', gpt).execute()).map((row) => row.id).sort()

describe(`the ${PURGE_OLD_MAIL_JOB} job`, () => {
  it('deletes the mail older than its GPT keeps it, with recipients; a kept reply loses its parent; another GPT keeps all', async () => {
    await t.services.gpts.updateGpt(GPT, { mail_retention_days: 7 })
    const [a, b] = [await agent(GPT), await agent(GPT)]
    const old = await mail(GPT, a, b, 8)
    const reply = await mail(GPT, b, a, 2, old)
    const [x, y] = [await agent(OTHER), await agent(OTHER)]
    const theirs = await mail(OTHER, x, y, 900)

    expect(await run(purgeOldMailJob({ retention: t.services.retention, logger: silentJobLogger }))).toMatchObject({ mail: 1 })
    expect(await mailIds(GPT)).toEqual([reply])
    const kept = await db().selectFrom('mail').select('parent_id').where('gpt_id', '=', GPT).where('id', '=', reply).executeTakeFirstOrThrow()
    expect(kept.parent_id).toBeNull()
    const recipients = await db().selectFrom('mail_recipients').select('mail_id').where('gpt_id', '=', GPT).execute()
    expect(recipients.map((row) => row.mail_id)).toEqual([reply])
    expect(await mailIds(OTHER)).toEqual([theirs])
  })

  it('counts its rows in /metrics by kind', async () => {
    const [a, b] = [await agent(GPT), await agent(GPT)]
    for (let i = 0; i < 3; i++) await mail(GPT, a, b, 30)
    await t.services.retention.purgeOldMail()
    const text = (await call('GET', '/metrics', {})).body
    expect(Number(/agentstore_retention_purged_rows_total\{kind="mail"\} (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(4)
    expect(text).toMatch(/agentstore_retention_last_run_rows\{kind="mail"\} 3\b/)
    expect(text).toMatch(/agentstore_retention_purged_rows_total\{kind="sessions"\} \d+/)
    expect(text).toMatch(/agentstore_retention_purged_rows_total\{kind="chat_messages"\} \d+/)
  })
})
