import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { InboxStreams } from '../src/modules/mail/mail.stream.js'
import { LocalEventBus, type EventBus } from '../src/platform/events/event-bus.js'
import { PostgresEventBus } from '../src/platform/events/postgres.bus.js'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'
import { createTestDatabase, onPostgres, type TestDatabase } from './helpers/test-database.js'
import { openSseStream, SseStream, type InboxItem } from './helpers/sse.js'

const streams: SseStream[] = []

/** Opens a stream and resolves once the response head is in (any status). */
async function openStream(path: string, headers: Record<string, string>): Promise<SseStream> {
  const stream = await openSseStream(`${base}${path}`, headers)
  streams.push(stream)
  return stream
}

// ---------------------------------------------------------------------------------------------

interface MailView {
  id: string
  gpt_id: string
  from: string
  to: { agent_id: string; read_at: string | null }[]
  content: string
  created_at: string
}

const GPT = 'sse-gpt'
const OTHER_GPT = 'sse-gpt-other'

let t: TestApp
let db: TestDatabase
let bus: EventBus
/** A second InboxStreams on the app's bus, mounted at /test/inbox-stream/:id, to watch its openCount. */
let direct: InboxStreams | null = null
const directWarnings: object[] = []
let base: string
let appClosed = false
let gptKey: string
let otherGptKey: string
/** Agent ids, and keys bound to agents. */
let sender: string
let other: string
const agentKeys = new Map<string, string>()

async function agent(name: string, gptId = GPT): Promise<string> {
  const created = await t.services.agents.createAgent(gptId, { name })
  const key = await t.services.keys.createKey(gptId, { scopes: ['read', 'write'], agent_id: created.id })
  agentKeys.set(created.id, key.key)
  return created.id
}

async function send(from: string, to: string[], content: string): Promise<MailView> {
  const response = await fetch(`${base}/v1/gpts/${GPT}/mail`, {
    method: 'POST',
    headers: { ...bearer(gptKey), 'content-type': 'application/json' },
    body: JSON.stringify({ from, to, content }),
  })
  expect(response.status, await response.clone().text()).toBe(201)
  return (await response.json()) as MailView
}

const inboxStream = (agentId: string, token: string, headers: Record<string, string> = {}) =>
  openStream(`/v1/agents/${agentId}/inbox/stream`, { ...bearer(token), ...headers })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function waitUntil(what: string, condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(10)
  }
}

/** A stream that has written its head and the `retry:` line, so that its listener is in place. */
async function ready(stream: Promise<SseStream>): Promise<SseStream> {
  const opened = await stream
  expect(opened.status).toBe(200)
  await opened.waitFor('the retry line', (s) => s.retry !== null)
  return opened
}

beforeAll(async () => {
  db = await createTestDatabase()
  // On PostgreSQL the stream is fed through LISTEN/NOTIFY, as in production; on PGlite in memory.
  bus = onPostgres() ? new PostgresEventBus(db.url!, db.database.pool, { warn: () => {} }) : new LocalEventBus()
  t = await createTestApp({
    env: { SSE_HEARTBEAT_MS: '200' },
    db,
    events: bus,
    extend: (app) =>
      app.get<{ Params: { id: string } }>('/test/inbox-stream/:id', async (request, reply) => direct!.stream(request, reply, GPT, request.params.id, null)),
  })
  direct = new InboxStreams(bus, t.services.mail, 200, { warn: (object) => directWarnings.push(object) })
  await bus.ready(5000)
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
  gptKey = (await createGptWithKey(t.services, GPT)).token
  otherGptKey = (await createGptWithKey(t.services, OTHER_GPT)).token
  sender = await agent('sender')
  other = await agent('other')
})

afterAll(async () => {
  for (const stream of streams) stream.close()
  direct?.close()
  if (!appClosed) await t?.app.close()
  await bus?.close()
  await db?.drop()
})

describe('GET /v1/agents/{id}/inbox/stream', () => {
  it('answers with an event stream: content type, no caching, the request id, and a retry line first', async () => {
    const recipient = await agent('headers')
    const stream = await ready(inboxStream(recipient, gptKey, { 'x-request-id': 'sse-request-1' }))
    expect(stream.response.headers['content-type']).toMatch(/^text\/event-stream/)
    expect(stream.response.headers['cache-control']).toMatch(/no-cache/)
    expect(stream.response.headers['x-request-id']).toBe('sse-request-1')
    expect(stream.raw).toMatch(/^retry: \d+\n\n/)
    expect(stream.retry).toBeGreaterThan(0)
    expect(stream.events).toEqual([])
    // Without a request id of its own, the stream still gets one.
    const second = await ready(inboxStream(recipient, agentKeys.get(recipient)!))
    expect(second.response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    stream.close()
    second.close()
  })

  it('delivers a mail to every open stream of the recipient within a second, and to no one else', async () => {
    const recipient = await agent('recipient')
    const own = agentKeys.get(recipient)!
    const open = await Promise.all([inboxStream(recipient, own), inboxStream(recipient, gptKey), inboxStream(recipient, gptKey)].map(ready))
    const otherStream = await ready(inboxStream(other, agentKeys.get(other)!))
    const senderStream = await ready(inboxStream(sender, agentKeys.get(sender)!))

    const started = performance.now()
    const mail = await send(sender, [recipient], 'hello over SSE')
    for (const stream of open) {
      await stream.waitFor('the mail', (s) => s.events.length >= 1, 1000)
      expect(stream.events).toHaveLength(1)
      const [event] = stream.events
      expect(event!.at - started).toBeLessThan(1000)
      expect(event!.event).toBe('mail')
      const item = JSON.parse(event!.data) as InboxItem
      expect(item).toMatchObject({
        id: mail.id,
        gpt_id: GPT,
        from: sender,
        to: [{ agent_id: recipient, read_at: null }],
        content: 'hello over SSE',
        type: 'text',
        importance: 5,
        direction: 'received',
        read_at: null,
        created_at: mail.created_at,
      })
      expect(event!.id).toBe(item.event_id)
      expect(event!.id!.length).toBeGreaterThan(0)
    }
    // The same event (same position) on every stream.
    expect(new Set(open.map((stream) => stream.events[0]!.id)).size).toBe(1)

    // Mail to another agent reaches that agent's stream, not the recipient's.
    const elsewhere = await send(sender, [other], 'not for the recipient')
    await otherStream.waitFor('the other mail', (s) => s.events.length >= 1, 1000)
    expect(otherStream.mail().map((item) => item.id)).toEqual([elsewhere.id])
    // Both: one mail to two recipients.
    const both = await send(sender, [recipient, other], 'for both')
    for (const stream of [...open, otherStream]) await stream.waitFor('the shared mail', (s) => s.mail().some((item) => item.id === both.id), 1000)
    await sleep(300)
    for (const stream of open) expect(stream.mail().map((item) => item.id)).toEqual([mail.id, both.id])
    expect(otherStream.mail().map((item) => item.id)).toEqual([elsewhere.id, both.id])
    // The sender's own stream carries only what it receives: nothing here.
    expect(senderStream.events).toEqual([])
    for (const stream of [...open, otherStream, senderStream]) stream.close()
  })

  it('delivers mail sent one after another in the order it was sent (so that Last-Event-ID never skips one)', async () => {
    const recipient = await agent('ordered')
    const stream = await ready(inboxStream(recipient, gptKey))
    const sent: string[] = []
    for (let n = 0; n < 30; n++) sent.push((await send(sender, [recipient], `in order ${n}`)).id)
    await stream.waitFor('thirty mails', (s) => s.events.length >= 30, 3000)
    expect(stream.mail().map((item) => item.id)).toEqual(sent)
    stream.close()
  })

  it('keeps an idle stream alive with heartbeat comments every SSE_HEARTBEAT_MS', async () => {
    const recipient = await agent('idle')
    const stream = await ready(inboxStream(recipient, gptKey))
    const opened = performance.now()
    await stream.waitFor('three heartbeats', (s) => s.comments.length >= 3, 1500)
    expect(stream.comments.slice(0, 3).map((comment) => comment.text)).toEqual(['heartbeat', 'heartbeat', 'heartbeat'])
    // Every 200 ms: three take about 600 ms (not a burst, not the 15 s default).
    const third = stream.comments[2]!.at - opened
    expect(third).toBeGreaterThan(450)
    expect(third).toBeLessThan(1200)
    expect(stream.raw).toContain('\n\n: heartbeat\n\n')
    expect(stream.events).toEqual([])
    expect(stream.ended).toBe(false)
    stream.close()
  })

  it('replays exactly the mail after Last-Event-ID, oldest first, then continues live without duplicates', async () => {
    const recipient = await agent('replay')
    const watcher = await ready(inboxStream(recipient, gptKey))
    const sent: MailView[] = []
    for (let n = 1; n <= 5; n++) {
      sent.push(await send(sender, [recipient], `replay ${n}`))
      // Mail around it that the recipient's replay must skip: to someone else, and sent by it.
      await send(sender, [other], `noise ${n}`)
      await send(recipient, [other], `outgoing ${n}`)
    }
    await watcher.waitFor('five mails', (s) => s.events.length >= 5)
    watcher.close()
    const ids = watcher.events.map((event) => event.id!)
    expect(watcher.mail().map((item) => item.id)).toEqual(sent.map((mail) => mail.id))

    const resumed = await inboxStream(recipient, agentKeys.get(recipient)!, { 'last-event-id': ids[1]! })
    expect(resumed.status).toBe(200)
    await resumed.waitFor('the replay', (s) => s.events.length >= 3)
    await sleep(300)
    expect(resumed.mail().map((item) => item.content)).toEqual(['replay 3', 'replay 4', 'replay 5'])
    expect(resumed.events.map((event) => event.id)).toEqual(ids.slice(2))
    expect(resumed.events.every((event) => event.event === 'mail')).toBe(true)

    const live = await send(sender, [recipient], 'replay 6')
    await resumed.waitFor('the live mail', (s) => s.events.length >= 4, 1000)
    await sleep(300)
    expect(resumed.mail().map((item) => item.id)).toEqual([...sent.slice(2).map((mail) => mail.id), live.id])

    // A mail sent while the replay runs is delivered once, after the replayed ones.
    const racing = inboxStream(recipient, gptKey, { 'last-event-id': ids[3]! })
    const raced = await send(sender, [recipient], 'replay 7')
    const third = await racing
    await third.waitFor('replay and the racing mail', (s) => s.events.length >= 3)
    await sleep(300)
    expect(third.mail().map((item) => item.content)).toEqual(['replay 5', 'replay 6', 'replay 7'])
    expect(third.mail()[2]!.id).toBe(raced.id)

    // Resuming from the newest position replays nothing.
    const newest = third.events[2]!.id!
    const caughtUp = await ready(inboxStream(recipient, gptKey, { 'last-event-id': newest }))
    await sleep(300)
    expect(caughtUp.events).toEqual([])
    for (const stream of [resumed, third, caughtUp]) stream.close()
  })

  const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  it.each([
    ['not base64 JSON', 'definitely not a position'],
    ['JSON without a key', cursor({ s: 'inbox' })],
    ['a cursor of another list', cursor({ s: 'objects:desc', k: ['2025-01-01T00:00:00.000Z', '0190a1b2-0000-7000-8000-000000000000'] })],
    ['a bad time', cursor({ s: 'inbox', k: ['yesterday', '0190a1b2-0000-7000-8000-000000000000'] })],
    ['a bad id', cursor({ s: 'inbox', k: ['2025-01-01T00:00:00.000Z', 'nope'] })],
  ])('refuses a malformed Last-Event-ID (%s) with 400 before streaming', async (_case, lastEventId) => {
    const url = `/v1/agents/${other}/inbox/stream`
    const response = await t.app.inject({ method: 'GET', url, headers: { ...bearer(gptKey), 'last-event-id': lastEventId } })
    expectProblem(response, 400, url, 'invalid-cursor')
  })

  it('answers a malformed Last-Event-ID over a real connection with a problem, not a stream', async () => {
    const stream = await inboxStream(other, gptKey, { 'last-event-id': 'garbage' })
    await stream.waitFor('the end of the answer', (s) => s.ended)
    expect(stream.status).toBe(400)
    expect(stream.response.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(JSON.parse(stream.raw)).toMatchObject({ status: 400, type: '/problems/invalid-cursor' })
  })

  it('lets an agent key stream only its own agent (403), and refuses no key (401) and other GPTs (404)', async () => {
    const url = `/v1/agents/${other}/inbox/stream`
    expectProblem(await t.app.inject({ method: 'GET', url, headers: bearer(agentKeys.get(sender)!) }), 403, url, 'forbidden')
    expectProblem(await t.app.inject({ method: 'GET', url }), 401, url, 'unauthorized')
    expectProblem(await t.app.inject({ method: 'GET', url, headers: bearer(otherGptKey) }), 404, url, 'not-found')
    // The same over a real connection: a problem, never a stream.
    const refused = await inboxStream(other, agentKeys.get(sender)!)
    await refused.waitFor('the end of the answer', (s) => s.ended)
    expect(refused.status).toBe(403)
    expect(refused.response.headers['content-type']).toMatch(/^application\/problem\+json/)
    // Whereas the GPT key may stream any agent of its GPT, and the agent key its own.
    for (const token of [gptKey, agentKeys.get(other)!]) (await ready(inboxStream(other, token))).close()
  })

  it('forgets a stream whose client went away: later mail reaches the streams still open, and is not even loaded once none is', async () => {
    const recipient = await agent('closing')
    const inboxItem = vi.spyOn(t.services.mail, 'inboxItem')
    try {
      const open = await Promise.all([0, 1, 2].map(() => ready(inboxStream(recipient, gptKey))))
      const first = await send(sender, [recipient], 'to three')
      for (const stream of open) await stream.waitFor('the first mail', (s) => s.events.length >= 1, 1000)
      // Loaded once for the three streams of the agent, not once per stream (100 streams would be 300 queries a mail).
      expect(inboxItem.mock.calls.filter(([, , mailId]) => mailId === first.id)).toHaveLength(1)

      const logsBefore = t.logs.length
      open[0]!.close()
      open[1]!.close()
      await sleep(300)
      const second = await send(sender, [recipient], 'to one')
      await open[2]!.waitFor('the second mail', (s) => s.events.length >= 2, 1000)
      expect(open[2]!.mail().map((item) => item.id)).toEqual([first.id, second.id])

      // Closing the last one too: the next mail is loaded for nobody.
      open[2]!.close()
      await sleep(300)
      const third = await send(sender, [recipient], 'to none')
      await sleep(300)
      expect(inboxItem.mock.calls.filter(([, , mailId]) => mailId === third.id)).toHaveLength(0)
      expect(t.logs.slice(logsBefore).filter((line) => typeof line.level === 'number' && line.level >= 40)).toEqual([])
    } finally {
      inboxItem.mockRestore()
    }
  })

  it('counts its open streams: each client that goes away is dropped, and closeAll ends the rest', async () => {
    const recipient = await agent('counted')
    const streams = direct!
    expect(streams.openCount).toBe(0)
    const open = await Promise.all([0, 1, 2].map(() => ready(openStream(`/test/inbox-stream/${recipient}`, bearer(gptKey)))))
    expect(streams.openCount).toBe(3)
    const first = await send(sender, [recipient], 'counted 1')
    for (const stream of open) await stream.waitFor('the mail', (s) => s.mail().some((item) => item.id === first.id), 1000)

    open[0]!.close()
    open[1]!.close()
    await waitUntil('two streams dropped', () => streams.openCount === 1)
    const second = await send(sender, [recipient], 'counted 2')
    await open[2]!.waitFor('the second mail', (s) => s.events.length >= 2, 1000)
    expect(open[2]!.mail().map((item) => item.id)).toEqual([first.id, second.id])

    const lastOne = await ready(openStream(`/test/inbox-stream/${recipient}`, bearer(gptKey)))
    expect(streams.openCount).toBe(2)
    streams.closeAll()
    expect(streams.openCount).toBe(0)
    for (const stream of [open[2]!, lastOne]) await stream.waitFor('the end of the stream', (s) => s.ended, 1000)
    // Mail after that goes nowhere, quietly.
    await send(sender, [recipient], 'counted 3')
    await sleep(300)
    expect(lastOne.events).toEqual([])
    expect(directWarnings).toEqual([])
  })

  // Last: it closes the app.
  it('ends the open streams when the app closes, so that close returns promptly', async () => {
    const recipient = await agent('shutdown')
    const open = await Promise.all([inboxStream(recipient, gptKey), inboxStream(other, gptKey), inboxStream(recipient, agentKeys.get(recipient)!)].map(ready))
    const started = performance.now()
    await t.app.close()
    appClosed = true
    expect(performance.now() - started).toBeLessThan(2000)
    for (const stream of open) await stream.waitFor('the end of the stream', (s) => s.ended, 1000)
    expect(open.every((stream) => stream.ended)).toBe(true)
  })
})
