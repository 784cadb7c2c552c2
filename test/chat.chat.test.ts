import { request as httpRequest } from 'node:http'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_FAKE_TOKENS, startFakeLlmServer, type FakeLlmRequest, type FakeLlmServer } from './helpers/fake-llm-server.js'
import { expectProblem } from './helpers/problem.js'
import { SseStream } from './helpers/sse.js'
import { bearer, createGptWithKey, createTestApp, type TestApp, injectJson } from './helpers/test-app.js'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'
import type { SessionView } from '../src/modules/chat/sessions.schemas.js'

/**
 * POST /v1/chat: the user's message and the reply in one call, in a new or an existing session, with
 * memories of the session's user recalled for characters that have memory enabled — and nothing of
 * another GPT or another user ever reaching the prompt or the answer.
 */

interface ChatAnswer {
  session_id: string
  message: MessageView
}
interface Character {
  id: string
}
interface Memory {
  id: string
  content: string
}
interface Recalled {
  id: string
  content: string
  score: number
}

const GPT = 'chat1-gpt'
const OTHER = 'chat1-other'
const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const ROLE = 'You are Chef, a cooking assistant.'
const MAX = 200
const REPLY = DEFAULT_FAKE_TOKENS.join('')
const WAIT_MS = 15_000

let llm: FakeLlmServer
let t: TestApp
let base: string
let writer: string
let reader: string
let otherWriter: string
let chef: Character
let rememberingChef: Character
let otherChef: Character
/** Memories of alice, of bob (both in GPT), and of a user also called alice in OTHER. */
let aliceMemories: Memory[]
let bobMemories: Memory[]
let otherAliceMemories: Memory[]

beforeAll(async () => {
  llm = await startFakeLlmServer()
  t = await createTestApp({ env: { LLM_PROVIDER: 'openai', LLM_BASE_URL: llm.openaiBaseUrl, LLM_API_KEY: 'sk-test', MAX_MESSAGE_CHARS: String(MAX) } })
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  const address = t.app.server.address()
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  writer = (await createGptWithKey(t.services, GPT)).token
  reader = (await createGptWithKey(t.services, GPT, ['read'])).token
  otherWriter = (await createGptWithKey(t.services, OTHER)).token
  chef = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Chef', agent_role: ROLE })
  rememberingChef = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Chef who remembers', agent_role: ROLE, memory: { enabled: true, top_k: 2 } })
  otherChef = await ok<Character>('POST', `/v1/gpts/${OTHER}/characters`, { name: 'Their chef', agent_role: 'OTHER SECRET ROLE', memory: { enabled: true, top_k: 5 } }, otherWriter)
  const remember = (gpt: string, token: string, user: string, content: string, entityType?: string) =>
    ok<Memory>('POST', `/v1/gpts/${gpt}/memories`, { content, user_id: user, ...(entityType ? { entity_type: entityType } : {}) }, token)
  aliceMemories = [
    await remember(GPT, writer, 'alice', 'Alice is allergic to peanuts and tree nuts.', 'health'),
    await remember(GPT, writer, 'alice', 'Alice is vegetarian and never eats meat.', 'diet'),
    await remember(GPT, writer, 'alice', 'Alice loves spicy Thai curries.', 'diet'),
  ]
  bobMemories = [
    await remember(GPT, writer, 'bob', 'Bob is allergic to shellfish and peanuts.', 'health'),
    await remember(GPT, writer, 'bob', 'Bob eats only meat, a strict carnivore diet.', 'diet'),
  ]
  otherAliceMemories = [await remember(OTHER, otherWriter, 'alice', 'OTHER SECRET: alice is allergic to peanuts in the other GPT.', 'health')]
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

function call(method: Method, url: string, payload?: unknown, token = writer): Promise<LightMyRequestResponse> {
  return injectJson(t.app, method, url, bearer(token), payload)
}

async function ok<T>(method: Method, url: string, payload?: unknown, token = writer): Promise<T> {
  const response = await call(method, url, payload, token)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(method === 'POST' ? 201 : 200)
  return response.json<T>()
}

const chat = (body: Record<string, unknown>, token = writer) => call('POST', '/v1/chat', body, token)
async function chatOk(body: Record<string, unknown>, token = writer): Promise<ChatAnswer> {
  const response = await chat(body, token)
  expect(response.statusCode, response.body).toBe(201)
  return response.json<ChatAnswer>()
}
const messagesOf = async (sessionId: string, token = writer) =>
  (await ok<{ messages: MessageView[] }>('GET', `/v1/sessions/${sessionId}/messages`, undefined, token)).messages
const sessionCount = async (gpt = GPT, token = writer) => {
  let count = 0
  let cursor: string | null = null
  do {
    const page: { sessions: unknown[]; next_cursor: string | null } = await ok('GET', `/v1/gpts/${gpt}/sessions?limit=100${cursor ? `&cursor=${cursor}` : ''}`, undefined, token)
    count += page.sessions.length
    cursor = page.next_cursor
  } while (cursor)
  return count
}
const pointers = (response: LightMyRequestResponse) => (response.json<{ errors?: { pointer: string }[] }>().errors ?? []).map((e) => e.pointer)

async function onTheWire<T>(action: () => Promise<T>): Promise<{ result: T; requests: FakeLlmRequest[] }> {
  const before = llm.requests.length
  const result = await action()
  return { result, requests: llm.requests.slice(before) }
}

const systemOf = (request: FakeLlmRequest) => {
  const first = request.body.messages![0]!
  return first.role === 'system' ? (first.content as string) : ''
}

function postSse(path: string, body: unknown, headers: Record<string, string>): Promise<SseStream> {
  const payload = JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${base}${path}`,
      { method: 'POST', agent: false, headers: { ...bearer(writer), 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...headers } },
      (response) => resolve(new SseStream(response, request)),
    )
    request.on('error', reject)
    request.end(payload)
  })
}

describe('a new session', () => {
  it('is made for user_id with the character; the user message is stored, then the reply', async () => {
    const { result: response, requests } = await onTheWire(() => chat({ character_id: chef.id, user_id: 'carol', content: 'How long do I boil an egg?' }))
    expect(response.statusCode, response.body).toBe(201)
    const answer = response.json<ChatAnswer>()
    expect(answer.session_id).toMatch(UUID)
    expect(answer.message).toMatchObject({
      session_id: answer.session_id,
      gpt_id: GPT,
      sender: 'ai',
      status: 'complete',
      content: REPLY,
      character_id: chef.id,
      context: null,
      error_message: null,
    })
    expect(response.headers.location).toBe(`/v1/messages/${answer.message.id}`)
    expect(await ok<SessionView>('GET', `/v1/sessions/${answer.session_id}`)).toMatchObject({ gpt_id: GPT, user_id: 'carol', character_id: chef.id })
    const messages = await messagesOf(answer.session_id)
    expect(messages.map((m) => [m.sender, m.content, m.status])).toEqual([
      ['user', 'How long do I boil an egg?', 'complete'],
      ['ai', REPLY, 'complete'],
    ])
    expect(messages[1]).toEqual(answer.message)
    expect(requests).toHaveLength(1)
    expect(requests[0]!.body.messages).toEqual([
      { role: 'system', content: ROLE },
      { role: 'user', content: 'How long do I boil an egg?' },
    ])
  })

  it('stores the context on the user message and gives it to the model', async () => {
    const context = { documents: [{ title: 'Egg timing', text: 'Soft: 6 minutes.' }] }
    const { result: response, requests } = await onTheWire(() => chat({ character_id: chef.id, user_id: 'carol', content: 'Soft egg?', context }))
    expect(response.statusCode, response.body).toBe(201)
    const { session_id: sessionId } = response.json<ChatAnswer>()
    const [user] = await messagesOf(sessionId)
    expect(user).toMatchObject({ sender: 'user', content: 'Soft egg?', context })
    const system = systemOf(requests[0]!)
    expect(system.startsWith(ROLE)).toBe(true)
    expect(system).toContain('Soft: 6 minutes.')
  })

  it('uses and records the model named in the body', async () => {
    const { result: response, requests } = await onTheWire(() => chat({ character_id: chef.id, user_id: 'carol', content: 'Model?', model: 'chat-model-x' }))
    expect(response.json<ChatAnswer>().message.model).toBe('chat-model-x')
    expect(requests[0]!.body.model).toBe('chat-model-x')
  })

  it('streams with stream: true: message, deltas, done — the events carry the new session', async () => {
    llm.script({ tokens: ['Whisk', ' the', ' eggs.'], delayMs: 2 })
    const stream = await postSse('/v1/chat', { character_id: chef.id, user_id: 'dave', content: 'Omelette?', stream: true }, {})
    try {
      await stream.waitFor('done', (s) => s.events.some((e) => e.event === 'done' || e.event === 'error'), WAIT_MS)
      const names = stream.events.map((e) => e.event)
      expect(names[0], stream.raw).toBe('message')
      expect(names.at(-1), stream.raw).toBe('done')
      const first = JSON.parse(stream.events[0]!.data) as MessageView
      const done = JSON.parse(stream.events.at(-1)!.data) as MessageView
      const deltas = stream.events.filter((e) => e.event === 'delta').map((e) => JSON.parse(e.data) as { offset: number; text: string })
      expect(deltas.map((d) => d.text).join('')).toBe('Whisk the eggs.')
      expect(done).toMatchObject({ id: first.id, session_id: first.session_id, status: 'complete', content: 'Whisk the eggs.' })
      expect(await ok<SessionView>('GET', `/v1/sessions/${first.session_id}`)).toMatchObject({ user_id: 'dave', character_id: chef.id })
      expect((await messagesOf(first.session_id)).map((m) => m.sender)).toEqual(['user', 'ai'])
    } finally {
      stream.close()
    }
  })

  it('answers 502 naming the new session when the provider fails; the user message and the failed reply are kept', async () => {
    llm.script({ status: 500 })
    const response = await chat({ character_id: chef.id, user_id: 'erin', content: 'Still there?' })
    const problem = expectProblem(response, 502, '/v1/chat', 'bad-gateway')
    expect(problem.session_id).toMatch(UUID)
    const messages = await messagesOf(problem.session_id as string)
    expect(messages.map((m) => [m.sender, m.status])).toEqual([
      ['user', 'complete'],
      ['ai', 'failed'],
    ])
    expect(messages[1]!.id).toBe(problem.message_id)
    // Resume finishes it.
    llm.script({ tokens: ['Yes.'] })
    const resumed = await call('POST', `/v1/sessions/${problem.session_id as string}/resume`, {})
    expect(resumed.statusCode, resumed.body).toBe(200)
    expect(resumed.json<MessageView>()).toMatchObject({ id: problem.message_id, status: 'complete', content: 'Yes.' })
  })
})

describe('an existing session', () => {
  it('gets the next turn: the prompt holds the earlier turns, the reply is in the same session', async () => {
    llm.script({ tokens: ['Use', ' basil.'] })
    const first = await chatOk({ character_id: chef.id, user_id: 'frank', content: 'Pesto herbs?' })
    llm.script({ tokens: ['Pine', ' nuts.'] })
    const { result: response, requests } = await onTheWire(() => chat({ character_id: chef.id, session_id: first.session_id, content: 'And nuts?' }))
    expect(response.statusCode, response.body).toBe(201)
    const second = response.json<ChatAnswer>()
    expect(second.session_id).toBe(first.session_id)
    expect(second.message).toMatchObject({ content: 'Pine nuts.', session_id: first.session_id })
    expect(requests[0]!.body.messages).toEqual([
      { role: 'system', content: ROLE },
      { role: 'user', content: 'Pesto herbs?' },
      { role: 'assistant', content: 'Use basil.' },
      { role: 'user', content: 'And nuts?' },
    ])
    expect((await messagesOf(first.session_id)).map((m) => [m.sender, m.content])).toEqual([
      ['user', 'Pesto herbs?'],
      ['ai', 'Use basil.'],
      ['user', 'And nuts?'],
      ['ai', 'Pine nuts.'],
    ])
    // A user_id is not needed, and a session is not made.
    expect(second.session_id).toBe(first.session_id)
  })

  it('answers 422 at /user_id when the body names another user than the session\'s, storing nothing', async () => {
    llm.script({ tokens: ['Hi.'] })
    const first = await chatOk({ character_id: chef.id, user_id: 'gina', content: 'Hello' })
    const response = await chat({ character_id: chef.id, session_id: first.session_id, user_id: 'henry', content: 'Not my session' })
    const problem = expectProblem(response, 422, '/v1/chat', 'validation-failed')
    expect(problem.errors?.map((error) => error.pointer)).toEqual(['/user_id'])
    expect((await messagesOf(first.session_id)).map((m) => m.content)).toEqual(['Hello', 'Hi.'])
    llm.script({ tokens: ['Again.'] })
    expect((await chat({ character_id: chef.id, session_id: first.session_id, user_id: 'gina', content: 'Me again' })).statusCode).toBe(201)
  })

  it('gives the model the context of the latest user message only, not an earlier turn\'s', async () => {
    const first = await chatOk({ character_id: chef.id, user_id: 'frank', content: 'Soup?', context: 'OLD CONTEXT: tomato soup recipe' })
    const { requests } = await onTheWire(() => chatOk({ character_id: chef.id, session_id: first.session_id, content: 'Dessert now.' }))
    expect(systemOf(requests[0]!)).toBe(ROLE)
    const { requests: third } = await onTheWire(() =>
      chatOk({ character_id: chef.id, session_id: first.session_id, content: 'Cake?', context: { recipe: 'NEW CONTEXT: sponge cake' } }),
    )
    expect(systemOf(third[0]!)).toContain('NEW CONTEXT: sponge cake')
    expect(systemOf(third[0]!)).not.toContain('OLD CONTEXT')
  })

  it('uses the character of the body, not the session\'s', async () => {
    const baker = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Baker', agent_role: 'You are Baker.' })
    const session = await ok<SessionView>('POST', `/v1/gpts/${GPT}/sessions`, { user_id: 'gina', character_id: chef.id })
    const { result: response, requests } = await onTheWire(() => chat({ character_id: baker.id, session_id: session.id, content: 'Bread?' }))
    expect(response.json<ChatAnswer>().message.character_id).toBe(baker.id)
    expect(systemOf(requests[0]!)).toBe('You are Baker.')
  })

  it('answers 409 while a generation runs for the session, storing nothing', async () => {
    const first = await chatOk({ character_id: chef.id, user_id: 'hank', content: 'One' })
    llm.script({ hold: 1 })
    const running = call('POST', `/v1/sessions/${first.session_id}/generate`, {})
    await llm.held()
    const before = await messagesOf(first.session_id)
    expectProblem(await chat({ character_id: chef.id, session_id: first.session_id, content: 'Two' }), 409, '/v1/chat', 'conflict')
    expect(await messagesOf(first.session_id)).toEqual(before)
    expect(llm.release()).toBe(1)
    expect((await running).statusCode).toBe(201)
    expect((await messagesOf(first.session_id)).filter((m) => m.content === 'Two')).toEqual([])
  })
})

describe('refusals', () => {
  it.each([
    { name: 'no character_id', body: { character_id: undefined }, pointer: '/character_id' },
    { name: 'character_id not a uuid', body: { character_id: 'chef' }, pointer: '/character_id' },
    { name: 'session_id not a uuid', body: { session_id: 'abc' }, pointer: '/session_id' },
    { name: 'no content', body: { content: undefined }, pointer: '/content' },
    { name: 'empty content', body: { content: '' }, pointer: '/content' },
    { name: `content over MAX_MESSAGE_CHARS (${MAX})`, body: { content: 'x'.repeat(MAX + 1) }, pointer: '/content' },
    { name: 'content a number', body: { content: 7 }, pointer: '/content' },
    { name: 'empty user_id', body: { user_id: '' }, pointer: '/user_id' },
    { name: 'user_id of 201 characters', body: { user_id: 'u'.repeat(201) }, pointer: '/user_id' },
    { name: 'empty model', body: { model: '' }, pointer: '/model' },
    { name: 'stream "yes"', body: { stream: 'yes' }, pointer: '/stream' },
    { name: 'unknown member', body: { sender: 'user' }, pointer: '/sender' },
    { name: 'no user_id for a new session', body: { user_id: undefined }, pointer: '/user_id' },
    { name: 'an unknown character', body: { character_id: MISSING_ID }, pointer: '/character_id' },
    { name: 'an unknown session', body: { session_id: MISSING_ID }, pointer: '/session_id' },
  ])('answers 422 for $name at $pointer, storing nothing', async ({ body, pointer }) => {
    const sessions = await sessionCount()
    const requests = llm.requests.length
    const response = await chat({ character_id: chef.id, user_id: 'ivy', content: 'Hello', ...body })
    expectProblem(response, 422, '/v1/chat', 'validation-failed')
    expect(pointers(response)).toContain(pointer)
    expect(await sessionCount()).toBe(sessions)
    expect(llm.requests.length).toBe(requests)
  })

  it('accepts content of exactly MAX_MESSAGE_CHARS', async () => {
    const answer = await chatOk({ character_id: chef.id, user_id: 'ivy', content: 'y'.repeat(MAX) })
    expect((await messagesOf(answer.session_id))[0]!.content).toHaveLength(MAX)
  })

  it('answers 422 at /character_id for a deleted character, in a new or an existing session', async () => {
    const gone = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Gone', agent_role: 'x' })
    const session = await ok<SessionView>('POST', `/v1/gpts/${GPT}/sessions`, { user_id: 'ivy', character_id: gone.id })
    expect((await call('DELETE', `/v1/characters/${gone.id}`)).statusCode).toBe(204)
    for (const body of [{ user_id: 'ivy' }, { session_id: session.id }]) {
      const response = await chat({ character_id: gone.id, content: 'Hi', ...body })
      expectProblem(response, 422, '/v1/chat', 'validation-failed')
      expect(pointers(response)).toEqual(['/character_id'])
    }
    expect(await messagesOf(session.id)).toEqual([])
  })

  it('needs a key with the write scope', async () => {
    expectProblem(await chat({ character_id: chef.id, user_id: 'ivy', content: 'Hi' }, reader), 403, '/v1/chat', 'forbidden')
    expectProblem(await t.app.inject({ method: 'POST', url: '/v1/chat', payload: { character_id: chef.id, user_id: 'ivy', content: 'Hi' } }), 401, '/v1/chat', 'unauthorized')
  })
})

describe('memories', () => {
  it('recalls the session user\'s memories for the message, records them in the reply\'s context and gives them to the model', async () => {
    const { result: response, requests } = await onTheWire(() =>
      chat({ character_id: rememberingChef.id, user_id: 'alice', content: 'I have a peanut allergy — which snacks should I avoid?' }),
    )
    expect(response.statusCode, response.body).toBe(201)
    const answer = response.json<ChatAnswer>()
    const recalled = (answer.message.context as { memories: Recalled[] }).memories
    expect(recalled.length).toBeGreaterThanOrEqual(1)
    expect(recalled.length).toBeLessThanOrEqual(2)
    for (const memory of recalled) {
      expect(memory).toEqual({ id: expect.any(String), content: expect.any(String), score: expect.any(Number) })
      const own = aliceMemories.find((m) => m.id === memory.id)
      expect(own, `recalled ${memory.content}`).toBeDefined()
      expect(memory.content).toBe(own!.content)
    }
    expect(recalled.map((m) => m.id)).toContain(aliceMemories[0]!.id)
    // Stored, not only answered.
    expect((await ok<MessageView>('GET', `/v1/messages/${answer.message.id}`)).context).toEqual(answer.message.context)
    const system = systemOf(requests[0]!)
    expect(system.startsWith(ROLE)).toBe(true)
    for (const memory of recalled) expect(system).toContain(memory.content)
    for (const memory of [...bobMemories, ...otherAliceMemories]) expect(system).not.toContain(memory.content)
    expect(response.body).not.toContain('Bob')
    expect(response.body).not.toContain('OTHER SECRET')
  })

  it('recalls another user\'s own memories only, in their session', async () => {
    const { result: response, requests } = await onTheWire(() =>
      chat({ character_id: rememberingChef.id, user_id: 'bob', content: 'Am I allergic to peanuts or shellfish?' }),
    )
    const recalled = (response.json<ChatAnswer>().message.context as { memories: Recalled[] }).memories
    expect(recalled.length).toBeGreaterThanOrEqual(1)
    for (const memory of recalled) expect(bobMemories.map((m) => m.id)).toContain(memory.id)
    for (const memory of [...aliceMemories, ...otherAliceMemories]) expect(systemOf(requests[0]!)).not.toContain(memory.content)
  })

  it('recalls nothing for a user without memories, and records an empty list or none', async () => {
    const answer = await chatOk({ character_id: rememberingChef.id, user_id: 'nobody', content: 'Am I allergic to peanuts?' })
    const context = answer.message.context as { memories?: Recalled[] } | null
    expect(context === null || (context.memories ?? []).length === 0, JSON.stringify(context)).toBe(true)
  })

  it('recalls the memories of the session\'s user on later turns of an existing session', async () => {
    const first = await chatOk({ character_id: chef.id, user_id: 'alice', content: 'Hello' })
    expect(first.message.context).toBeNull()
    const second = await chatOk({ character_id: rememberingChef.id, session_id: first.session_id, content: 'Can I eat a steak? Does it fit my diet?' })
    const recalled = (second.message.context as { memories: Recalled[] }).memories
    expect(recalled.length).toBeGreaterThanOrEqual(1)
    for (const memory of recalled) expect(aliceMemories.map((m) => m.id)).toContain(memory.id)
  })

  it('keeps to the character\'s entity_type and top_k', async () => {
    const dietOnly = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Diet chef', agent_role: ROLE, memory: { enabled: true, top_k: 1, entity_type: 'diet' } })
    const answer = await chatOk({ character_id: dietOnly.id, user_id: 'alice', content: 'I have a peanut allergy, and what else should I know about my diet?' })
    const recalled = (answer.message.context as { memories: Recalled[] }).memories
    expect(recalled).toHaveLength(1)
    expect([aliceMemories[1]!.id, aliceMemories[2]!.id]).toContain(recalled[0]!.id)
  })

  it('recalls nothing for a character without memory', async () => {
    const { result: response, requests } = await onTheWire(() => chat({ character_id: chef.id, user_id: 'alice', content: 'Peanut allergy snacks?' }))
    expect(response.json<ChatAnswer>().message.context).toBeNull()
    expect(systemOf(requests[0]!)).toBe(ROLE)
  })

  it('recalls memories on generate too, for the session\'s user', async () => {
    const session = await ok<SessionView>('POST', `/v1/gpts/${GPT}/sessions`, { user_id: 'bob', character_id: rememberingChef.id })
    await ok('POST', `/v1/sessions/${session.id}/messages`, { sender: 'user', content: 'Which seafood is safe for my allergy?' })
    const response = await call('POST', `/v1/sessions/${session.id}/generate`, {})
    expect(response.statusCode, response.body).toBe(201)
    const recalled = (response.json<MessageView>().context as { memories: Recalled[] }).memories
    expect(recalled.length).toBeGreaterThanOrEqual(1)
    for (const memory of recalled) expect(bobMemories.map((m) => m.id)).toContain(memory.id)
  })
})

describe('isolation', () => {
  it('answers 422 for another GPT\'s character or session, never showing or touching its data', async () => {
    const theirs = await ok<SessionView>('POST', `/v1/gpts/${OTHER}/sessions`, { user_id: 'alice', character_id: otherChef.id }, otherWriter)
    await ok('POST', `/v1/sessions/${theirs.id}/messages`, { sender: 'user', content: 'OTHER SECRET message' }, otherWriter)
    const requests = llm.requests.length
    for (const [body, pointer] of [
      [{ character_id: otherChef.id, user_id: 'alice' }, '/character_id'],
      [{ character_id: chef.id, session_id: theirs.id }, '/session_id'],
      [{ character_id: otherChef.id, session_id: theirs.id }, '/character_id'],
    ] as const) {
      const response = await chat({ content: 'Tell me their secrets', ...body })
      expectProblem(response, 422, '/v1/chat', 'validation-failed')
      expect(pointers(response)).toEqual([pointer])
      expect(response.body).not.toContain('OTHER SECRET')
      expect(response.body).not.toContain(theirs.id)
    }
    expect(llm.requests.length).toBe(requests)
    expect((await messagesOf(theirs.id, otherWriter)).map((m) => m.content)).toEqual(['OTHER SECRET message'])
    // Their own chat works and sees only their data.
    const { result: response, requests: wire } = await onTheWire(() =>
      chat({ character_id: otherChef.id, session_id: theirs.id, content: 'Am I allergic to peanuts?' }, otherWriter),
    )
    expect(response.statusCode, response.body).toBe(201)
    const recalled = (response.json<ChatAnswer>().message.context as { memories: Recalled[] }).memories
    expect(recalled.map((m) => m.id)).toEqual([otherAliceMemories[0]!.id])
    const prompt = JSON.stringify(wire[0]!.body)
    for (const memory of [...aliceMemories, ...bobMemories]) expect(prompt).not.toContain(memory.content)
    expect(prompt).not.toContain(ROLE)
  })

  it('answers 404 for another GPT\'s session on generate and resume, and for its messages', async () => {
    const theirs = await chatOk({ character_id: otherChef.id, user_id: 'alice', content: 'Mine' }, otherWriter)
    for (const url of [`/v1/sessions/${theirs.session_id}/generate`, `/v1/sessions/${theirs.session_id}/resume`]) {
      expectProblem(await call('POST', url, {}), 404, url, 'not-found')
    }
    for (const url of [`/v1/messages/${theirs.message.id}`, `/v1/messages/${theirs.message.id}/stream`]) {
      expectProblem(await call('GET', url), 404, url, 'not-found')
    }
  })

  it('keeps users apart: each new chat is its own session, and a reply never recalls another user\'s memories', async () => {
    const alice = await chatOk({ character_id: rememberingChef.id, user_id: 'alice', content: 'Peanut allergy: what to avoid?' })
    const bob = await chatOk({ character_id: rememberingChef.id, user_id: 'bob', content: 'Peanut allergy: what to avoid?' })
    expect(alice.session_id).not.toBe(bob.session_id)
    expect(await ok<SessionView>('GET', `/v1/sessions/${alice.session_id}`)).toMatchObject({ user_id: 'alice' })
    expect(await ok<SessionView>('GET', `/v1/sessions/${bob.session_id}`)).toMatchObject({ user_id: 'bob' })
    const ids = (answer: ChatAnswer) => (answer.message.context as { memories: Recalled[] }).memories.map((m) => m.id)
    expect(ids(alice).every((id) => aliceMemories.some((m) => m.id === id))).toBe(true)
    expect(ids(bob).every((id) => bobMemories.some((m) => m.id === id))).toBe(true)
    for (const answer of [alice, bob]) {
      expect((await messagesOf(answer.session_id)).map((m) => m.id)).toEqual([expect.any(String), answer.message.id])
    }
  })
})
