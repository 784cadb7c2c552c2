import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { openSseStream, type SseStream } from './helpers/sse.js'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'

/**
 * Two real service processes on one PostgreSQL database: mail POSTed to one reaches an inbox stream
 * opened on the other, through LISTEN/NOTIFY, and (with REDIS_URL) through Redis pub/sub.
 */

const SERVER_URL = process.env.TEST_DATABASE_URL
const REDIS_URL = process.env.REDIS_URL
const ROOT = new URL('..', import.meta.url).pathname

// ---------------------------------------------------------------------------------------------
// Service processes
// ---------------------------------------------------------------------------------------------

interface ServiceProcess {
  url: string
  /** The `agentstore listening on …` log line. */
  listening: { url: string; events: string; database: string }
  output: string[]
  child: ChildProcess
  stop(): Promise<void>
}

const processes: ServiceProcess[] = []

function startService(name: string, env: Record<string, string>): Promise<ServiceProcess> {
  const inherited = { ...process.env }
  // Only what this test sets: never the runner's Redis or database by accident.
  for (const key of ['REDIS_URL', 'DATABASE_URL', 'TEST_DATABASE_URL', 'PORT', 'HOST', 'DATA_DIR', 'PUBLIC_URL', 'RATE_LIMITS']) delete inherited[key]
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'serve'], {
    cwd: ROOT,
    env: { ...inherited, HOST: '127.0.0.1', PORT: '0', RATE_LIMITS: 'off', LOG_LEVEL: 'info', JOBS_ENABLED: 'false', SSE_HEARTBEAT_MS: '1000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      const force = setTimeout(() => child.kill('SIGKILL'), 5000)
      child.once('exit', () => {
        clearTimeout(force)
        resolve()
      })
      child.kill('SIGTERM')
    })
  return new Promise((resolve, reject) => {
    const fail = (reason: string) => reject(new Error(`${name}: ${reason}\n${output.slice(-30).join('\n')}`))
    const timer = setTimeout(() => {
      fail('did not start within 80 s')
      void stop()
    }, 80_000)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      fail(`exited (${code ?? signal})`)
    })
    createInterface({ input: child.stderr! }).on('line', (line) => output.push(`[stderr] ${line}`))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line)
      let parsed: { msg?: string; url?: string; events?: string; database?: string }
      try {
        parsed = JSON.parse(line) as typeof parsed
      } catch {
        return
      }
      if (parsed.msg?.startsWith('agentstore listening on') && parsed.url) {
        clearTimeout(timer)
        const started: ServiceProcess = { url: parsed.url, listening: parsed as ServiceProcess['listening'], output, child, stop }
        processes.push(started)
        resolve(started)
      }
    })
  })
}


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

/** On failure, the warnings and errors the processes logged go with the error. */
async function withLogs(services: ServiceProcess[], run: () => Promise<void>): Promise<void> {
  try {
    await run()
  } catch (error) {
    const logged = services.flatMap((service, index) =>
      service.output.filter((line) => line.startsWith('[stderr]') || /"level":(4|5|6)\d/.test(line)).map((line) => `${'AB'[index]}: ${line}`),
    )
    if (error instanceof Error) error.message += `\nprocess warnings and errors:\n${logged.join('\n') || '(none)'}`
    throw error
  }
}

describe.skipIf(!SERVER_URL)('inbox streams across two service processes', () => {
  const databaseName = `agentstore_2proc_${randomBytes(5).toString('hex')}`
  const adminToken = randomBytes(24).toString('hex')
  let databaseUrl: string
  let pgPair: [ServiceProcess, ServiceProcess]
  let redisPair: [ServiceProcess, ServiceProcess]

  async function admin(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: SERVER_URL })
    await client.connect()
    try {
      await client.query(sql)
    } finally {
      await client.end()
    }
  }

  beforeAll(async () => {
    await admin(`CREATE DATABASE ${databaseName}`)
    const url = new URL(SERVER_URL!)
    url.pathname = `/${databaseName}`
    databaseUrl = url.toString()
    // Migrated here, so that the processes (which would each migrate a fresh database) can start together.
    const database = await openDatabase({ kind: 'postgres', url: databaseUrl, poolSize: 1 })
    await migrateToLatest(database.db)
    await database.close()
    const env = { DATABASE_URL: databaseUrl, ADMIN_TOKEN: adminToken }
    const starting = [startService('pg-a', env), startService('pg-b', env)]
    if (REDIS_URL) starting.push(startService('redis-a', { ...env, REDIS_URL }), startService('redis-b', { ...env, REDIS_URL }))
    const started = await Promise.allSettled(starting)
    const failed = started.find((result) => result.status === 'rejected')
    if (failed) throw failed.reason
    const services = started.map((result) => (result as PromiseFulfilledResult<ServiceProcess>).value)
    pgPair = [services[0]!, services[1]!]
    if (REDIS_URL) redisPair = [services[2]!, services[3]!]
  }, 90_000)

  afterAll(async () => {
    for (const stream of streams) stream.close()
    await Promise.all(processes.map((service) => service.stop()))
    await admin(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`)
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
