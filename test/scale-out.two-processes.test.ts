import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'
import { startFakeEmbeddingsServer, type FakeEmbeddingsServer } from './helpers/fake-embeddings-server.js'
import { startFakeLlmServer, type FakeLlmServer } from './helpers/fake-llm-server.js'
import { openSseStream, type SseStream } from './helpers/sse.js'
import { callService, migratedPostgresDatabase, startService, withLogs, type ServiceProcess } from './helpers/service-process.js'

/**
 * Two service processes on one PostgreSQL database and one Redis, as replicas behind a load balancer
 * would run (docs/scale-out.md), for what the other *.two-processes tests leave out: one write budget
 * spent across both, a generation run by one followed live from the other, and a scheduled job (the
 * backup) that both processes schedule but only one runs.
 */

const SERVER_URL = process.env.TEST_DATABASE_URL
const REDIS_URL = process.env.REDIS_URL
const WRITES = 4
const TOKENS = ['Once', ' upon', ' a', ' time', ' there', ' was', ' a', ' fox', '.']
const FULL = TOKENS.join('')
const WAIT_MS = 10_000
const adminToken = randomBytes(24).toString('hex')

let database: { url: string; drop(): Promise<void> }
let llm: FakeLlmServer
let embeddings: FakeEmbeddingsServer
let backupDir: string
let a: ServiceProcess
let b: ServiceProcess
/** The UTC minute of the hour the backup is scheduled at: the next one after the processes are asked to start. */
let backupMinute: number


/** A new GPT with one key, made on A: every test has its own caller, so its own budgets. */
async function newTenant(name: string): Promise<{ gptId: string; token: string }> {
  const gptId = `${name}-${randomBytes(3).toString('hex')}`
  expect((await callService(a.url, 'POST', '/v1/admin/gpts', adminToken, { id: gptId, name })).status).toBe(201)
  const key = await callService<{ key: string }>(a.url, 'POST', `/v1/admin/gpts/${gptId}/keys`, adminToken, {})
  expect(key.status).toBe(201)
  return { gptId, token: key.body.key }
}

async function until<T>(what: string, probe: () => Promise<T | null>, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = await probe()
    if (found !== null) return found
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  try {
    return (await client.query<T>(text, values)).rows
  } finally {
    await client.end()
  }
}

const deltas = (stream: SseStream) => stream.events.filter((event) => event.event === 'delta').map((event) => JSON.parse(event.data) as { offset: number; text: string })
const lastEvent = (stream: SseStream) => stream.events[stream.events.length - 1]

beforeAll(async () => {
  if (!SERVER_URL || !REDIS_URL) return
  ;[llm, embeddings, database, backupDir] = await Promise.all([
    startFakeLlmServer(),
    startFakeEmbeddingsServer({ dimensions: 384 }),
    migratedPostgresDatabase(SERVER_URL, 'agentstore_scale2p'),
    mkdtemp(join(tmpdir(), 'agentstore-scale2p-')),
  ])
  // The next minute starts within 60 s and ends within 120 s: the processes are up long before it ends.
  backupMinute = new Date(Date.now() + 60_000).getUTCMinutes()
  const env = {
    ADMIN_TOKEN: adminToken,
    DATABASE_URL: database.url,
    REDIS_URL,
    REDIS_PREFIX: `test:${randomBytes(4).toString('hex')}:`,
    // The write budget is the one under test; the others are out of reach.
    RATE_LIMITS: `key:10000/h,write:${WRITES}/h,ip:100000/h`,
    LLM_PROVIDER: 'openai',
    LLM_BASE_URL: llm.openaiBaseUrl,
    LLM_API_KEY: 'sk-test',
    EMBEDDINGS_PROVIDER: 'openai',
    EMBEDDINGS_BASE_URL: embeddings.url,
    EMBEDDINGS_MODEL: 'fake',
    EMBEDDINGS_DIM: '384',
    JOBS_ENABLED: 'true',
    BACKUP_CRON: `${backupMinute} * * * *`,
    BACKUP_DIR: backupDir,
  }
  ;[a, b] = await Promise.all([startService('a', env), startService('b', env)])
}, 120_000)

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await Promise.all([llm?.close(), embeddings?.close(), database?.drop(), backupDir && rm(backupDir, { recursive: true, force: true })])
})

describe.skipIf(!SERVER_URL || !REDIS_URL)('two service processes on one PostgreSQL and one Redis', () => {
  it('share the rate-limit store in Redis and the event bus', async () => {
    await withLogs([a, b], async () => {
      for (const service of [a, b]) {
        const ready = await callService<{ status: string; checks: Record<string, { ok: boolean; state?: string }> }>(service.url, 'GET', '/ready', '')
        expect(ready.status, JSON.stringify(ready.body)).toBe(200)
        expect(ready.body.status).toBe('ready')
        expect(ready.body.checks.events).toMatchObject({ ok: true, state: expect.stringMatching(/^redis /) })
        expect(ready.body.checks.redis).toMatchObject({ ok: true })
        expect(ready.body.checks.rate_limits).toMatchObject({ ok: true, state: 'shared (redis)' })
        expect(ready.body.checks.backups).toMatchObject({ ok: true })
      }
    })
  })

  it('spend one write budget: writes split across both processes exhaust it on both', async () => {
    await withLogs([a, b], async () => {
      const { gptId, token } = await newTenant('budget')
      const write = (service: ServiceProcess, n: number) => callService(service.url, 'POST', `/v1/gpts/${gptId}/sessions`, token, { user_id: `user-${n}` })
      // A, B, A, B: each process alone took two writes of a budget of four.
      for (let n = 0; n < WRITES; n++) {
        const written = await write(n % 2 === 0 ? a : b, n)
        expect(written.status, JSON.stringify(written.body)).toBe(201)
        expect(written.headers.get('ratelimit-remaining')).toBe(String(WRITES - n - 1))
      }
      // Per-process budgets would have two writes left on each.
      for (const service of [a, b]) {
        const refused = await write(service, WRITES)
        expect(refused.status).toBe(429)
        expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/)
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
      }
      // Reads are outside the write budget, on either process.
      for (const service of [a, b]) expect((await callService(service.url, 'GET', `/v1/gpts/${gptId}/sessions`, token)).status).toBe(200)
      // Another caller has a budget of its own.
      const other = await newTenant('budget-other')
      expect((await callService(b.url, 'POST', `/v1/gpts/${other.gptId}/sessions`, other.token, { user_id: 'u' })).status).toBe(201)
    })
  }, 60_000)

  it('follow a generation that A runs from B, replayed from an offset, then live to done', async () => {
    await withLogs([a, b], async () => {
      const { gptId, token } = await newTenant('reattach')
      const session = await callService<{ id: string }>(a.url, 'POST', `/v1/gpts/${gptId}/sessions`, token, { user_id: 'alice' })
      expect(session.status).toBe(201)
      expect((await callService(a.url, 'POST', `/v1/sessions/${session.body.id}/messages`, token, { sender: 'user', content: 'A story.' })).status).toBe(201)
      llm.script({ tokens: TOKENS, hold: 3 })
      const running = callService<MessageView>(a.url, 'POST', `/v1/sessions/${session.body.id}/generate`, token, {})
      await llm.held()
      // B finds the message A is writing in the shared database.
      const id = await until('the AI message, seen from B', async () => {
        const listed = await callService<{ messages: MessageView[] }>(b.url, 'GET', `/v1/sessions/${session.body.id}/messages`, token)
        return listed.body.messages.find((message) => message.sender === 'ai')?.id ?? null
      })
      const headers = { authorization: `Bearer ${token}` }
      const streams = await Promise.all([openSseStream(`${b.url}/v1/messages/${id}/stream`, headers), openSseStream(`${b.url}/v1/messages/${id}/stream?offset=5`, headers)])
      try {
        for (const stream of streams) {
          expect(stream.status).toBe(200)
          await stream.waitFor('the message event', (s) => s.events.length >= 1, WAIT_MS)
          expect(stream.events[0]!.event).toBe('message')
          expect(JSON.parse(stream.events[0]!.data)).toMatchObject({ id, status: 'in_progress' })
        }
        // The rest of the reply is generated on A only after both followers on B are attached.
        expect(llm.release()).toBe(1)
        for (const [stream, offset] of [
          [streams[0]!, 0],
          [streams[1]!, 5],
        ] as const) {
          await stream.waitFor('the done event', (s) => lastEvent(s)?.event === 'done', WAIT_MS)
          await stream.waitFor('the end of the stream', (s) => s.ended, WAIT_MS)
          // Contiguous deltas from the offset asked for, each one's SSE id the offset after it.
          let at = offset
          for (const [index, delta] of deltas(stream).entries()) {
            expect(delta.offset).toBe(at)
            at += delta.text.length
            expect(stream.events.filter((event) => event.event === 'delta')[index]!.id).toBe(String(at))
          }
          expect(deltas(stream).map((delta) => delta.text).join('')).toBe(FULL.slice(offset))
          expect(JSON.parse(lastEvent(stream)!.data)).toMatchObject({ id, status: 'complete', content: FULL })
        }
        const answered = await running
        expect(answered.status).toBe(201)
        expect(answered.body).toMatchObject({ id, status: 'complete', content: FULL })
        // Reattaching after the end, from B, replays the stored text and ends at once.
        const late = await openSseStream(`${b.url}/v1/messages/${id}/stream?offset=${FULL.length - 4}`, headers)
        try {
          await late.waitFor('the done event', (s) => lastEvent(s)?.event === 'done', WAIT_MS)
          expect(deltas(late).map((delta) => delta.text).join('')).toBe(FULL.slice(-4))
        } finally {
          late.close()
        }
      } finally {
        for (const stream of streams) stream.close()
      }
    })
  }, 60_000)

  it('run a backup scheduled on both processes once, by one of them', async () => {
    await withLogs([a, b], async () => {
      const job = await until(
        'the scheduled backup to complete',
        async () => (await sql<{ id: string }>(`select id from pgboss.job where name = 'backups.create' and state = 'completed'`))[0] ?? null,
        // The scheduled minute ends within 120 s of the start, plus a cron check (30 s) and the backup itself.
        200_000,
      )
      // A cron check sends the slot only during its own minute; what it sent becomes a job at the cron
      // worker's next poll (5 s). So a second run of the slot would exist 15 s into the next minute,
      // by the database's clock (a check that straddles the minute's end is covered with 10 s to spare).
      await until(
        'the slot to be out of reach',
        async () => {
          const [now] = await sql<{ minute: number; second: number }>(`select extract(minute from now() at time zone 'UTC')::int as minute, extract(second from now())::float as second`)
          return now!.minute === (backupMinute + 1) % 60 && now!.second >= 15 ? true : null
        },
        200_000,
      )
      const jobs = await sql<{ id: string; state: string; output: { file?: string; skipped?: string } }>(
        `select id, state, output from pgboss.job where name = 'backups.create'
         union all select id, state, output from pgboss.archive where name = 'backups.create'`,
      )
      expect(jobs.map((row) => row.id)).toEqual([job.id])
      expect(jobs[0]!.output.skipped).toBeUndefined()
      const files = (await readdir(backupDir)).filter((name) => /^agentstore-postgres-.*\.dump$/.test(name))
      expect(files).toEqual([jobs[0]!.output.file?.split('/').pop()])
      const made = [a, b].map((service) => service.output.filter((line) => line.includes('"msg":"backup made"')).length)
      expect(made.sort()).toEqual([0, 1])
    })
  }, 420_000)
})
