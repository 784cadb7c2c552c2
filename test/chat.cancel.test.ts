import { request as httpRequest } from 'node:http'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { LocalEventBus } from '../src/platform/events/event-bus.js'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'
import type { SessionView } from '../src/modules/chat/sessions.schemas.js'
import { startFakeLlmServer, type FakeLlmServer } from './helpers/fake-llm-server.js'
import { expectProblem } from './helpers/problem.js'
import { openSseStream, SseStream } from './helpers/sse.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

/**
 * POST /v1/messages/{id}/cancel: a running generation stops on whichever process runs it, the text so
 * far is kept as `cancelled`, followers of its stream get a final `cancelled` event, and resume
 * continues it later. Two apps over one database and one event bus stand for two processes.
 */

const GPT = 'cancel-gpt'
const OTHER = 'cancel-other'
const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'
const WAIT_MS = 15_000
const TOKENS = ['Once', ' upon', ' a', ' time', ' there', ' was', ' a', ' river', '.']
const HELD = 'Once upon a'

let llm: FakeLlmServer
/** The process that generates (listening, for the streams). */
let a: TestApp
/** Another process over the same database and bus. */
let b: TestApp
let baseA: string
let baseB: string
let writer: string
let reader: string
let otherWriter: string
let character: { id: string }
const events = new LocalEventBus()

beforeAll(async () => {
  llm = await startFakeLlmServer()
  const env = { LLM_PROVIDER: 'openai', LLM_BASE_URL: llm.openaiBaseUrl, LLM_API_KEY: 'sk-test', PARTIAL_SAVE_MS: '50' }
  a = await createTestApp({ env, events })
  b = await createTestApp({ env, events, db: a.db })
  baseA = await listen(a)
  baseB = await listen(b)
  writer = (await createGptWithKey(a.services, GPT)).token
  reader = (await createGptWithKey(a.services, GPT, ['read'])).token
  otherWriter = (await createGptWithKey(a.services, OTHER)).token
  character = await ok('POST', `/v1/gpts/${GPT}/characters`, { name: 'Teller', agent_role: 'You tell stories.' })
})

afterAll(async () => {
  await b?.close()
  await a?.close()
  await llm?.close()
})

beforeEach(() => {
  llm.setDefault({})
  llm.release()
})

type Method = 'GET' | 'POST'

async function listen(app: TestApp): Promise<string> {
  await app.app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.app.server.address()
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
}

function call(method: Method, url: string, payload?: unknown, token = writer, app = a): Promise<LightMyRequestResponse> {
  return injectJson(app.app, method, url, bearer(token), payload)
}

async function ok<T>(method: Method, url: string, payload?: unknown, token = writer): Promise<T> {
  const response = await call(method, url, payload, token)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(method === 'POST' ? 201 : 200)
  return response.json<T>()
}

const cancelUrl = (id: string) => `/v1/messages/${id}/cancel`
async function cancel(id: string): Promise<MessageView> {
  const response = await call('POST', cancelUrl(id))
  expect(response.statusCode, response.body).toBe(200)
  return response.json<MessageView>()
}
const getMessage = (id: string) => ok<MessageView>('GET', `/v1/messages/${id}`)

async function sessionWithQuestion(token = writer, gpt = GPT): Promise<SessionView> {
  const session = await ok<SessionView>('POST', `/v1/gpts/${gpt}/sessions`, { user_id: 'alice', ...(gpt === GPT ? { character_id: character.id } : {}) }, token)
  await ok('POST', `/v1/sessions/${session.id}/messages`, { sender: 'user', content: 'Tell me a story.' }, token)
  return session
}

function postSse(base: string, path: string, body: unknown): Promise<SseStream> {
  const payload = JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${base}${path}`,
      { method: 'POST', agent: false, headers: { ...bearer(writer), accept: 'text/event-stream', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } },
      (response) => resolve(new SseStream(response, request)),
    )
    request.on('error', reject)
    request.end(payload)
  })
}

const deltaText = (stream: SseStream) =>
  stream.events
    .filter((event) => event.event === 'delta')
    .map((event) => (JSON.parse(event.data) as { text: string }).text)
    .join('')
const lastEvent = (stream: SseStream) => stream.events.at(-1)

/** Starts a streamed generation on A held after three tokens; returns the stream and the AI message id once the held text is out. */
async function heldGeneration(session: SessionView): Promise<{ stream: SseStream; id: string }> {
  llm.script({ tokens: TOKENS, hold: 3 })
  const stream = await postSse(baseA, `/v1/sessions/${session.id}/generate`, {})
  await stream.waitFor('the held text', (s) => deltaText(s) === HELD, WAIT_MS)
  const id = (JSON.parse(stream.events[0]!.data) as MessageView).id
  return { stream, id }
}

describe('cancelling a running generation', () => {
  it.each([
    { name: 'on the process that runs it', app: () => a },
    { name: 'on another process (over the event bus)', app: () => b },
  ])('$name: the text so far is kept, the message is cancelled, and every follower gets the final event', async ({ app }) => {
    const session = await sessionWithQuestion()
    const { stream, id } = await heldGeneration(session)
    const followers = await Promise.all([openSseStream(`${baseA}/v1/messages/${id}/stream`, bearer(writer)), openSseStream(`${baseB}/v1/messages/${id}/stream`, bearer(writer))])
    try {
      for (const follower of followers) await follower.waitFor('the held text', (s) => deltaText(s) === HELD, WAIT_MS)
      const response = await call('POST', cancelUrl(id), undefined, writer, app())
      expect(response.statusCode, response.body).toBe(200)
      expect(response.json<MessageView>()).toMatchObject({ id, status: 'cancelled', content: '', partial_content: HELD, error_message: null })
      for (const follower of [stream, ...followers]) {
        await follower.waitFor('the cancelled event', (s) => lastEvent(s)?.event === 'cancelled', WAIT_MS)
        expect(JSON.parse(lastEvent(follower)!.data)).toMatchObject({ id, status: 'cancelled', partial_content: HELD })
        expect(deltaText(follower)).toBe(HELD)
        await follower.waitFor('the end of the stream', (s) => s.ended, WAIT_MS)
      }
      expect(await getMessage(id)).toMatchObject({ status: 'cancelled', partial_content: HELD })
      // The lease is free: the session takes a new generation at once.
      llm.script({ tokens: [' and', ' more.'] })
      expect((await call('POST', `/v1/sessions/${session.id}/resume`, {})).statusCode).toBe(200)
    } finally {
      for (const follower of [stream, ...followers]) follower.close()
    }
  })

  it('answers a request that waits for the reply (no stream) with the cancelled message', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: TOKENS, hold: 3 })
    const waiting = call('POST', `/v1/sessions/${session.id}/generate`, {})
    await llm.held()
    const [ai] = (await ok<{ messages: MessageView[] }>('GET', `/v1/sessions/${session.id}/messages`)).messages.filter((m) => m.sender === 'ai')
    // The process that runs it reads the text so far live.
    for (let tries = 0; (await getMessage(ai!.id)).partial_content !== HELD; tries++) {
      expect(tries, 'the held text to arrive').toBeLessThan(500)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await cancel(ai!.id)
    const response = await waiting
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json<MessageView>()).toMatchObject({ id: ai!.id, status: 'cancelled', partial_content: HELD })
  })

  it('is safe to retry: a cancelled message answers 200 with itself again, unchanged', async () => {
    const session = await sessionWithQuestion()
    const { stream, id } = await heldGeneration(session)
    try {
      const first = await cancel(id)
      const again = await call('POST', cancelUrl(id), undefined, writer, b)
      expect(again.statusCode).toBe(200)
      expect(again.json<MessageView>()).toEqual(first)
    } finally {
      stream.close()
    }
  })

  it('resume continues a cancelled message from its kept text', async () => {
    const session = await sessionWithQuestion()
    const { stream, id } = await heldGeneration(session)
    stream.close()
    await cancel(id)
    llm.script({ tokens: [' time', '.'] })
    const resumed = await call('POST', `/v1/sessions/${session.id}/resume`, {})
    expect(resumed.statusCode, resumed.body).toBe(200)
    expect(resumed.json<MessageView>()).toMatchObject({ id, status: 'complete', content: `${HELD} time.` })
  })

  it('stops a message that no process generates (a client writes it) with the text it saved', async () => {
    const session = await sessionWithQuestion()
    const ai = await ok<MessageView>('POST', `/v1/sessions/${session.id}/messages`, { sender: 'ai', status: 'in_progress', partial_content: 'Half a' })
    const cancelled = await cancel(ai.id)
    expect(cancelled).toMatchObject({ id: ai.id, status: 'cancelled', partial_content: 'Half a' })
    llm.script({ tokens: [' river.'] })
    const resumed = await call('POST', `/v1/sessions/${session.id}/resume`, {})
    expect(resumed.statusCode, resumed.body).toBe(200)
    expect(resumed.json<MessageView>()).toMatchObject({ id: ai.id, status: 'complete', content: 'Half a river.' })
  })
})

describe('what cannot be cancelled', () => {
  const cases: { name: string; status: number; type: string; target: () => Promise<string>; token?: () => string }[] = [
    {
      name: 'a complete message',
      status: 409,
      type: 'conflict',
      target: async () => (await call('POST', `/v1/sessions/${(await sessionWithQuestion()).id}/generate`, {})).json<MessageView>().id,
    },
    {
      name: 'a failed message',
      status: 409,
      type: 'conflict',
      target: async () => {
        const session = await sessionWithQuestion()
        return (await ok<MessageView>('POST', `/v1/sessions/${session.id}/messages`, { sender: 'ai', status: 'failed', partial_content: 'x' })).id
      },
    },
    {
      name: 'a user message',
      status: 409,
      type: 'conflict',
      target: async () => {
        const session = await ok<SessionView>('POST', `/v1/gpts/${GPT}/sessions`, { user_id: 'alice' })
        return (await ok<MessageView>('POST', `/v1/sessions/${session.id}/messages`, { sender: 'user', content: 'hi' })).id
      },
    },
    { name: 'an unknown message', status: 404, type: 'not-found', target: async () => MISSING_ID },
    {
      name: "another GPT's running message",
      status: 404,
      type: 'not-found',
      target: async () => {
        const session = await sessionWithQuestion(otherWriter, OTHER)
        return (await ok<MessageView>('POST', `/v1/sessions/${session.id}/messages`, { sender: 'ai', status: 'in_progress' }, otherWriter)).id
      },
    },
    {
      name: 'with a read-only key',
      status: 403,
      type: 'forbidden',
      token: () => reader,
      target: async () => {
        const session = await sessionWithQuestion()
        return (await ok<MessageView>('POST', `/v1/sessions/${session.id}/messages`, { sender: 'ai', status: 'in_progress' })).id
      },
    },
  ]

  it.each(cases)('$name → $status, and nothing changes', async ({ status, type, target, token }) => {
    const id = await target()
    const before = id === MISSING_ID ? null : await a.services.messages.getMessage(await findGpt(id), id)
    const response = await call('POST', cancelUrl(id), undefined, token?.() ?? writer)
    expectProblem(response, status, cancelUrl(id), type)
    if (before) expect(await a.services.messages.getMessage(before.gpt_id, id)).toEqual(before)
  })

  it('a malformed id → 422', async () => {
    expectProblem(await call('POST', cancelUrl('not-a-uuid')), 422, cancelUrl('not-a-uuid'))
  })
})

async function findGpt(id: string): Promise<string> {
  for (const gpt of [GPT, OTHER]) if (await a.services.generation.currentMessage(gpt, id)) return gpt
  throw new Error(`no GPT has message ${id}`)
}
