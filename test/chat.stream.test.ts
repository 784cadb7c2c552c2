import { request as httpRequest } from 'node:http'
import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startFakeLlmServer, type FakeLlmServer } from './helpers/fake-llm-server.js'
import { LocalEventBus } from '../src/platform/events/event-bus.js'
import { expectProblem } from './helpers/problem.js'
import { openSseStream, SseStream } from './helpers/sse.js'
import { bearer, createGptWithKey, createTestApp, type TestApp, injectJson } from './helpers/test-app.js'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'
import type { SessionView } from '../src/modules/chat/sessions.schemas.js'

/**
 * Generations over real HTTP: a client that goes away does not stop them, GET
 * /v1/messages/{id}/stream reattaches from an offset (query or Last-Event-ID), the text is saved
 * while it arrives, and a generation a stopped process left behind is marked interrupted and resumed.
 */

type Status = 'pending' | 'in_progress' | 'complete' | 'failed'
interface Delta {
  offset: number
  text: string
}

const GPT = 'stream-gpt'
const OTHER = 'stream-other'
const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'
const WAIT_MS = 15_000
const TOKENS = ['Once', ' upon', ' a', ' time', ' there', ' was', ' a', ' small', ' river', '.']
const FULL = TOKENS.join('')

let llm: FakeLlmServer
let t: TestApp
let base: string
let writer: string
let otherWriter: string
let character: { id: string }
/** The event bus between "processes": this file's apps over one database. */
const events = new LocalEventBus()

const llmEnv = (server: FakeLlmServer) => ({
  LLM_PROVIDER: 'openai',
  LLM_BASE_URL: server.openaiBaseUrl,
  LLM_API_KEY: 'sk-test',
  PARTIAL_SAVE_MS: '50',
})

beforeAll(async () => {
  llm = await startFakeLlmServer()
  t = await createTestApp({ env: llmEnv(llm), events })
  base = await listen(t)
  writer = (await createGptWithKey(t.services, GPT)).token
  otherWriter = (await createGptWithKey(t.services, OTHER)).token
  character = await ok('POST', `/v1/gpts/${GPT}/characters`, { name: 'Teller', agent_role: 'You tell stories.' })
})

afterAll(async () => {
  await t?.close()
  await llm?.close()
})

beforeEach(() => {
  llm.setDefault({})
  llm.release()
})

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

async function listen(app: TestApp): Promise<string> {
  await app.app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.app.server.address()
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
}

function call(method: Method, url: string, payload?: unknown, token = writer, app = t, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return injectJson(app.app, method, url, { ...bearer(token), ...headers }, payload)
}

async function ok<T>(method: Method, url: string, payload?: unknown, token = writer): Promise<T> {
  const response = await call(method, url, payload, token)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(method === 'POST' ? 201 : 200)
  return response.json<T>()
}

const generateUrl = (sessionId: string) => `/v1/sessions/${sessionId}/generate`
const resumeUrl = (sessionId: string) => `/v1/sessions/${sessionId}/resume`
const streamUrl = (messageId: string, offset?: number) => `/v1/messages/${messageId}/stream${offset === undefined ? '' : `?offset=${offset}`}`
const getMessage = (id: string) => ok<MessageView>('GET', `/v1/messages/${id}`)

async function sessionWithQuestion(question = 'Tell me a story.'): Promise<SessionView> {
  const session = await ok<SessionView>('POST', `/v1/gpts/${GPT}/sessions`, { user_id: 'alice', character_id: character.id })
  await ok('POST', `/v1/sessions/${session.id}/messages`, { sender: 'user', content: question })
  return session
}

/** The session's AI message (the one a generation just created). */
async function aiMessage(sessionId: string): Promise<MessageView> {
  const messages = (await ok<{ messages: MessageView[] }>('GET', `/v1/sessions/${sessionId}/messages`)).messages.filter((m) => m.sender === 'ai')
  expect(messages).toHaveLength(1)
  return messages[0]!
}

async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Polls the stored message until it has `status` (bounded). */
async function settled(id: string, status: Status = 'complete'): Promise<MessageView> {
  let message = await getMessage(id)
  await until(`message ${id} to be ${status}`, async () => (message = await getMessage(id)).status === status)
  return message
}

function postSse(path: string, body: unknown): Promise<SseStream> {
  const payload = JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${base}${path}`,
      {
        method: 'POST',
        agent: false,
        headers: { ...bearer(writer), accept: 'text/event-stream', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) },
      },
      (response) => resolve(new SseStream(response, request)),
    )
    request.on('error', reject)
    request.end(payload)
  })
}

const follow = (path: string, headers: Record<string, string> = {}, token = writer, at = base) => openSseStream(`${at}${path}`, { ...bearer(token), ...headers })
const isEnded = (stream: SseStream) => stream.ended || stream.events.some((event) => event.event === 'done' || event.event === 'error')
const deltasOf = (stream: SseStream) => stream.events.filter((event) => event.event === 'delta').map((event) => ({ ...(JSON.parse(event.data) as Delta), id: event.id }))
const deltaText = (stream: SseStream) => deltasOf(stream).map((delta) => delta.text).join('')
const connections = () => new Promise<number>((resolve, reject) => t.app.server.getConnections((error, count) => (error ? reject(error) : resolve(count))))

/** message, then contiguous deltas from `start` (ids = end offsets), then exactly one done/error, and the connection ends. */
async function expectWholeStream(stream: SseStream, start: number, end: 'done' | 'error' = 'done') {
  await stream.waitFor('the end of the stream', isEnded, WAIT_MS)
  await stream.waitFor('the connection to end', (s) => s.ended, WAIT_MS)
  expect(stream.status).toBe(200)
  const names = stream.events.map((event) => event.event)
  expect(names[0], stream.raw).toBe('message')
  expect(names[names.length - 1], stream.raw).toBe(end)
  expect(names.slice(1, -1).every((name) => name === 'delta'), stream.raw).toBe(true)
  let offset = start
  for (const delta of deltasOf(stream)) {
    expect(delta.offset, stream.raw).toBe(offset)
    offset += delta.text.length
    expect(delta.id).toBe(String(offset))
  }
  return JSON.parse(stream.events[stream.events.length - 1]!.data) as MessageView & { error?: string; message?: MessageView }
}

describe('a client that disconnects', () => {
  it('does not stop the generation: the message still completes with the whole reply', async () => {
    const session = await sessionWithQuestion()
    const baseline = await connections()
    llm.script({ tokens: TOKENS, hold: 3 })
    const stream = await postSse(generateUrl(session.id), {})
    await stream.waitFor('two deltas', (s) => deltaText(s).length >= 'Once upon'.length, WAIT_MS)
    const id = (JSON.parse(stream.events[0]!.data) as MessageView).id
    stream.close()
    // The server saw the client go away before the provider goes on.
    await until('the server to see the disconnect', async () => (await connections()) <= baseline)
    expect(llm.release()).toBe(1)
    const message = await settled(id)
    expect(message).toMatchObject({ status: 'complete', content: FULL, partial_content: FULL, error_message: null })
    // The provider's stream was read to its end, not cut.
    await until('the provider stream to close', () => llm.openStreams() === 0)
  })
})

describe('reattaching with GET /v1/messages/{id}/stream', () => {
  it.each([
    { name: 'offset 0', offset: 0 },
    { name: 'an offset inside the text so far', offset: 6 },
    { name: 'the offset where the text so far ends', offset: 'Once upon a'.length },
    { name: 'an offset past the text so far', offset: 'Once upon a time there'.length },
  ])('mid-generation from $name: the text after it, then the live deltas, then done', async ({ offset }) => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: TOKENS, hold: 3 })
    const running = call('POST', generateUrl(session.id), {})
    await llm.held()
    const { id } = await aiMessage(session.id)
    const stream = await follow(streamUrl(id, offset))
    try {
      await stream.waitFor('the message event', (s) => s.events.length >= 1, WAIT_MS)
      const first = JSON.parse(stream.events[0]!.data) as MessageView
      expect(first).toMatchObject({ id, status: 'in_progress' })
      // What was generated before the stream opened is replayed before anything live.
      if (offset < 'Once upon a'.length) {
        await stream.waitFor('the replayed text', (s) => deltaText(s) === 'Once upon a'.slice(offset), WAIT_MS)
      }
      expect(llm.release()).toBe(1)
      const done = await expectWholeStream(stream, offset)
      expect(done).toMatchObject({ id, status: 'complete', content: FULL })
      expect(FULL.slice(0, offset) + deltaText(stream)).toBe(FULL)
      expect((await running).statusCode).toBe(201)
    } finally {
      stream.close()
    }
  })

  it('serves several followers of one generation the same text', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: TOKENS, hold: 2, delayMs: 2 })
    const running = call('POST', generateUrl(session.id), {})
    await llm.held()
    const { id } = await aiMessage(session.id)
    const streams = await Promise.all([follow(streamUrl(id)), follow(streamUrl(id, 3)), follow(streamUrl(id), { 'last-event-id': '5' })])
    try {
      await Promise.all(streams.map((stream) => stream.waitFor('the message event', (s) => s.events.length >= 1, WAIT_MS)))
      llm.release()
      for (const [stream, offset] of [
        [streams[0]!, 0],
        [streams[1]!, 3],
        [streams[2]!, 5],
      ] as const) {
        await expectWholeStream(stream, offset)
        expect(deltaText(stream)).toBe(FULL.slice(offset))
      }
      expect((await running).statusCode).toBe(201)
    } finally {
      for (const stream of streams) stream.close()
    }
  })

  it('after completion: replays from the offset and ends at once', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: TOKENS })
    const message = (await call('POST', generateUrl(session.id), {})).json<MessageView>()
    expect(message.content).toBe(FULL)
    for (const offset of [undefined, 0, 5, FULL.length - 1, FULL.length, FULL.length + 10]) {
      const stream = await follow(streamUrl(message.id, offset))
      try {
        const done = await expectWholeStream(stream, offset ?? 0)
        expect(done).toMatchObject({ id: message.id, status: 'complete', content: FULL })
        expect(deltaText(stream)).toBe(FULL.slice(offset ?? 0))
        expect(deltasOf(stream).length).toBe((offset ?? 0) < FULL.length ? 1 : 0)
      } finally {
        stream.close()
      }
    }
  })

  it('takes the offset from Last-Event-ID (the query wins when both are given)', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: TOKENS })
    const message = (await call('POST', generateUrl(session.id), {})).json<MessageView>()
    const byHeader = await follow(streamUrl(message.id), { 'last-event-id': '9' })
    const both = await follow(streamUrl(message.id, 4), { 'last-event-id': '9' })
    try {
      await expectWholeStream(byHeader, 9)
      expect(deltaText(byHeader)).toBe(FULL.slice(9))
      await expectWholeStream(both, 4)
      expect(deltaText(both)).toBe(FULL.slice(4))
    } finally {
      byHeader.close()
      both.close()
    }
  })

  it('reconnecting with the last id seen picks up exactly where the first stream stopped', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: TOKENS, hold: 4 })
    const first = await postSse(generateUrl(session.id), {})
    await llm.held()
    await first.waitFor('the held text', (s) => deltaText(s) === 'Once upon a time', WAIT_MS)
    const id = (JSON.parse(first.events[0]!.data) as MessageView).id
    const lastId = deltasOf(first).at(-1)!.id!
    const seen = deltaText(first)
    first.close()
    const second = await follow(streamUrl(id), { 'last-event-id': lastId })
    try {
      await second.waitFor('the message event', (s) => s.events.length >= 1, WAIT_MS)
      llm.release()
      await expectWholeStream(second, Number(lastId))
      expect(seen + deltaText(second)).toBe(FULL)
    } finally {
      second.close()
    }
  })

  it('ends a failed message\'s stream with its kept text and an error event', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: TOKENS, failAfter: 4 })
    const problem = expectProblem(await call('POST', generateUrl(session.id), {}), 502, generateUrl(session.id), 'bad-gateway')
    const stream = await follow(streamUrl(problem.message_id as string, 5))
    try {
      const error = await expectWholeStream(stream, 5, 'error')
      expect(deltaText(stream)).toBe('Once upon a time'.slice(5))
      expect(error.error).toEqual(expect.any(String))
      expect(error.message).toMatchObject({ id: problem.message_id, status: 'failed', partial_content: 'Once upon a time' })
    } finally {
      stream.close()
    }
  })

  it('tells followers when the message is deleted mid-generation; the generate request answers 404', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: TOKENS, hold: 2 })
    const running = call('POST', generateUrl(session.id), {})
    await llm.held()
    const { id } = await aiMessage(session.id)
    const stream = await follow(streamUrl(id))
    try {
      await stream.waitFor('the message event', (s) => s.events.length >= 1, WAIT_MS)
      expect((await call('DELETE', `/v1/sessions/${session.id}`)).statusCode).toBe(204)
      llm.release()
      const end = await expectWholeStream(stream, 0, 'error')
      expect(end).toMatchObject({ message: null })
      expectProblem(await running, 404, generateUrl(session.id), 'not-found')
    } finally {
      stream.close()
    }
  })

  it('answers 404 for an unknown message and another GPT\'s, 422 for a bad offset', async () => {
    const theirs = await ok<SessionView>('POST', `/v1/gpts/${OTHER}/sessions`, { user_id: 'alice' }, otherWriter)
    const theirMessage = await ok<MessageView>('POST', `/v1/sessions/${theirs.id}/messages`, { sender: 'ai', status: 'failed', partial_content: 'their secret', error_message: 'x' }, otherWriter)
    for (const id of [MISSING_ID, theirMessage.id]) {
      const response = await call('GET', streamUrl(id), undefined, writer, t, { accept: 'text/event-stream' })
      expectProblem(response, 404, streamUrl(id), 'not-found')
      expect(response.body).not.toContain('their secret')
    }
    const session = await sessionWithQuestion()
    const { id } = await ok<MessageView>('POST', `/v1/sessions/${session.id}/messages`, { sender: 'ai', content: 'done already' })
    for (const query of ['offset=-1', 'offset=1.5', 'offset=abc', 'from=1']) {
      const url = `/v1/messages/${id}/stream?${query}`
      expectProblem(await call('GET', url), 422, url, 'validation-failed')
    }
    expectProblem(await call('GET', streamUrl(id), undefined, writer, t, { 'last-event-id': 'abc' }), 422, streamUrl(id), 'validation-failed')
    expectProblem(await call('GET', '/v1/messages/nope/stream'), 422, '/v1/messages/nope/stream', 'validation-failed')
  })
})

describe('following from another process (app) over the same database and event bus', () => {
  it('sees the text as it is saved, then the end', async () => {
    const other = await createTestApp({ db: t.db, env: llmEnv(llm), events })
    try {
      const otherBase = await listen(other)
      const session = await sessionWithQuestion()
      llm.script({ tokens: TOKENS, hold: 3 })
      const running = call('POST', generateUrl(session.id), {})
      await llm.held()
      const { id } = await aiMessage(session.id)
      const stream = await follow(streamUrl(id), {}, writer, otherBase)
      try {
        // Only what the generating process saved reaches the other one.
        await stream.waitFor('the saved text', (s) => deltaText(s) === 'Once upon a', WAIT_MS)
        llm.release()
        const done = await expectWholeStream(stream, 0)
        expect(done).toMatchObject({ id, status: 'complete', content: FULL })
        expect(deltaText(stream)).toBe(FULL)
        expect((await running).statusCode).toBe(201)
      } finally {
        stream.close()
      }
    } finally {
      await other.close()
    }
  })

  it('ends the followers of a generation marked interrupted, in this process and in the others', async () => {
    const other = await createTestApp({ db: t.db, env: llmEnv(llm), events })
    try {
      const otherBase = await listen(other)
      const session = await sessionWithQuestion()
      // Left in progress by a process that is gone.
      const stuck = await ok<MessageView>('POST', `/v1/sessions/${session.id}/messages`, { sender: 'ai', status: 'in_progress', partial_content: 'Once upon' })
      const here = await follow(streamUrl(stuck.id))
      const there = await follow(streamUrl(stuck.id), {}, writer, otherBase)
      try {
        for (const stream of [here, there]) await stream.waitFor('the replayed text', (s) => deltaText(s) === 'Once upon', WAIT_MS)
        expect(await t.services.generation.recoverInterrupted(false)).toBe(1)
        for (const stream of [here, there]) {
          const end = await expectWholeStream(stream, 0, 'error')
          expect(end.message).toMatchObject({ id: stuck.id, status: 'failed', partial_content: 'Once upon' })
          expect(end.error).toMatch(/interrupted/i)
        }
      } finally {
        here.close()
        there.close()
      }
    } finally {
      await other.close()
    }
  })
})

describe('saving the text while it arrives', () => {
  it('stores partial_content during the generation (PARTIAL_SAVE_MS=50), before the provider finishes', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: TOKENS, hold: 3 })
    const running = call('POST', generateUrl(session.id), {})
    await llm.held()
    const { id } = await aiMessage(session.id)
    let stored = await getMessage(id)
    await until('the partial to be saved', async () => (stored = await getMessage(id)).partial_content === 'Once upon a')
    expect(stored).toMatchObject({ status: 'in_progress', content: '', partial_content: 'Once upon a' })
    // In the database itself, not only in this process's memory.
    const row = await t.db.database.db.selectFrom('chat_messages').select(['status', 'partial_content']).where('id', '=', id).executeTakeFirstOrThrow()
    expect(row).toEqual({ status: 'in_progress', partial_content: 'Once upon a' })
    llm.release()
    expect((await running).json<MessageView>()).toMatchObject({ status: 'complete', content: FULL })
  })
})

describe('generations a stopped process left behind', () => {
  it('recoverInterrupted(true) on a second app marks the generation failed "interrupted" with its saved text; resume completes it', async () => {
    const doomed = await createTestApp({ db: t.db, env: llmEnv(llm) })
    let closed = false
    try {
      const session = await sessionWithQuestion()
      llm.script({ tokens: TOKENS, hold: 4 })
      const running = call('POST', generateUrl(session.id), {}, writer, doomed)
      await llm.held()
      const { id } = await aiMessage(session.id)
      await until('the partial to be saved', async () => (await getMessage(id)).partial_content === 'Once upon a time')

      // The process that starts next (embedded: the only one) marks every unfinished generation.
      expect(await t.services.generation.recoverInterrupted(true)).toBe(1)
      const failed = await getMessage(id)
      expect(failed).toMatchObject({ status: 'failed', partial_content: 'Once upon a time', content: '' })
      expect(failed.error_message).toMatch(/interrupted/i)

      // The old process is gone for good (its abort changes nothing now).
      await doomed.close()
      closed = true
      await running.catch(() => undefined)
      expect(await getMessage(id)).toMatchObject({ status: 'failed', partial_content: 'Once upon a time' })

      llm.script({ tokens: [' there', ' was', ' a', ' small', ' river', '.'] })
      const resumed = await call('POST', resumeUrl(session.id), {})
      expect(resumed.statusCode, resumed.body).toBe(200)
      expect(resumed.json<MessageView>()).toMatchObject({ id, status: 'complete', content: FULL, error_message: null })
      const last = llm.requests.at(-1)!.body.messages!
      expect(last.at(-2)).toEqual({ role: 'assistant', content: 'Once upon a time' })
    } finally {
      if (!closed) await doomed.close()
    }
  })

  it('a stopping app stores its running generation failed with its text, for resume', async () => {
    const stopping = await createTestApp({ db: t.db, env: llmEnv(llm) })
    let closed = false
    try {
      const session = await sessionWithQuestion()
      llm.script({ tokens: TOKENS, hold: 2 })
      const running = call('POST', generateUrl(session.id), {}, writer, stopping)
      await llm.held()
      const { id } = await aiMessage(session.id)
      await until('the service to have the held text', async () => (await getMessage(id)).partial_content === 'Once upon')
      await stopping.close()
      closed = true
      await running.catch(() => undefined)
      const stopped = await getMessage(id)
      expect(stopped).toMatchObject({ status: 'failed', partial_content: 'Once upon' })
      expect(stopped.error_message).toMatch(/interrupted/i)
      llm.script({ tokens: TOKENS.slice(2) })
      const resumed = await call('POST', resumeUrl(session.id), {})
      expect(resumed.statusCode, resumed.body).toBe(200)
      expect(resumed.json<MessageView>()).toMatchObject({ id, status: 'complete', content: FULL })
    } finally {
      if (!closed) await stopping.close()
    }
  })

  it('recoverInterrupted(false) marks only generations no live lease holds', async () => {
    // A live generation (its session lease is current): left alone.
    const live = await sessionWithQuestion()
    llm.script({ tokens: TOKENS, hold: 2 })
    const running = call('POST', generateUrl(live.id), {})
    await llm.held()
    const liveMessage = await aiMessage(live.id)
    // An in-progress message no generation holds (a client wrote it): marked.
    const orphanSession = await sessionWithQuestion()
    const orphan = await ok<MessageView>('POST', `/v1/sessions/${orphanSession.id}/messages`, { sender: 'ai', status: 'in_progress', partial_content: 'Orphaned te' })
    // An in-progress message in the live session whose lease belongs to the other message: marked.
    const stray = await ok<MessageView>('POST', `/v1/sessions/${live.id}/messages`, { sender: 'ai', status: 'in_progress', partial_content: 'Stray' })

    expect(await t.services.generation.recoverInterrupted(false)).toBe(2)
    expect(await getMessage(orphan.id)).toMatchObject({ status: 'failed', partial_content: 'Orphaned te', error_message: expect.stringMatching(/interrupted/i) })
    expect(await getMessage(stray.id)).toMatchObject({ status: 'failed', error_message: expect.stringMatching(/interrupted/i) })
    expect((await getMessage(liveMessage.id)).status).toBe('in_progress')

    llm.release()
    expect((await running).json<MessageView>()).toMatchObject({ id: liveMessage.id, status: 'complete', content: FULL })
  })

  it('recoverInterrupted(false) marks a generation whose process stopped renewing its lease', async () => {
    const dead = await createTestApp({ db: t.db, env: llmEnv(llm) })
    let closed = false
    try {
      const session = await sessionWithQuestion()
      llm.script({ tokens: TOKENS, hold: 3 })
      const running = call('POST', generateUrl(session.id), {}, writer, dead)
      await llm.held()
      const { id } = await aiMessage(session.id)
      await until('the partial to be saved', async () => (await getMessage(id)).partial_content === 'Once upon a')
      expect(await t.services.generation.recoverInterrupted(false)).toBe(0)
      // 30 s later, as far as the lease is concerned.
      await sql`update chat_sessions set generation_lease_until = now() - interval '1 second' where id = ${session.id}`.execute(t.db.database.db)
      expect(await t.services.generation.recoverInterrupted(false)).toBe(1)
      expect(await getMessage(id)).toMatchObject({ status: 'failed', partial_content: 'Once upon a', error_message: expect.stringMatching(/interrupted/i) })
      await dead.close()
      closed = true
      await running.catch(() => undefined)
      llm.script({ tokens: TOKENS.slice(3) })
      const resumed = await call('POST', resumeUrl(session.id), {})
      expect(resumed.statusCode, resumed.body).toBe(200)
      expect(resumed.json<MessageView>()).toMatchObject({ id, status: 'complete', content: FULL })
    } finally {
      if (!closed) await dead.close()
    }
  })
})

describe('a message a client generates itself (PATCH progress)', () => {
  it('streams its saved progress to followers, then its end', async () => {
    const session = await sessionWithQuestion()
    const message = await ok<MessageView>('POST', `/v1/sessions/${session.id}/messages`, { sender: 'ai', status: 'in_progress', partial_content: 'Once' })
    const stream = await follow(streamUrl(message.id))
    await stream.waitFor('the stored text', (s) => deltaText(s) === 'Once', WAIT_MS)
    await ok('PATCH', `/v1/messages/${message.id}`, { partial_content: 'Once upon' })
    await stream.waitFor('the PATCHed progress', (s) => deltaText(s) === 'Once upon', WAIT_MS)
    await ok('PATCH', `/v1/messages/${message.id}`, { status: 'complete', content: 'Once upon a time.' })
    const done = await expectWholeStream(stream, 0)
    expect(done).toMatchObject({ id: message.id, status: 'complete', content: 'Once upon a time.' })
    expect(deltaText(stream)).toBe('Once upon a time.')
  })
})
