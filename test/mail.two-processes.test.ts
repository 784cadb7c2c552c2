import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migratedPostgresDatabase, startService, withLogs, type ServiceProcess } from './helpers/service-process.js'
import { openSseStream, type SseStream } from './helpers/sse.js'

/**
 * Two real service processes on one PostgreSQL database: mail POSTed to one reaches an inbox stream
 * opened on the other, through LISTEN/NOTIFY, and (with REDIS_URL) through Redis pub/sub.
 */

const SERVER_URL = process.env.TEST_DATABASE_URL
const REDIS_URL = process.env.REDIS_URL
const processes: ServiceProcess[] = []

const streams: SseStream[] = []

/** Opens an inbox stream and resolves once its `retry:` line is in (its listener is then in place). */
async function openStream(url: string, token: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const stream = await openSseStream(url, { authorization: `Bearer ${token}`, ...headers })
  streams.push(stream)
  if (stream.status !== 200) throw new Error(`stream ${url}: ${stream.status}`)
  await stream.waitFor('the retry line', () => stream.retry !== null)
  return stream
}

// ---------------------------------------------------------------------------------------------

async function call<T>(method: 'GET' | 'POST', url: string, token: string, body?: unknown): Promise<T> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text}`)
  return JSON.parse(text) as T
}

interface Setup {
  gptId: string
  sender: string
  recipient: string
  bystander: string
  senderKey: string
  recipientKey: string
  bystanderKey: string
}

/** A GPT, three agents and a key bound to each, created through process `a`'s HTTP API. */
async function setUp(a: ServiceProcess, adminToken: string): Promise<Setup> {
  const gptId = `two-proc-${randomBytes(4).toString('hex')}`
  await call('POST', `${a.url}/v1/admin/gpts`, adminToken, { id: gptId, name: 'Two processes' })
  const { key: gptKey } = await call<{ key: string }>('POST', `${a.url}/v1/admin/gpts/${gptId}/keys`, adminToken, { scopes: ['read', 'write'] })
  const ids: string[] = []
  const keys: string[] = []
  for (const name of ['sender', 'recipient', 'bystander']) {
    const { id } = await call<{ id: string }>('POST', `${a.url}/v1/gpts/${gptId}/agents`, gptKey, { name })
    const { key } = await call<{ key: string }>('POST', `${a.url}/v1/admin/gpts/${gptId}/keys`, adminToken, { scopes: ['read', 'write'], agent_id: id })
    ids.push(id)
    keys.push(key)
  }
  return { gptId, sender: ids[0]!, recipient: ids[1]!, bystander: ids[2]!, senderKey: keys[0]!, recipientKey: keys[1]!, bystanderKey: keys[2]! }
}

/** Mail POSTed on `a` reaches the recipient's streams on `b` (and on `a`) within a second, and no one else's. */
async function proveDelivery(a: ServiceProcess, b: ServiceProcess, adminToken: string): Promise<void> {
  const s = await setUp(a, adminToken)
  const onB = await openStream(`${b.url}/v1/agents/${s.recipient}/inbox/stream`, s.recipientKey)
  const onA = await openStream(`${a.url}/v1/agents/${s.recipient}/inbox/stream`, s.recipientKey)
  const bystanderOnB = await openStream(`${b.url}/v1/agents/${s.bystander}/inbox/stream`, s.bystanderKey)

  const sent: { id: string; started: number }[] = []
  for (let n = 0; n < 3; n++) {
    const started = performance.now()
    const mail = await call<{ id: string }>('POST', `${a.url}/v1/gpts/${s.gptId}/mail`, s.senderKey, { from: s.sender, to: [s.recipient], content: `across ${n}` })
    sent.push({ id: mail.id, started })
    await onB.waitFor(`mail ${n} on process B`, () => onB.events.length > n, 1000)
    expect(onB.events[n]!.at - started).toBeLessThan(1000)
  }
  await onA.waitFor('the mail on process A', () => onA.events.length >= 3, 1000)
  expect(onB.mail().map((mail) => mail.id)).toEqual(sent.map((mail) => mail.id))
  expect(onA.mail().map((mail) => mail.id)).toEqual(sent.map((mail) => mail.id))
  const item = JSON.parse(onB.events[0]!.data) as { from: string; content: string; direction: string; event_id: string }
  expect(item).toMatchObject({ from: s.sender, content: 'across 0', direction: 'received' })
  expect(onB.events[0]!.id).toBe(item.event_id)
  expect(onB.events[0]!.event).toBe('mail')
  expect(bystanderOnB.events).toEqual([])

  // And the other way round: POSTed on B, heard on A.
  const back = await call<{ id: string }>('POST', `${b.url}/v1/gpts/${s.gptId}/mail`, s.senderKey, { from: s.sender, to: [s.recipient, s.bystander], content: 'back' })
  await onA.waitFor('the mail from B on process A', () => onA.events.length >= 4, 1000)
  await bystanderOnB.waitFor('the shared mail', () => bystanderOnB.events.length >= 1, 1000)
  expect(onA.mail().map((mail) => mail.id)[3]).toBe(back.id)
  expect(bystanderOnB.mail().map((mail) => mail.id)).toEqual([back.id])

  // A stream resumed on B from the first mail's id replays the rest, whichever process took them.
  const resumed = await openStream(`${b.url}/v1/agents/${s.recipient}/inbox/stream`, s.recipientKey, { 'last-event-id': onB.events[0]!.id! })
  await resumed.waitFor('the replay', () => resumed.events.length >= 3)
  await new Promise((resolve) => setTimeout(resolve, 200))
  expect(resumed.mail().map((mail) => mail.id)).toEqual([sent[1]!.id, sent[2]!.id, back.id])
  for (const stream of [onA, onB, bystanderOnB, resumed]) stream.close()
}

describe.skipIf(!SERVER_URL)('inbox streams across two service processes', () => {
  const adminToken = randomBytes(24).toString('hex')
  let databaseUrl: string
  let pgPair: [ServiceProcess, ServiceProcess]
  let redisPair: [ServiceProcess, ServiceProcess]

  let dropDatabase: () => Promise<void>

  beforeAll(async () => {
    const database = await migratedPostgresDatabase(SERVER_URL!, 'agentstore_2proc')
    databaseUrl = database.url
    dropDatabase = database.drop
    const env = { DATABASE_URL: databaseUrl, ADMIN_TOKEN: adminToken }
    const starting = [startService('pg-a', env), startService('pg-b', env)]
    if (REDIS_URL) starting.push(startService('redis-a', { ...env, REDIS_URL }), startService('redis-b', { ...env, REDIS_URL }))
    const started = await Promise.allSettled(starting)
    for (const result of started) if (result.status === 'fulfilled') processes.push(result.value)
    const failed = started.find((result) => result.status === 'rejected')
    if (failed) throw failed.reason
    const services = started.map((result) => (result as PromiseFulfilledResult<ServiceProcess>).value)
    pgPair = [services[0]!, services[1]!]
    if (REDIS_URL) redisPair = [services[2]!, services[3]!]
  }, 90_000)

  afterAll(async () => {
    for (const stream of streams) stream.close()
    await Promise.all(processes.map((service) => service.stop()))
    await dropDatabase()
  })

  it('carries mail between processes through PostgreSQL LISTEN/NOTIFY', async () => {
    const [a, b] = pgPair
    expect(a.url).not.toBe(b.url)
    expect([a.listening.events, b.listening.events]).toEqual(['postgres', 'postgres'])
    expect(a.listening.database).toBe('PostgreSQL')
    await withLogs([a, b], () => proveDelivery(a, b, adminToken))
  })

  it.skipIf(!REDIS_URL)('carries mail between processes through Redis pub/sub when REDIS_URL is set', async () => {
    const [a, b] = redisPair
    expect(a.url).not.toBe(b.url)
    expect([a.listening.events, b.listening.events]).toEqual(['redis', 'redis'])
    await withLogs([a, b], () => proveDelivery(a, b, adminToken))
  })
})
