import { request as httpRequest } from 'node:http'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, beforeEach, expect } from 'vitest'
import type { MessageView } from '../../src/modules/chat/messages.schemas.js'
import type { SessionView } from '../../src/modules/chat/sessions.schemas.js'
import type { EventBus } from '../../src/platform/events/event-bus.js'
import { startFakeLlmServer, type FakeLlmRequest, type FakeLlmServer } from './fake-llm-server.js'
import { SseStream } from './sse.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './test-app.js'

// What the chat tests share: an app on a fake OpenAI-compatible provider, keyed calls, and Server-Sent
// Events read over real HTTP.

/** Bound on every wait for a generation: far above what one takes, so that only a hang fails. */
export const WAIT_MS = 15_000

export const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
export const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

export interface Character {
  id: string
  agent_role: string
}

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'
export type Status = 'pending' | 'in_progress' | 'complete' | 'failed'
export interface Delta {
  offset: number
  text: string
}

export interface ChatFixture {
  llm: FakeLlmServer
  t: TestApp
  /** http://127.0.0.1:<port> of `t`, which listens for the streaming tests. */
  base: string
}

/**
 * Registers the hooks of a chat test file: a fake LLM server, an app whose provider it is (plus `env`),
 * listening on a free port, and no script of an earlier test leaking into the next. The fields are set
 * when the file's own beforeAll hooks run (they run after these).
 */
export function chatFixture(env: Record<string, string> = {}, options: { events?: EventBus } = {}): ChatFixture {
  const fixture = {} as ChatFixture
  beforeAll(async () => {
    fixture.llm = await startFakeLlmServer()
    fixture.t = await createTestApp({ env: { ...fakeLlmEnv(fixture.llm), ...env }, events: options.events })
    fixture.base = await listen(fixture.t)
  })
  afterAll(async () => {
    await fixture.t?.close()
    await fixture.llm?.close()
  })
  beforeEach(() => {
    fixture.llm.setDefault({})
    fixture.llm.release()
  })
  return fixture
}

/**
 * Registers the hooks of a chat test file that needs no provider: an app with `env`, closed after the
 * file. `t` is set when the file's own beforeAll hooks run (they run after these).
 */
export function appFixture(env: Record<string, string> = {}): { t: TestApp } {
  const fixture = {} as { t: TestApp }
  beforeAll(async () => {
    fixture.t = await createTestApp({ env })
  })
  afterAll(async () => {
    await fixture.t?.close()
  })
  return fixture
}

/** Keys of `gpt` (writing, reading) and, with `other`, a writing key of that second GPT. */
export async function gptKeys(t: TestApp, gpt: string, other?: string): Promise<{ writer: string; reader: string; otherWriter: string }> {
  const writer = (await createGptWithKey(t.services, gpt)).token
  const reader = (await createGptWithKey(t.services, gpt, ['read'])).token
  const otherWriter = other === undefined ? '' : (await createGptWithKey(t.services, other)).token
  return { writer, reader, otherWriter }
}

export interface ChatDefaults {
  app: TestApp
  /** The key calls use unless they name another. */
  token: string
  gpt: string
  /** The character a new session gets, unless its body says otherwise. */
  character?: { id: string }
  /** The user message of sessionWithQuestion(). */
  question?: string
}

/**
 * keyedCalls plus the session and message writes a chat test makes; `defaults` is read at call time
 * (a file sets the app, keys and character in beforeAll).
 */
export function chatCalls(defaults: () => ChatDefaults) {
  const { call, ok } = keyedCalls(defaults)
  const createSession = (body: Record<string, unknown> = {}, gpt = defaults().gpt, token = defaults().token) => {
    const character = defaults().character
    return ok<SessionView>('POST', `/v1/gpts/${gpt}/sessions`, { user_id: 'alice', ...(character ? { character_id: character.id } : {}), ...body }, token)
  }
  const addMessage = (sessionId: string, body: Record<string, unknown>, token = defaults().token) => ok<MessageView>('POST', `/v1/sessions/${sessionId}/messages`, body, token)
  /** A session with a user message, ready for a reply. */
  async function sessionWithQuestion(question = defaults().question ?? 'Where should I go in May?', body: Record<string, unknown> = {}): Promise<SessionView> {
    const session = await createSession(body)
    await addMessage(session.id, { sender: 'user', content: question })
    return session
  }
  const generate = (sessionId: string, body: Record<string, unknown> = {}, token = defaults().token, app = defaults().app) => call('POST', generateUrl(sessionId), body, token, {}, app)
  return { call, ok, createSession, addMessage, sessionWithQuestion, generate }
}

/** The settings that make the fake server an app's provider. */
export const fakeLlmEnv = (llm: FakeLlmServer) => ({ LLM_PROVIDER: 'openai', LLM_BASE_URL: llm.openaiBaseUrl, LLM_API_KEY: 'sk-test' })

export function listen(app: TestApp): Promise<string> {
  return app.app.listen({ port: 0, host: '127.0.0.1' })
}

/**
 * Injected calls with a key; `app` and `token` are read at call time (a file sets them in beforeAll).
 * `ok` checks the status of a success (201 for POST, 204 for DELETE, else 200) and answers the body.
 */
export function keyedCalls(defaults: () => { app: TestApp; token: string }) {
  const call = (method: Method, url: string, payload?: unknown, token = defaults().token, headers: Record<string, string> = {}, app = defaults().app): Promise<LightMyRequestResponse> =>
    injectJson(app.app, method, url, { ...bearer(token), ...headers }, payload)
  const ok = async <T>(method: Method, url: string, payload?: unknown, token = defaults().token): Promise<T> => {
    const response = await call(method, url, payload, token)
    expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(method === 'POST' ? 201 : method === 'DELETE' ? 204 : 200)
    return (method === 'DELETE' ? undefined : response.json<T>()) as T
  }
  return { call, ok }
}

/** A POST over real HTTP (a fresh connection), read as Server-Sent Events whatever it answers. */
export function postSse(url: string, body: unknown, headers: Record<string, string>): Promise<SseStream> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...headers } },
      (response) => resolve(new SseStream(response, request)),
    )
    request.on('error', reject)
    request.end(payload)
  })
}

/** Polls (bounded) until `predicate` holds. */
export async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The requests the fake provider received while `action` ran. */
export async function onTheWire<T>(llm: FakeLlmServer, action: () => Promise<T>): Promise<{ result: T; requests: FakeLlmRequest[] }> {
  const before = llm.requests.length
  const result = await action()
  return { result, requests: llm.requests.slice(before) }
}

export const isEnded = (stream: SseStream) => stream.ended || stream.events.some((event) => event.event === 'done' || event.event === 'error')
export const deltasOf = (stream: SseStream) => stream.events.filter((event) => event.event === 'delta').map((event) => ({ ...(JSON.parse(event.data) as Delta), id: event.id }))
export const deltaText = (stream: SseStream) => deltasOf(stream).map((delta) => delta.text).join('')
export const pointers = (response: LightMyRequestResponse) => (response.json<{ errors?: { pointer: string }[] }>().errors ?? []).map((e) => e.pointer)

export const generateUrl = (sessionId: string) => `/v1/sessions/${sessionId}/generate`
export const resumeUrl = (sessionId: string) => `/v1/sessions/${sessionId}/resume`
export const streamUrl = (messageId: string, offset?: number) => `/v1/messages/${messageId}/stream${offset === undefined ? '' : `?offset=${offset}`}`

/** Reads of the messages a generation writes, through `ok` (see keyedCalls). */
export function messageReads(ok: <T>(method: Method, url: string) => Promise<T>) {
  const getMessage = (id: string) => ok<MessageView>('GET', `/v1/messages/${id}`)
  return {
    getMessage,
    /** The session's AI message (the one a generation just created). */
    async aiMessage(sessionId: string): Promise<MessageView> {
      const messages = (await ok<{ messages: MessageView[] }>('GET', `/v1/sessions/${sessionId}/messages`)).messages.filter((m) => m.sender === 'ai')
      expect(messages).toHaveLength(1)
      return messages[0]!
    },
    /** Polls the stored message until it has `status` (bounded). */
    async settled(id: string, status: Status = 'complete'): Promise<MessageView> {
      let message = await getMessage(id)
      await until(`message ${id} to be ${status}`, async () => (message = await getMessage(id)).status === status)
      return message
    },
  }
}

/** message, then contiguous deltas from `start` (ids = end offsets), then exactly one done/error, and the connection ends. */
export async function expectWholeStream(stream: SseStream, start: number, end: 'done' | 'error' = 'done') {
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
