import { request as httpRequest } from 'node:http'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_FAKE_TOKENS, startFakeLlmServer, type FakeLlmRequest, type FakeLlmScript, type FakeLlmServer } from './helpers/fake-llm-server.js'
import { expectProblem } from './helpers/problem.js'
import { SseStream } from './helpers/sse.js'
import { bearer, createGptWithKey, createTestApp, type TestApp, injectJson } from './helpers/test-app.js'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'
import type { SessionView } from '../src/modules/chat/sessions.schemas.js'

/**
 * POST /v1/sessions/{id}/generate against a fake OpenAI-compatible server: the reply, what goes on
 * the wire, streaming, the one-generation-per-session rule, and provider failures.
 */

interface Character {
  id: string
  agent_role: string
}
interface Delta {
  offset: number
  text: string
}

const GPT = 'gen-gpt'
const OTHER = 'gen-other'
const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const DEFAULT_MODEL = 'fake-default-model'
const ROLE = 'You are Guide, a terse travel assistant.'
const WAIT_MS = 15_000

let llm: FakeLlmServer
let t: TestApp
let base: string
let writer: string
let reader: string
let otherWriter: string
let guide: Character
let otherCharacter: Character

const llmEnv = (server: FakeLlmServer, extra: Record<string, string> = {}) => ({
  LLM_PROVIDER: 'openai',
  LLM_BASE_URL: server.openaiBaseUrl,
  LLM_API_KEY: 'sk-test',
  LLM_MODEL: DEFAULT_MODEL,
  ...extra,
})

beforeAll(async () => {
  llm = await startFakeLlmServer()
  t = await createTestApp({ env: llmEnv(llm) })
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  const address = t.app.server.address()
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  writer = (await createGptWithKey(t.services, GPT)).token
  reader = (await createGptWithKey(t.services, GPT, ['read'])).token
  otherWriter = (await createGptWithKey(t.services, OTHER)).token
  guide = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Guide', agent_role: ROLE })
  otherCharacter = await ok<Character>('POST', `/v1/gpts/${OTHER}/characters`, { name: 'Theirs', agent_role: 'Other secret role' }, otherWriter)
})

afterAll(async () => {
  await t?.close()
  await llm?.close()
})

beforeEach(() => {
  // No script of an earlier test may leak into the next one.
  llm.setDefault({})
  llm.release()
})

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

function call(method: Method, url: string, payload?: unknown, token = writer, headers: Record<string, string> = {}, app = t): Promise<LightMyRequestResponse> {
  return injectJson(app.app, method, url, { ...bearer(token), ...headers }, payload)
}

async function ok<T>(method: Method, url: string, payload?: unknown, token = writer): Promise<T> {
  const response = await call(method, url, payload, token)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(method === 'POST' ? 201 : 200)
  return response.json<T>()
}

const createSession = (body: Record<string, unknown> = {}, gpt = GPT, token = writer) =>
  ok<SessionView>('POST', `/v1/gpts/${gpt}/sessions`, { user_id: 'alice', character_id: guide.id, ...body }, token)
const addMessage = (sessionId: string, body: Record<string, unknown>, token = writer) =>
  ok<MessageView>('POST', `/v1/sessions/${sessionId}/messages`, body, token)
const getMessage = (id: string) => ok<MessageView>('GET', `/v1/messages/${id}`)
const generateUrl = (sessionId: string) => `/v1/sessions/${sessionId}/generate`
const generate = (sessionId: string, body: Record<string, unknown> = {}, token = writer, app = t) => call('POST', generateUrl(sessionId), body, token, {}, app)
const pointers = (response: LightMyRequestResponse) => (response.json<{ errors?: { pointer: string }[] }>().errors ?? []).map((e) => e.pointer)

/** A session with a user message, ready for a reply. */
async function sessionWithQuestion(question = 'Where should I go in May?', body: Record<string, unknown> = {}): Promise<SessionView> {
  const session = await createSession(body)
  await addMessage(session.id, { sender: 'user', content: question })
  return session
}

/** The requests the fake provider received while `action` ran. */
async function onTheWire<T>(action: () => Promise<T>): Promise<{ result: T; requests: FakeLlmRequest[] }> {
  const before = llm.requests.length
  const result = await action()
  return { result, requests: llm.requests.slice(before) }
}

/** POST with `Accept: text/event-stream` (or none) over real HTTP, read as Server-Sent Events. */
function postSse(path: string, body: unknown, headers: Record<string, string> = { accept: 'text/event-stream' }, token = writer): Promise<SseStream> {
  const payload = JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${base}${path}`,
      {
        method: 'POST',
        agent: false,
        headers: { ...bearer(token), 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...headers },
      },
      (response) => resolve(new SseStream(response, request)),
    )
    request.on('error', reject)
    request.end(payload)
  })
}

/** Asserts the event sequence message, delta…, done|error and contiguous deltas from `start`; returns the parsed parts. */
function checkStream(stream: SseStream, start: number, end: 'done' | 'error' = 'done') {
  const names = stream.events.map((event) => event.event)
  expect(names[0], stream.raw).toBe('message')
  expect(names[names.length - 1], stream.raw).toBe(end)
  expect(names.slice(1, -1).every((name) => name === 'delta'), stream.raw).toBe(true)
  const first = JSON.parse(stream.events[0]!.data) as MessageView
  const deltas = stream.events.slice(1, -1).map((event) => ({ ...(JSON.parse(event.data) as Delta), id: event.id }))
  let offset = start
  for (const delta of deltas) {
    expect(delta.offset, stream.raw).toBe(offset)
    expect(delta.text.length).toBeGreaterThan(0)
    offset += delta.text.length
    expect(delta.id).toBe(String(offset))
  }
  const last = JSON.parse(stream.events[stream.events.length - 1]!.data) as MessageView & { error?: string; message?: MessageView }
  return { first, deltas, text: deltas.map((delta) => delta.text).join(''), last }
}

/** Polls (bounded) until `predicate` holds. */
async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const isEnded = (stream: SseStream) => stream.ended || stream.events.some((event) => event.event === 'done' || event.event === 'error')

describe('generating a reply (no streaming)', () => {
  it('answers 201 with the finished AI message, stored, with the joined tokens as content', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: ['Try', ' Lisbon', ' in', ' May', '.'] })
    const { result: response, requests } = await onTheWire(() => generate(session.id))
    expect(response.statusCode, response.body).toBe(201)
    const message = response.json<MessageView>()
    expect(message).toEqual({
      id: expect.stringMatching(UUID),
      session_id: session.id,
      gpt_id: GPT,
      sender: 'ai',
      content: 'Try Lisbon in May.',
      context: null,
      status: 'complete',
      partial_content: 'Try Lisbon in May.',
      error_message: null,
      model: DEFAULT_MODEL,
      character_id: guide.id,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    })
    expect(response.headers.location).toBe(`/v1/messages/${message.id}`)
    expect(await getMessage(message.id)).toEqual(message)
    expect(requests).toHaveLength(1)
    expect(requests[0]!.headers.authorization).toBe('Bearer sk-test')
    expect(requests[0]!.body).toMatchObject({ model: DEFAULT_MODEL, stream: true })
  })

  it('sends the character prompt as the system message, then the history as user/assistant turns', async () => {
    const session = await createSession()
    await addMessage(session.id, { sender: 'user', content: 'Hi there' })
    await addMessage(session.id, { sender: 'ai', content: 'Hello! Where to?' })
    await addMessage(session.id, { sender: 'system', content: 'The user prefers trains.' })
    await addMessage(session.id, { sender: 'user', content: 'Somewhere warm', context: { weather: 'sunny in Seville' } })
    const { result: response, requests } = await onTheWire(() => generate(session.id))
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json<MessageView>().content).toBe(DEFAULT_FAKE_TOKENS.join(''))
    const messages = requests[0]!.body.messages!
    expect(messages[0]!.role).toBe('system')
    const system = messages[0]!.content as string
    expect(system.startsWith(ROLE), system).toBe(true)
    expect(system).toContain('The user prefers trains.')
    expect(system).toContain('sunny in Seville')
    expect(messages.slice(1)).toEqual([
      { role: 'user', content: 'Hi there' },
      { role: 'assistant', content: 'Hello! Where to?' },
      { role: 'user', content: 'Somewhere warm' },
    ])
  })

  it('puts its own earlier replies into the next prompt as assistant turns, and leaves failed ones out', async () => {
    const session = await sessionWithQuestion('First question')
    llm.script({ tokens: ['First', ' answer'] })
    expect((await generate(session.id)).statusCode).toBe(201)
    await addMessage(session.id, { sender: 'ai', status: 'failed', partial_content: 'half an ans', error_message: 'broke' })
    await addMessage(session.id, { sender: 'user', content: 'Second question' })
    const { result: response, requests } = await onTheWire(() => generate(session.id))
    expect(response.statusCode, response.body).toBe(201)
    expect(requests[0]!.body.messages).toEqual([
      { role: 'system', content: ROLE },
      { role: 'user', content: 'First question' },
      { role: 'assistant', content: 'First answer' },
      { role: 'user', content: 'Second question' },
    ])
  })

  it('sends no system message for a session without a character', async () => {
    const session = await sessionWithQuestion('No persona', { character_id: null })
    const { result: response, requests } = await onTheWire(() => generate(session.id))
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json<MessageView>()).toMatchObject({ character_id: null, status: 'complete' })
    expect(requests[0]!.body.messages).toEqual([{ role: 'user', content: 'No persona' }])
  })

  it('uses the character named in the body instead of the session\'s, and records it', async () => {
    const pirate = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Pirate', agent_role: 'Talk like a pirate.' })
    const session = await sessionWithQuestion()
    const { result: response, requests } = await onTheWire(() => generate(session.id, { character_id: pirate.id }))
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json<MessageView>().character_id).toBe(pirate.id)
    expect(requests[0]!.body.messages![0]).toEqual({ role: 'system', content: 'Talk like a pirate.' })
  })

  it.each([
    { name: 'the service default', character: {}, body: {}, model: DEFAULT_MODEL },
    { name: 'the character\'s model', character: { model: 'character-model' }, body: {}, model: 'character-model' },
    { name: 'the body\'s model over the default', character: {}, body: { model: 'override-model' }, model: 'override-model' },
    { name: 'the body\'s model over the character\'s', character: { model: 'character-model' }, body: { model: 'override-model' }, model: 'override-model' },
  ])('uses and records $name', async ({ character, body, model }) => {
    const persona = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Modeled', agent_role: 'Be brief.', ...character })
    const session = await sessionWithQuestion('Which model?', { character_id: persona.id })
    const { result: response, requests } = await onTheWire(() => generate(session.id, body))
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json<MessageView>().model).toBe(model)
    expect((await getMessage(response.json<MessageView>().id)).model).toBe(model)
    expect(requests[0]!.body.model).toBe(model)
  })

  it('sends the character\'s temperature', async () => {
    const persona = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Warm', agent_role: 'Be creative.', temperature: 1.25 })
    const session = await sessionWithQuestion('Hot or cold?', { character_id: persona.id })
    const { requests } = await onTheWire(() => generate(session.id))
    expect(requests[0]!.body.temperature).toBe(1.25)
  })

  it('answers JSON when the body says stream: false, even with Accept: text/event-stream', async () => {
    const session = await sessionWithQuestion()
    const response = await call('POST', generateUrl(session.id), { stream: false }, writer, { accept: 'text/event-stream' })
    expect(response.statusCode, response.body).toBe(201)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    expect(response.json<MessageView>().status).toBe('complete')
  })
})

describe('CHAT_HISTORY_MESSAGES', () => {
  it('limits the history on the wire to the latest messages', async () => {
    const short = await createTestApp({ db: t.db, env: llmEnv(llm, { CHAT_HISTORY_MESSAGES: '2' }) })
    try {
      const session = await createSession()
      for (const [sender, content] of [
        ['user', 'u1'],
        ['ai', 'a1'],
        ['user', 'u2'],
        ['ai', 'a2'],
        ['user', 'u3'],
      ] as const) {
        await addMessage(session.id, { sender, content })
      }
      const { result: response, requests } = await onTheWire(() => generate(session.id, {}, writer, short))
      expect(response.statusCode, response.body).toBe(201)
      expect(requests[0]!.body.messages).toEqual([
        { role: 'system', content: ROLE },
        { role: 'assistant', content: 'a2' },
        { role: 'user', content: 'u3' },
      ])
    } finally {
      await short.close()
    }
  })
})

describe('streaming', () => {
  it.each([
    { name: 'Accept: text/event-stream', body: {}, headers: { accept: 'text/event-stream' } },
    { name: 'stream: true without Accept', body: { stream: true }, headers: {} as Record<string, string> },
    { name: 'stream: true with Accept: application/json', body: { stream: true }, headers: { accept: 'application/json' } },
  ])('with $name: message, contiguous deltas whose ids are their end offsets, then done', async ({ body, headers }) => {
    const session = await sessionWithQuestion()
    const tokens = ['Lis', 'bon', ' is', ' lovely', ' in', ' May', ' — ', 'go', '!']
    llm.script({ tokens, delayMs: 5 })
    const stream = await postSse(generateUrl(session.id), body, headers)
    try {
      expect(stream.status).toBe(200)
      expect(stream.response.headers['content-type']).toMatch(/^text\/event-stream/)
      await stream.waitFor('the end of the stream', isEnded, WAIT_MS)
      await stream.waitFor('the connection to close', (s) => s.ended, WAIT_MS)
      const { first, text, last } = checkStream(stream, 0)
      expect(first).toMatchObject({ session_id: session.id, sender: 'ai', character_id: guide.id, model: DEFAULT_MODEL })
      expect(['pending', 'in_progress']).toContain(first.status)
      expect(text).toBe(tokens.join(''))
      expect(last).toMatchObject({ id: first.id, status: 'complete', content: tokens.join('') })
      expect(stream.events.filter((event) => event.event === 'done')).toHaveLength(1)
      expect(await getMessage(first.id)).toMatchObject({ status: 'complete', content: tokens.join('') })
    } finally {
      stream.close()
    }
  })

  it('ends with an error event (with the failed message) when the provider fails mid-stream', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: ['One', ' two', ' three', ' four'], failAfter: 2 })
    const stream = await postSse(generateUrl(session.id), {})
    try {
      await stream.waitFor('the end of the stream', isEnded, WAIT_MS)
      const { first, text, last } = checkStream(stream, 0, 'error')
      expect(text).toBe('One two')
      const error = last as unknown as { error: string; message: MessageView }
      expect(error.error).toEqual(expect.any(String))
      expect(error.error.length).toBeGreaterThan(0)
      expect(error.message).toMatchObject({ id: first.id, status: 'failed', partial_content: 'One two', content: '' })
      expect(await getMessage(first.id)).toMatchObject({ status: 'failed', partial_content: 'One two' })
    } finally {
      stream.close()
    }
  })

  it('answers 409 as a problem, not a stream, when a generation is running', async () => {
    const session = await sessionWithQuestion()
    llm.script({ hold: 1 })
    const first = await postSse(generateUrl(session.id), {})
    try {
      await llm.held()
      const second = await generate(session.id, { stream: true })
      expectProblem(second, 409, generateUrl(session.id), 'conflict')
      expect(llm.release()).toBe(1)
      await first.waitFor('the first stream to end', isEnded, WAIT_MS)
      expect(checkStream(first, 0).last.status).toBe('complete')
    } finally {
      first.close()
    }
  })
})

describe('one generation per session', () => {
  it('answers exactly one of two simultaneous generates with 409, while the other is still running', async () => {
    const session = await sessionWithQuestion()
    llm.setDefault({ hold: 1 })
    const before = llm.requests.length
    const answered: LightMyRequestResponse[] = []
    const both = [generate(session.id), generate(session.id)].map((pending) => pending.then((response) => (answered.push(response), response)))
    await llm.held()
    // The loser does not wait for the winner, which is held until release().
    await until('the losing request to be answered', () => answered.length >= 1)
    expect(answered).toHaveLength(1)
    expect(expectProblem(answered[0]!, 409, generateUrl(session.id), 'conflict').detail).toMatch(/generation is running/i)
    expect(llm.release()).toBe(1)
    const responses = await Promise.all(both)
    expect(responses.map((response) => response.statusCode).sort()).toEqual([201, 409])
    expect(responses.find((response) => response.statusCode === 201)!.json<MessageView>().status).toBe('complete')
    expect(llm.requests.length - before).toBe(1)
    // The 409 stored nothing.
    const messages = (await ok<{ messages: MessageView[] }>('GET', `/v1/sessions/${session.id}/messages`)).messages
    expect(messages.map((message) => message.sender)).toEqual(['user', 'ai'])
  })

  it('answers 409 while a generation runs, and takes the next one after it ended', async () => {
    const session = await sessionWithQuestion()
    llm.script({ hold: 2 })
    const running = generate(session.id)
    await llm.held()
    expectProblem(await generate(session.id), 409, generateUrl(session.id), 'conflict')
    // The lease is per session: another session of the GPT generates meanwhile.
    const other = await sessionWithQuestion('Elsewhere')
    expect((await generate(other.id)).statusCode).toBe(201)
    expect(llm.release()).toBe(1)
    expect((await running).statusCode).toBe(201)
    expect((await generate(session.id)).statusCode).toBe(201)
  })

  it('frees the session after a failed generation', async () => {
    const session = await sessionWithQuestion()
    llm.script({ status: 500 })
    expect((await generate(session.id)).statusCode).toBe(502)
    expect((await generate(session.id)).statusCode).toBe(201)
  })
})

describe('refusals', () => {
  it('answers 404 for an unknown session and for another GPT\'s session, sending nothing to the provider', async () => {
    const theirs = await createSession({ character_id: otherCharacter.id }, OTHER, otherWriter)
    await addMessage(theirs.id, { sender: 'user', content: 'their secret' }, otherWriter)
    const before = llm.requests.length
    for (const id of [MISSING_ID, theirs.id]) {
      expectProblem(await generate(id), 404, generateUrl(id), 'not-found')
      expectProblem(await generate(id, { stream: true }), 404, generateUrl(id), 'not-found')
    }
    expect(llm.requests.length).toBe(before)
    const messages = (await ok<{ messages: MessageView[] }>('GET', `/v1/sessions/${theirs.id}/messages`, undefined, otherWriter)).messages
    expect(messages.map((message) => message.sender)).toEqual(['user'])
  })

  it('answers 422 at /character_id for a character that is unknown, deleted or another GPT\'s, storing nothing', async () => {
    const deleted = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Gone', agent_role: 'x' })
    expect((await call('DELETE', `/v1/characters/${deleted.id}`)).statusCode).toBe(204)
    const session = await sessionWithQuestion()
    const before = llm.requests.length
    for (const characterId of [MISSING_ID, deleted.id, otherCharacter.id]) {
      const response = await generate(session.id, { character_id: characterId })
      const problem = expectProblem(response, 422, generateUrl(session.id), 'validation-failed')
      expect(problem.errors).toEqual([expect.objectContaining({ pointer: '/character_id', location: 'body' })])
    }
    expect(llm.requests.length).toBe(before)
    const messages = (await ok<{ messages: MessageView[] }>('GET', `/v1/sessions/${session.id}/messages`)).messages
    expect(messages.map((message) => message.sender)).toEqual(['user'])
  })

  it('replies without a system prompt when the session\'s own character was deleted since', async () => {
    const gone = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Soon gone', agent_role: 'Forgotten role' })
    const session = await sessionWithQuestion('Still there?', { character_id: gone.id })
    expect((await call('DELETE', `/v1/characters/${gone.id}`)).statusCode).toBe(204)
    const { result: response, requests } = await onTheWire(() => generate(session.id))
    expect(response.statusCode, response.body).toBe(201)
    expect(JSON.stringify(requests[0]!.body.messages)).not.toContain('Forgotten role')
  })

  it.each([
    { name: 'character_id not a uuid', body: { character_id: 'guide' }, pointer: '/character_id' },
    { name: 'character_id null', body: { character_id: null }, pointer: '/character_id' },
    { name: 'empty model', body: { model: '' }, pointer: '/model' },
    { name: 'model of 201 characters', body: { model: 'm'.repeat(201) }, pointer: '/model' },
    { name: 'model a number', body: { model: 4 }, pointer: '/model' },
    { name: 'stream "yes"', body: { stream: 'yes' }, pointer: '/stream' },
    { name: 'unknown member', body: { prompt: 'hi' }, pointer: '/prompt' },
  ])('answers 422 for $name at $pointer', async ({ body, pointer }) => {
    const session = await sessionWithQuestion()
    const response = await generate(session.id, body)
    expectProblem(response, 422, generateUrl(session.id), 'validation-failed')
    expect(pointers(response)).toContain(pointer)
  })

  it('answers 422 for a malformed session id', async () => {
    const response = await generate('not-a-uuid')
    expectProblem(response, 422, generateUrl('not-a-uuid'), 'validation-failed')
    expect(pointers(response)).toEqual(['/id'])
  })

  it('needs a key (401) with the write scope (403)', async () => {
    const session = await sessionWithQuestion()
    expectProblem(await generate(session.id, {}, reader), 403, generateUrl(session.id), 'forbidden')
    const anonymous = await t.app.inject({ method: 'POST', url: generateUrl(session.id), payload: {} })
    expectProblem(anonymous, 401, generateUrl(session.id), 'unauthorized')
  })
})

describe('provider failures', () => {
  it.each([
    { name: 'HTTP 401', script: { status: 401, errorMessage: 'Incorrect API key provided: sk-test' }, error: /401/ },
    { name: 'HTTP 500', script: { status: 500, errorMessage: 'The server had an error' }, error: /500/ },
    { name: 'HTTP 429', script: { status: 429 }, error: /429/ },
    { name: 'a connection cut after two tokens', script: { tokens: ['Half', ' a', ' reply'], failAfter: 2 }, error: /./, partial: 'Half a' },
    { name: 'an error chunk after one token', script: { tokens: ['Half', ' a'], failAfter: 1, failMode: 'error' as const, errorMessage: 'Overloaded now' }, error: /./, partial: 'Half' },
    { name: 'a clean end without finish_reason', script: { tokens: ['Cut', ' short'], failAfter: 2, failMode: 'end' as const }, error: /finish/, partial: 'Cut short' },
  ] satisfies { name: string; script: FakeLlmScript; error: RegExp; partial?: string }[])(
    '$name: 502 naming the message, which is stored failed with what was generated',
    async ({ script, error, partial }) => {
      const session = await sessionWithQuestion()
      llm.script(script)
      const response = await generate(session.id)
      const problem = expectProblem(response, 502, generateUrl(session.id), 'bad-gateway')
      expect(problem.session_id).toBe(session.id)
      expect(problem.message_id).toEqual(expect.stringMatching(UUID))
      expect(problem.detail).toContain(`/v1/sessions/${session.id}/resume`)
      const stored = await getMessage(problem.message_id as string)
      expect(stored).toMatchObject({ session_id: session.id, sender: 'ai', status: 'failed', content: '', partial_content: partial ?? '' })
      expect(stored.error_message).toMatch(error)
      // The key never reaches a stored error or the answer.
      expect(stored.error_message).not.toContain('sk-test')
      expect(response.body).not.toContain('sk-test')
    },
  )

  it.each([
    { name: 'a stall before the first token', script: { tokens: ['Never', ' sent'], delayMs: 60_000 }, partial: '' },
    { name: 'a stall after two tokens', script: { tokens: ['Slow', ' start', ' never', ' ends'], hold: 2 }, partial: 'Slow start' },
  ])('$name longer than LLM_TIMEOUT_MS: failed with a timeout error, 502', async ({ script, partial }) => {
    const impatient = await createTestApp({ db: t.db, env: llmEnv(llm, { LLM_TIMEOUT_MS: '400' }) })
    try {
      const session = await sessionWithQuestion()
      llm.script(script)
      const response = await generate(session.id, {}, writer, impatient)
      const problem = expectProblem(response, 502, generateUrl(session.id), 'bad-gateway')
      const stored = await getMessage(problem.message_id as string)
      expect(stored).toMatchObject({ status: 'failed', partial_content: partial })
      expect(stored.error_message).toMatch(/timed out/i)
      // The session is free again.
      llm.script({ tokens: ['Fine', ' now'] })
      const again = await generate(session.id, {}, writer, impatient)
      expect(again.statusCode, again.body).toBe(201)
      expect(again.json<MessageView>().content).toBe('Fine now')
    } finally {
      await impatient.close()
    }
  })
})
