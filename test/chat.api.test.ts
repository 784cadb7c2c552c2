import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, type TestApp, injectJson } from './helpers/test-app.js'
import type { SessionView } from '../src/modules/chat/sessions.schemas.js'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'
import { walkPages } from './helpers/pages.js'

interface SessionList {
  sessions: SessionView[]
  next_cursor: string | null
  has_more: boolean
}
type Status = 'pending' | 'in_progress' | 'complete' | 'failed'
interface MessageList {
  messages: MessageView[]
  next_cursor: string | null
  has_more: boolean
}

const GPT = 'chat-gpt'
const OTHER = 'chat-other'
const SESSIONS = `/v1/gpts/${GPT}/sessions`
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'
/** MAX_MESSAGE_CHARS for this file. */
const MAX = 40

let t: TestApp
let writer: string
let reader: string
let otherWriter: string
let character: { id: string }

beforeAll(async () => {
  t = await createTestApp({ env: { MAX_MESSAGE_CHARS: String(MAX) } })
  writer = (await createGptWithKey(t.services, GPT)).token
  reader = (await createGptWithKey(t.services, GPT, ['read'])).token
  otherWriter = (await createGptWithKey(t.services, OTHER)).token
  character = await ok('POST', `/v1/gpts/${GPT}/characters`, { name: 'Guide', agent_role: 'You guide.' })
})

afterAll(async () => {
  await t?.close()
})

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

function call(method: Method, url: string, payload?: unknown, token = writer, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return injectJson(t.app, method, url, { ...bearer(token), ...headers }, payload)
}

async function ok<T>(method: Method, url: string, payload?: unknown, token = writer): Promise<T> {
  const response = await call(method, url, payload, token)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(method === 'POST' ? 201 : method === 'DELETE' ? 204 : 200)
  return (method === 'DELETE' ? undefined : response.json<T>()) as T
}

const createSession = (body: Record<string, unknown> = {}, gpt = GPT, token = writer) =>
  ok<SessionView>('POST', `/v1/gpts/${gpt}/sessions`, { user_id: 'alice', ...body }, token)
const addMessage = (sessionId: string, body: Record<string, unknown>, token = writer) =>
  ok<MessageView>('POST', `/v1/sessions/${sessionId}/messages`, body, token)
const pointers = (response: LightMyRequestResponse) => (response.json<{ errors?: { pointer: string }[] }>().errors ?? []).map((e) => e.pointer)
const pause = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms))

describe('creating sessions', () => {
  it('answers 201 with the session and its Location', async () => {
    const response = await call('POST', SESSIONS, { user_id: 'alice', name: 'Trip planning', metadata: { topic: 'travel' }, character_id: character.id })
    expect(response.statusCode, response.body).toBe(201)
    const session = response.json<SessionView>()
    expect(session).toEqual({
      id: expect.stringMatching(UUID_V7),
      gpt_id: GPT,
      user_id: 'alice',
      name: 'Trip planning',
      metadata: { topic: 'travel' },
      character_id: character.id,
      is_favorite: false,
      unanswered_message_id: null,
      last_activity_at: expect.stringMatching(ISO),
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    })
    expect(session.last_activity_at).toBe(session.created_at)
    expect(response.headers.location).toBe(`/v1/sessions/${session.id}`)
    expect((await call('GET', `/v1/sessions/${session.id}`, undefined, reader)).json()).toEqual(session)
  })

  it('defaults name, metadata, character and favorite', async () => {
    expect(await createSession()).toMatchObject({ name: null, metadata: {}, character_id: null, is_favorite: false })
    expect(await createSession({ name: null, character_id: null, is_favorite: true })).toMatchObject({ name: null, character_id: null, is_favorite: true })
  })

  it('refuses a character that is missing, deleted or of another GPT with 422 at /character_id', async () => {
    const deleted = await ok<{ id: string }>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Gone', agent_role: 'x' })
    await ok('DELETE', `/v1/characters/${deleted.id}`)
    const foreign = await ok<{ id: string }>('POST', `/v1/gpts/${OTHER}/characters`, { name: 'Theirs', agent_role: 'x' }, otherWriter)
    for (const characterId of [MISSING_ID, deleted.id, foreign.id]) {
      const response = await call('POST', SESSIONS, { user_id: 'alice', character_id: characterId })
      const problem = expectProblem(response, 422, SESSIONS, 'validation-failed')
      expect(problem.errors).toEqual([{ pointer: '/character_id', location: 'body', message: expect.stringContaining('not a character') }])
    }
  })

  it.each([
    { name: 'missing user_id', body: { user_id: undefined }, pointer: '/user_id' },
    { name: 'empty user_id', body: { user_id: '' }, pointer: '/user_id' },
    { name: 'user_id of 201 characters', body: { user_id: 'u'.repeat(201) }, pointer: '/user_id' },
    { name: 'numeric user_id', body: { user_id: 12 }, pointer: '/user_id' },
    { name: 'empty name', body: { name: '' }, pointer: '/name' },
    { name: 'name of 201 characters', body: { name: 'n'.repeat(201) }, pointer: '/name' },
    { name: 'metadata not an object', body: { metadata: ['a'] }, pointer: '/metadata' },
    { name: 'character_id not a uuid', body: { character_id: 'guide' }, pointer: '/character_id' },
    { name: 'is_favorite "yes"', body: { is_favorite: 'yes' }, pointer: '/is_favorite' },
    { name: 'unknown member', body: { owner: 'x' }, pointer: '/owner' },
  ])('refuses $name with 422 at $pointer', async ({ body, pointer }) => {
    const response = await call('POST', SESSIONS, { user_id: 'alice', ...body })
    const problem = expectProblem(response, 422, SESSIONS, 'validation-failed')
    expect(new Set(pointers(response))).toEqual(new Set([pointer]))
    for (const error of problem.errors!) expect(error.location).toBe('body')
  })

  it('refuses metadata nested deeper than MAX_JSON_DEPTH', async () => {
    let deep: Record<string, unknown> = {}
    for (let i = 0; i < 40; i++) deep = { d: deep }
    const response = await call('POST', SESSIONS, { user_id: 'alice', metadata: deep })
    expectProblem(response, 422, SESSIONS, 'validation-failed')
    expect(pointers(response)).toEqual(['/metadata'])
  })

  it('needs a key (401), the write scope and a GPT key of this GPT (403)', async () => {
    expectProblem(await call('POST', SESSIONS, { user_id: 'x' }, reader), 403, SESSIONS, 'forbidden')
    expectProblem(await call('POST', SESSIONS, { user_id: 'x' }, otherWriter), 403, SESSIONS, 'forbidden')
    expectProblem(await t.app.inject({ method: 'POST', url: SESSIONS, payload: { user_id: 'x' } }), 401, SESSIONS, 'unauthorized')
    const agent = await ok<{ id: string }>('POST', `/v1/gpts/${GPT}/agents`, { name: 'chat-agent' })
    const agentKey = (await t.services.keys.createKey(GPT, { agent_id: agent.id, scopes: ['read', 'write'] })).key
    const session = await createSession()
    for (const [method, url, body] of [
      ['POST', SESSIONS, { user_id: 'x' }],
      ['GET', SESSIONS, undefined],
      ['GET', `/v1/sessions/${session.id}`, undefined],
      ['POST', `/v1/sessions/${session.id}/messages`, { sender: 'user', content: 'hi' }],
      ['GET', `/v1/sessions/${session.id}/messages`, undefined],
    ] as const) {
      expectProblem(await call(method, url, body, agentKey), 403, url, 'forbidden')
    }
  })
})

describe('reading, changing and deleting sessions', () => {
  it('answers 404 for an unknown session and 422 for a malformed id', async () => {
    const url = `/v1/sessions/${MISSING_ID}`
    expectProblem(await call('GET', url), 404, url, 'not-found')
    expectProblem(await call('PATCH', url, { name: 'x' }), 404, url, 'not-found')
    expectProblem(await call('DELETE', url), 404, url, 'not-found')
    expectProblem(await call('GET', `${url}/messages`), 404, `${url}/messages`, 'not-found')
    expectProblem(await call('POST', `${url}/messages`, { sender: 'user', content: 'hi' }), 404, `${url}/messages`, 'not-found')
    const bad = await call('GET', '/v1/sessions/nope')
    expectProblem(bad, 422, '/v1/sessions/nope', 'validation-failed')
    expect(pointers(bad)).toEqual(['/id'])
  })

  it('PATCH renames, favorites, merges metadata by key and changes the character; activity stays', async () => {
    const session = await createSession({ name: 'Old', metadata: { a: 1, nested: { x: 1 }, keep: true } })
    await pause()
    const url = `/v1/sessions/${session.id}`
    const patched = await ok<SessionView>('PATCH', url, { name: 'New', is_favorite: true, metadata: { a: 2, nested: { y: 2 } }, character_id: character.id })
    expect(patched).toEqual({
      ...session,
      name: 'New',
      is_favorite: true,
      metadata: { a: 2, nested: { y: 2 }, keep: true },
      character_id: character.id,
      updated_at: expect.stringMatching(ISO),
    })
    expect(Date.parse(patched.updated_at)).toBeGreaterThan(Date.parse(session.updated_at))
    expect(patched.last_activity_at).toBe(session.last_activity_at)
    const cleared = await ok<SessionView>('PATCH', url, { name: null, character_id: null, is_favorite: false })
    expect(cleared).toMatchObject({ name: null, character_id: null, is_favorite: false, metadata: { a: 2, keep: true } })
    expect((await call('GET', url)).json()).toEqual(cleared)
  })

  it.each([
    { name: 'empty body', body: {}, pointer: '' },
    { name: 'empty name', body: { name: '' }, pointer: '/name' },
    { name: 'is_favorite null', body: { is_favorite: null }, pointer: '/is_favorite' },
    { name: 'metadata null', body: { metadata: null }, pointer: '/metadata' },
    { name: 'user_id (not changeable)', body: { user_id: 'bob' }, pointer: '/user_id' },
    { name: 'character_id not a uuid', body: { character_id: 7 }, pointer: '/character_id' },
    { name: 'unknown character', body: { character_id: MISSING_ID }, pointer: '/character_id' },
  ])('PATCH refuses $name with 422 at "$pointer" and changes nothing', async ({ body, pointer }) => {
    const session = await createSession({ name: 'steady' })
    const url = `/v1/sessions/${session.id}`
    const response = await call('PATCH', url, body)
    expectProblem(response, 422, url, 'validation-failed')
    expect(new Set(pointers(response))).toEqual(new Set([pointer]))
    expect((await call('GET', url)).json()).toEqual(session)
  })

  it('PATCH and DELETE need the write scope', async () => {
    const session = await createSession()
    const url = `/v1/sessions/${session.id}`
    expectProblem(await call('PATCH', url, { name: 'x' }, reader), 403, url, 'forbidden')
    expectProblem(await call('DELETE', url, undefined, reader), 403, url, 'forbidden')
  })

  it('DELETE removes the session with all its messages', async () => {
    const session = await createSession()
    const messages = [
      await addMessage(session.id, { sender: 'user', content: 'one' }),
      await addMessage(session.id, { sender: 'ai', status: 'pending' }),
    ]
    const url = `/v1/sessions/${session.id}`
    const response = await call('DELETE', url)
    expect(response.statusCode).toBe(204)
    expect(response.body).toBe('')
    expectProblem(await call('GET', url), 404, url, 'not-found')
    expectProblem(await call('DELETE', url), 404, url, 'not-found')
    expectProblem(await call('GET', `${url}/messages`), 404, `${url}/messages`, 'not-found')
    for (const message of messages) {
      const messageUrl = `/v1/messages/${message.id}`
      expectProblem(await call('GET', messageUrl), 404, messageUrl, 'not-found')
      expectProblem(await call('PATCH', messageUrl, { context: null }), 404, messageUrl, 'not-found')
    }
  })
})

describe('listing sessions', () => {
  const LIST_GPT = 'chat-list'
  const LIST = `/v1/gpts/${LIST_GPT}/sessions`
  let token: string
  /** In creation order. */
  const made: SessionView[] = []
  const names = ['Trip to Paris', 'paris notes', '100% sure', 'a_b', 'a\\b', 'axb', null]

  const list = async (query: string) => {
    const response = await call('GET', `${LIST}?${query}`, undefined, token)
    expect(response.statusCode, response.body).toBe(200)
    return response.json<SessionList>()
  }

  beforeAll(async () => {
    token = (await createGptWithKey(t.services, LIST_GPT)).token
    for (const [index, name] of names.entries()) {
      made.push(await createSession({ name, user_id: index % 2 === 0 ? 'alice' : 'bob', is_favorite: index < 2 }, LIST_GPT, token))
      await pause(2)
    }
  })

  it('lists the most recently active first, and walks every page with the cursor and Link', async () => {
    const { items: seen, pages } = await walkPages<SessionView>((url) => call('GET', url, undefined, token), `${LIST}?limit=3`, 'sessions', 'http://agentstore.test/v1/gpts/chat-list/sessions')
    expect(pages).toBe(3)
    expect(seen.map((s) => s.id)).toEqual(made.map((s) => s.id).reverse())
  })

  it('lists the least recently active first with order=asc, keeping filters across pages', async () => {
    const first = await list('order=asc&user_id=alice&limit=2')
    expect(first.has_more).toBe(true)
    const second = await list(`order=asc&user_id=alice&limit=2&cursor=${first.next_cursor}`)
    const alice = made.filter((_, index) => index % 2 === 0).map((s) => s.id)
    expect([...first.sessions, ...second.sessions].map((s) => s.id)).toEqual(alice)
  })

  it.each([
    { query: 'user_id=alice', expected: [0, 2, 4, 6] },
    { query: 'user_id=bob', expected: [1, 3, 5] },
    { query: 'user_id=carol', expected: [] },
    { query: 'favorite=true', expected: [0, 1] },
    { query: 'favorite=false', expected: [2, 3, 4, 5, 6] },
    { query: 'favorite=true&user_id=bob', expected: [1] },
    { query: 'q=paris', expected: [0, 1] },
    { query: 'q=PARIS', expected: [0, 1] },
    { query: 'q=to%20par', expected: [0] },
    { query: 'q=%25', expected: [2] },
    { query: 'q=_', expected: [3] },
    { query: 'q=%5C', expected: [4] },
    { query: 'q=a_b', expected: [3] },
    { query: 'q=x', expected: [5] },
    { query: 'q=zzz', expected: [] },
    { query: 'q=paris&user_id=bob', expected: [1] },
  ])('filters with ?$query', async ({ query, expected }) => {
    const page = await list(query)
    expect(page.sessions.map((s) => s.id)).toEqual(expected.map((index) => made[index]!.id).reverse())
  })

  it('moves a session to the top when it gets a message', async () => {
    const oldest = made[0]!
    await pause()
    const message = await addMessage(oldest.id, { sender: 'user', content: 'back again' }, token)
    const page = await list('limit=2')
    expect(page.sessions[0]!.id).toBe(oldest.id)
    expect(page.sessions[0]!.last_activity_at).toBe(message.created_at)
    expect(page.sessions[0]!.updated_at).toBe(message.created_at)
    expect(Date.parse(page.sessions[0]!.last_activity_at)).toBeGreaterThan(Date.parse(oldest.last_activity_at))
    expect(page.sessions[1]!.id).toBe(made[made.length - 1]!.id)
    expect((await list('order=asc&limit=1')).sessions[0]!.id).toBe(made[1]!.id)
    made.push(made.shift()!)
  })

  it.each([
    { name: 'garbage', cursor: () => Promise.resolve('%%%') },
    { name: 'a cursor of another order', cursor: async () => (await list('order=asc&limit=1')).next_cursor! },
    { name: "another list's cursor", cursor: async () => (await list('limit=1')).next_cursor!.replace(/./, (c) => (c === 'e' ? 'f' : 'e')) },
    { name: "a characters list's cursor", cursor: async () => {
      await ok('POST', `/v1/gpts/${LIST_GPT}/characters`, { name: 'a', agent_role: 'b' }, token)
      await ok('POST', `/v1/gpts/${LIST_GPT}/characters`, { name: 'c', agent_role: 'd' }, token)
      return (await ok<{ next_cursor: string }>('GET', `/v1/gpts/${LIST_GPT}/characters?limit=1&order=desc`, undefined, token)).next_cursor
    } },
  ])('answers 400 for $name', async ({ cursor }) => {
    const url = `${LIST}?cursor=${encodeURIComponent(await cursor())}`
    expectProblem(await call('GET', url, undefined, token), 400, url, 'invalid-cursor')
  })

  it.each([
    { query: 'favorite=maybe', pointer: '/favorite' },
    { query: 'q=', pointer: '/q' },
    { query: `q=${'q'.repeat(201)}`, pointer: '/q' },
    { query: 'user_id=', pointer: '/user_id' },
    { query: 'limit=0', pointer: '/limit' },
    { query: 'limit=201', pointer: '/limit' },
    { query: 'order=newest', pointer: '/order' },
    { query: 'sort=name', pointer: '/sort' },
  ])('answers 422 for ?$query', async ({ query, pointer }) => {
    const url = `${LIST}?${query}`
    const response = await call('GET', url, undefined, token)
    const problem = expectProblem(response, 422, url, 'validation-failed')
    expect(pointers(response)).toContain(pointer)
    expect(problem.errors!.every((e) => e.location === 'query')).toBe(true)
  })

  it('is readable with a read-only key', async () => {
    expect((await call('GET', SESSIONS, undefined, reader)).statusCode).toBe(200)
  })
})

describe('adding messages', () => {
  let session: SessionView

  beforeAll(async () => {
    session = await createSession({ name: 'messages', character_id: character.id })
  })

  it('answers 201 with the message and its Location, and marks activity on the session', async () => {
    await pause()
    const url = `/v1/sessions/${session.id}/messages`
    const response = await call('POST', url, { sender: 'user', content: 'Where to?', context: { docs: [{ id: 'd1', score: 0.9 }] } })
    expect(response.statusCode, response.body).toBe(201)
    const message = response.json<MessageView>()
    expect(message).toEqual({
      id: expect.stringMatching(UUID_V7),
      session_id: session.id,
      gpt_id: GPT,
      sender: 'user',
      content: 'Where to?',
      context: { docs: [{ id: 'd1', score: 0.9 }] },
      status: 'complete',
      partial_content: '',
      error_message: null,
      model: null,
      character_id: null,
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    })
    expect(response.headers.location).toBe(`/v1/messages/${message.id}`)
    expect((await call('GET', `/v1/messages/${message.id}`, undefined, reader)).json()).toEqual(message)
    const after = await ok<SessionView>('GET', `/v1/sessions/${session.id}`)
    expect(after.last_activity_at).toBe(message.created_at)
    expect(after.updated_at).toBe(message.created_at)
    expect(Date.parse(after.last_activity_at)).toBeGreaterThan(Date.parse(session.last_activity_at))
  })

  it.each([
    { name: 'user', body: { sender: 'user', content: 'hi' } },
    { name: 'system', body: { sender: 'system', content: 'Be brief.', status: 'complete' } },
    { name: 'tool', body: { sender: 'tool', content: '{"temp": 21}', context: null } },
    { name: 'AI, complete', body: { sender: 'ai', content: 'Paris.', model: 'gpt-4o-mini' } },
    { name: 'AI, pending and empty', body: { sender: 'ai', status: 'pending' } },
    { name: 'AI, in progress', body: { sender: 'ai', status: 'in_progress', partial_content: 'Par' } },
    { name: 'AI, failed', body: { sender: 'ai', status: 'failed', partial_content: 'Pa', error_message: 'timeout' } },
  ])('stores a $name message', async ({ body }) => {
    const message = await addMessage(session.id, body)
    expect(message).toMatchObject({
      ...body,
      status: (body as { status?: string }).status ?? 'complete',
      context: (body as { context?: unknown }).context ?? null,
      // AI messages carry the session's character.
      character_id: body.sender === 'ai' ? character.id : null,
    })
  })

  it('takes partial_content as the content of an AI message stored complete without content', async () => {
    expect(await addMessage(session.id, { sender: 'ai', partial_content: 'All of it' })).toMatchObject({ content: 'All of it', status: 'complete' })
  })

  it.each([
    { name: 'a string', context: 'plain text' },
    { name: 'a number', context: 42 },
    { name: 'an array', context: [1, 'two', { three: 3 }] },
    { name: 'false', context: false },
    { name: 'null', context: null },
  ])('keeps a context that is $name', async ({ context }) => {
    const message = await addMessage(session.id, { sender: 'user', content: 'c', context })
    expect(message.context).toEqual(context)
    expect((await ok<MessageView>('GET', `/v1/messages/${message.id}`)).context).toEqual(context)
  })

  it(`takes content of exactly MAX_MESSAGE_CHARS (${MAX}) characters and refuses one more, naming the limit`, async () => {
    const url = `/v1/sessions/${session.id}/messages`
    expect((await addMessage(session.id, { sender: 'user', content: 'x'.repeat(MAX) })).content).toHaveLength(MAX)
    // Characters, not bytes or UTF-16 units.
    expect((await addMessage(session.id, { sender: 'user', content: '😀'.repeat(MAX) })).content).toBe('😀'.repeat(MAX))
    for (const member of ['content', 'partial_content'] as const) {
      const body = member === 'content' ? { sender: 'user', content: 'x'.repeat(MAX + 1) } : { sender: 'ai', status: 'in_progress', partial_content: 'x'.repeat(MAX + 1) }
      const problem = expectProblem(await call('POST', url, body), 422, url, 'validation-failed')
      expect(problem.errors).toEqual([expect.objectContaining({ pointer: `/${member}`, message: expect.stringContaining(String(MAX)) })])
    }
  })

  it.each([
    { name: 'a user message with status pending', body: { sender: 'user', content: 'x', status: 'pending' }, pointers: ['/status'] },
    { name: 'a tool message with status failed', body: { sender: 'tool', content: 'x', status: 'failed' }, pointers: ['/status'] },
    { name: 'a user message with partial_content', body: { sender: 'user', content: 'x', partial_content: 'y' }, pointers: ['/partial_content'] },
    { name: 'a system message with error_message', body: { sender: 'system', content: 'x', error_message: 'e' }, pointers: ['/error_message'] },
    { name: 'a user message with a model', body: { sender: 'user', content: 'x', model: 'm' }, pointers: ['/model'] },
    { name: 'a user message with empty content', body: { sender: 'user', content: '' }, pointers: ['/content'] },
    { name: 'a user message without content', body: { sender: 'user' }, pointers: ['/content'] },
    { name: 'a system message without content', body: { sender: 'system', content: '' }, pointers: ['/content'] },
    { name: 'a complete AI message without content', body: { sender: 'ai', status: 'complete' }, pointers: ['/content'] },
    { name: 'an error_message on an in-progress AI message', body: { sender: 'ai', status: 'in_progress', error_message: 'e' }, pointers: ['/error_message'] },
    { name: 'an error_message on a complete AI message', body: { sender: 'ai', content: 'x', error_message: 'e' }, pointers: ['/error_message'] },
    { name: 'several broken rules at once', body: { sender: 'user', status: 'pending', model: 'm' }, pointers: ['/status', '/model', '/content'] },
    { name: 'an unknown sender', body: { sender: 'bot', content: 'x' }, pointers: ['/sender'] },
    { name: 'no sender', body: { content: 'x' }, pointers: ['/sender'] },
    { name: 'an unknown status', body: { sender: 'ai', content: 'x', status: 'done' }, pointers: ['/status'] },
    { name: 'numeric content', body: { sender: 'user', content: 5 }, pointers: ['/content'] },
    { name: 'an empty error_message', body: { sender: 'ai', status: 'failed', error_message: '' }, pointers: ['/error_message'] },
    { name: 'an empty model', body: { sender: 'ai', content: 'x', model: '' }, pointers: ['/model'] },
    { name: 'an unknown member', body: { sender: 'user', content: 'x', mood: 'happy' }, pointers: ['/mood'] },
  ])('refuses $name with 422', async ({ body, pointers: expected }) => {
    const url = `/v1/sessions/${session.id}/messages`
    const before = (await ok<MessageList>('GET', `${url}?limit=200`)).messages.length
    const response = await call('POST', url, body)
    const problem = expectProblem(response, 422, url, 'validation-failed')
    expect(new Set(pointers(response))).toEqual(new Set(expected))
    for (const error of problem.errors!) expect(error.location).toBe('body')
    expect((await ok<MessageList>('GET', `${url}?limit=200`)).messages).toHaveLength(before)
  })

  it('refuses a context nested deeper than MAX_JSON_DEPTH', async () => {
    let deep: unknown = 'leaf'
    for (let i = 0; i < 40; i++) deep = [deep]
    const url = `/v1/sessions/${session.id}/messages`
    const response = await call('POST', url, { sender: 'user', content: 'x', context: deep })
    expectProblem(response, 422, url, 'validation-failed')
    expect(pointers(response)).toEqual(['/context'])
  })

  it('stores a message once per Idempotency-Key and replays the answer', async () => {
    const fresh = await createSession()
    const url = `/v1/sessions/${fresh.id}/messages`
    const headers = { 'idempotency-key': 'msg-1' }
    const first = await call('POST', url, { sender: 'user', content: 'once' }, writer, headers)
    expect(first.statusCode, first.body).toBe(201)
    const again = await call('POST', url, { sender: 'user', content: 'once' }, writer, headers)
    expect(again.statusCode).toBe(201)
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect(again.json()).toEqual(first.json())
    expect(again.headers.location).toBe(first.headers.location)
    expect((await ok<MessageList>('GET', url)).messages).toHaveLength(1)
    const reused = await call('POST', url, { sender: 'user', content: 'something else' }, writer, headers)
    expectProblem(reused, 422, url, 'validation-failed')
    // A request that failed stores nothing under its key.
    const missing = `/v1/sessions/${MISSING_ID}/messages`
    expectProblem(await call('POST', missing, { sender: 'user', content: 'x' }, writer, { 'idempotency-key': 'msg-2' }), 404, missing, 'not-found')
    expect((await call('POST', url, { sender: 'user', content: 'x' }, writer, { 'idempotency-key': 'msg-2' })).statusCode).toBe(201)
  })

  it('needs the write scope to add and the read scope to list', async () => {
    const url = `/v1/sessions/${session.id}/messages`
    expectProblem(await call('POST', url, { sender: 'user', content: 'x' }, reader), 403, url, 'forbidden')
    expect((await call('GET', url, undefined, reader)).statusCode).toBe(200)
  })
})

describe('listing messages', () => {
  let session: SessionView
  const made: MessageView[] = []

  beforeAll(async () => {
    session = await createSession({ name: 'history' })
    for (let i = 0; i < 5; i++) made.push(await addMessage(session.id, { sender: i % 2 === 0 ? 'user' : 'ai', content: `m${i}` }))
  })

  it('lists oldest first and walks every page with the cursor and Link', async () => {
    const seen: MessageView[] = []
    let url: string | null = `/v1/sessions/${session.id}/messages?limit=2`
    let pages = 0
    while (url !== null) {
      const response = await call('GET', url, undefined, reader)
      expect(response.statusCode, response.body).toBe(200)
      const page = response.json<MessageList>()
      seen.push(...page.messages)
      pages++
      const link = response.headers.link as string | undefined
      if (page.has_more) {
        expect(link).toMatch(new RegExp(`^<http://agentstore\\.test/v1/sessions/${session.id}/messages\\?[^>]+>; rel="next"$`))
        const target = new URL(/^<([^>]+)>/.exec(link!)![1]!)
        url = `${target.pathname}${target.search}`
      } else {
        expect(link).toBeUndefined()
        expect(page.next_cursor).toBeNull()
        url = null
      }
    }
    expect(pages).toBe(3)
    expect(seen).toEqual(made)
  })

  it('lists newest first with order=desc', async () => {
    const page = await ok<MessageList>('GET', `/v1/sessions/${session.id}/messages?order=desc`)
    expect(page.messages.map((m) => m.content)).toEqual(['m4', 'm3', 'm2', 'm1', 'm0'])
  })

  it('refuses a cursor of another session or order (400)', async () => {
    const other = await createSession()
    await addMessage(other.id, { sender: 'user', content: 'a' })
    await addMessage(other.id, { sender: 'user', content: 'b' })
    const foreignCursor = (await ok<MessageList>('GET', `/v1/sessions/${other.id}/messages?limit=1`)).next_cursor!
    const descCursor = (await ok<MessageList>('GET', `/v1/sessions/${session.id}/messages?limit=1&order=desc`)).next_cursor!
    for (const cursor of [foreignCursor, descCursor, 'bm90LWpzb24']) {
      const url = `/v1/sessions/${session.id}/messages?cursor=${cursor}`
      expectProblem(await call('GET', url), 400, url, 'invalid-cursor')
    }
  })

  it('gives generation the last messages, oldest first', async () => {
    const recent = await t.services.messages.recentMessages(GPT, session.id, 3)
    expect(recent.map((m) => m.content)).toEqual(['m2', 'm3', 'm4'])
    expect(await t.services.messages.recentMessages(GPT, session.id, 0)).toEqual([])
    expect((await t.services.messages.recentMessages(GPT, session.id, 100)).map((m) => m.id)).toEqual(made.map((m) => m.id))
  })
})

describe('message status', () => {
  let session: SessionView

  beforeAll(async () => {
    session = await createSession({ name: 'status' })
  })

  /** A new AI message in the given status. */
  const aiMessage = (status: Status, extra: Record<string, unknown> = {}) =>
    addMessage(session.id, { sender: 'ai', status, ...(status === 'complete' ? { content: 'done' } : {}), ...extra })

  const ALLOWED: Record<Status, Status[]> = {
    pending: ['pending', 'in_progress', 'failed'],
    in_progress: ['in_progress', 'complete', 'failed'],
    complete: [],
    failed: ['in_progress'],
  }
  const STATUSES: Status[] = ['pending', 'in_progress', 'complete', 'failed']
  const pairs = STATUSES.flatMap((from) => STATUSES.map((to) => ({ from, to, expected: ALLOWED[from].includes(to) ? 200 : 409 })))

  it('covers all 16 pairs', () => {
    expect(pairs).toHaveLength(16)
    expect(pairs.filter((p) => p.expected === 200)).toHaveLength(7)
  })

  it.each(pairs)('$from → $to answers $expected', async ({ from, to, expected }) => {
    const message = await aiMessage(from)
    const url = `/v1/messages/${message.id}`
    const response = await call('PATCH', url, { status: to, ...(to === 'complete' ? { content: 'final' } : {}) })
    if (expected === 200) {
      expect(response.statusCode, response.body).toBe(200)
      expect(response.json<MessageView>()).toMatchObject({ status: to, ...(to === 'complete' ? { content: 'final' } : {}) })
    } else {
      const problem = expectProblem(response, 409, url, 'conflict')
      if (from === 'complete') expect(problem.detail).toContain('complete is final')
      else expect(problem.detail).toContain(`from ${from} to ${to}`)
      expect((await ok<MessageView>('GET', url)).status).toBe(from)
    }
  })

  it.each([
    { name: 'its context', body: { context: { late: true } } },
    { name: 'its partial content', body: { partial_content: 'more' } },
    { name: 'its content', body: { content: 'edited' } },
    { name: 'its status, to complete again', body: { status: 'complete', content: 'again' } },
  ])('never changes a complete AI message, not even $name (409)', async ({ body }) => {
    const message = await aiMessage('complete')
    const url = `/v1/messages/${message.id}`
    const problem = expectProblem(await call('PATCH', url, body), 409, url, 'conflict')
    expect(problem.detail).toContain('complete is final')
    expect(await ok('GET', url)).toEqual(message)
  })

  it('saves progress while in progress, and completing takes partial_content as the content', async () => {
    const message = await aiMessage('pending', { model: 'm-1' })
    const url = `/v1/messages/${message.id}`
    expect(await ok('PATCH', url, { status: 'in_progress' })).toMatchObject({ status: 'in_progress', partial_content: '' })
    expect(await ok('PATCH', url, { partial_content: 'The' })).toMatchObject({ status: 'in_progress', partial_content: 'The' })
    expect(await ok('PATCH', url, { status: 'in_progress', partial_content: 'The answer' })).toMatchObject({ partial_content: 'The answer' })
    const done = await ok<MessageView>('PATCH', url, { status: 'complete' })
    expect(done).toMatchObject({ status: 'complete', content: 'The answer', partial_content: 'The answer', model: 'm-1', error_message: null })
    expect(Date.parse(done.updated_at)).toBeGreaterThanOrEqual(Date.parse(message.updated_at))
  })

  it('completing with partial_content in the same request takes that as the content', async () => {
    const message = await aiMessage('in_progress', { partial_content: 'old' })
    expect(await ok('PATCH', `/v1/messages/${message.id}`, { status: 'complete', partial_content: 'newer' })).toMatchObject({ content: 'newer', partial_content: 'newer' })
  })

  it('refuses to complete a message with no content at all (422 at /content)', async () => {
    const message = await aiMessage('in_progress')
    const url = `/v1/messages/${message.id}`
    const response = await call('PATCH', url, { status: 'complete' })
    expectProblem(response, 422, url, 'validation-failed')
    expect(pointers(response)).toEqual(['/content'])
    expect((await ok<MessageView>('GET', url)).status).toBe('in_progress')
  })

  it('fails with an error message, and a retry clears it but keeps the partial content', async () => {
    const message = await aiMessage('in_progress', { partial_content: 'Half' })
    const url = `/v1/messages/${message.id}`
    expect(await ok('PATCH', url, { status: 'failed', error_message: 'provider timeout' })).toMatchObject({
      status: 'failed',
      error_message: 'provider timeout',
      partial_content: 'Half',
    })
    expect(await ok('PATCH', url, { status: 'in_progress' })).toMatchObject({ status: 'in_progress', error_message: null, partial_content: 'Half' })
    expect(await ok('PATCH', url, { status: 'failed' })).toMatchObject({ status: 'failed', error_message: null })
    expect(await ok('PATCH', url, { status: 'in_progress', partial_content: 'Half and more' })).toMatchObject({ partial_content: 'Half and more' })
    expect(await ok('PATCH', url, { status: 'complete' })).toMatchObject({ status: 'complete', content: 'Half and more' })
  })

  it.each([
    { name: 'pending', status: 'pending' as Status, body: { error_message: 'x' } },
    { name: 'in_progress', status: 'in_progress' as Status, body: { error_message: 'x' } },
    { name: 'pending, moving to in_progress', status: 'pending' as Status, body: { status: 'in_progress', error_message: 'x' } },
    { name: 'failed, moving to in_progress', status: 'failed' as Status, body: { status: 'in_progress', error_message: 'x' } },
    { name: 'in_progress, moving to complete', status: 'in_progress' as Status, body: { status: 'complete', content: 'c', error_message: 'x' } },
  ])('refuses an error_message unless the status is failed ($name → 422)', async ({ status, body }) => {
    const message = await aiMessage(status)
    const url = `/v1/messages/${message.id}`
    const response = await call('PATCH', url, body)
    expectProblem(response, 422, url, 'validation-failed')
    expect(pointers(response)).toEqual(['/error_message'])
    expect(await ok('GET', url)).toEqual(message)
  })

  it('a PATCH that keeps the status follows the same rules (failed stays put: 409)', async () => {
    const failed = await aiMessage('failed', { error_message: 'boom' })
    const url = `/v1/messages/${failed.id}`
    const problem = expectProblem(await call('PATCH', url, { context: { note: 1 } }), 409, url, 'conflict')
    expect(problem.detail).toContain('from failed to failed')
    const pending = await aiMessage('pending')
    expect(await ok('PATCH', `/v1/messages/${pending.id}`, { context: { note: 1 } })).toMatchObject({ status: 'pending', context: { note: 1 } })
  })

  it.each(['user', 'system', 'tool'] as const)('keeps a %s message as history: only its context can change', async (sender) => {
    const message = await addMessage(session.id, { sender, content: 'said' })
    const url = `/v1/messages/${message.id}`
    const patched = await ok<MessageView>('PATCH', url, { context: ['doc-1'] })
    expect(patched).toMatchObject({ content: 'said', status: 'complete', context: ['doc-1'] })
    expect(await ok('PATCH', url, { context: null })).toMatchObject({ context: null })
    for (const [body, expected] of [
      [{ content: 'rewritten' }, ['/content']],
      [{ status: 'complete' }, ['/status']],
      [{ partial_content: 'x', error_message: 'y', context: 1 }, ['/partial_content', '/error_message']],
    ] as const) {
      const response = await call('PATCH', url, body)
      expectProblem(response, 422, url, 'validation-failed')
      expect(new Set(pointers(response))).toEqual(new Set(expected))
    }
    expect((await ok<MessageView>('GET', url)).content).toBe('said')
  })

  it.each([
    { name: 'an empty body', body: {}, pointer: '' },
    { name: 'an unknown status', body: { status: 'done' }, pointer: '/status' },
    { name: 'content over the limit', body: { content: 'x'.repeat(MAX + 1) }, pointer: '/content' },
    { name: 'partial_content over the limit', body: { partial_content: 'x'.repeat(MAX + 1) }, pointer: '/partial_content' },
    { name: 'null content', body: { content: null }, pointer: '/content' },
    { name: 'sender (not changeable)', body: { sender: 'user' }, pointer: '/sender' },
    { name: 'an unknown member', body: { mood: 'x' }, pointer: '/mood' },
  ])('PATCH refuses $name with 422 at "$pointer"', async ({ body, pointer }) => {
    const message = await aiMessage('in_progress')
    const url = `/v1/messages/${message.id}`
    const response = await call('PATCH', url, body)
    expectProblem(response, 422, url, 'validation-failed')
    expect(new Set(pointers(response))).toEqual(new Set([pointer]))
  })

  it('PATCH takes partial_content of exactly MAX_MESSAGE_CHARS', async () => {
    const message = await aiMessage('in_progress')
    expect((await ok<MessageView>('PATCH', `/v1/messages/${message.id}`, { partial_content: 'p'.repeat(MAX) })).partial_content).toHaveLength(MAX)
  })

  it('answers 404 for an unknown message, 422 for a malformed id and 403 without the write scope', async () => {
    const url = `/v1/messages/${MISSING_ID}`
    expectProblem(await call('GET', url), 404, url, 'not-found')
    expectProblem(await call('PATCH', url, { status: 'failed' }), 404, url, 'not-found')
    const bad = await call('PATCH', '/v1/messages/42', { status: 'failed' })
    expectProblem(bad, 422, '/v1/messages/42', 'validation-failed')
    expect(pointers(bad)).toEqual(['/id'])
    const message = await aiMessage('in_progress')
    const own = `/v1/messages/${message.id}`
    expectProblem(await call('PATCH', own, { status: 'failed' }, reader), 403, own, 'forbidden')
    expectProblem(await t.app.inject({ method: 'GET', url: own }), 401, own, 'unauthorized')
  })

  it.each([
    { name: 'complete and failed', bodies: [{ status: 'complete', content: 'won' }, { status: 'failed', error_message: 'lost' }] },
    { name: 'complete and complete', bodies: [{ status: 'complete', content: 'first' }, { status: 'complete', content: 'second' }] },
    { name: 'failed and failed', bodies: [{ status: 'failed', error_message: 'a' }, { status: 'failed', error_message: 'b' }] },
  ])('lets exactly one of two racing transitions win ($name)', async ({ bodies }) => {
    for (let round = 0; round < 5; round++) {
      const message = await aiMessage('in_progress', { partial_content: 'so far' })
      const url = `/v1/messages/${message.id}`
      const responses = await Promise.all(bodies.map((body) => call('PATCH', url, body)))
      expect(responses.map((r) => r.statusCode).sort()).toEqual([200, 409])
      const winner = responses.find((r) => r.statusCode === 200)!.json<MessageView>()
      const loser = responses.find((r) => r.statusCode === 409)!
      expectProblem(loser, 409, url, 'conflict')
      expect(await ok('GET', url)).toEqual(winner)
    }
  })

  it('lets exactly one of two transitions win when both read the message before either writes', async () => {
    // Through the service, both reads are queued before either write, even on PGlite's single connection.
    for (let round = 0; round < 3; round++) {
      const message = await aiMessage('in_progress', { partial_content: 'so far' })
      const results = await Promise.allSettled([
        t.services.messages.updateMessage(GPT, message.id, { status: 'complete' }),
        t.services.messages.updateMessage(GPT, message.id, { status: 'failed', error_message: 'late' }),
      ])
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
      expect(rejected.reason).toMatchObject({ status: 409 })
      const winner = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<MessageView>).value
      expect(await ok('GET', `/v1/messages/${message.id}`)).toEqual(winner)
    }
  })

  it('lets progress updates race with the completion without losing it', async () => {
    const message = await aiMessage('in_progress')
    const url = `/v1/messages/${message.id}`
    const responses = await Promise.all([
      call('PATCH', url, { partial_content: 'a' }),
      call('PATCH', url, { status: 'complete', content: 'final' }),
      call('PATCH', url, { partial_content: 'ab' }),
    ])
    expect(responses[1]!.statusCode, responses[1]!.body).toBe(200)
    for (const response of responses) expect([200, 409]).toContain(response.statusCode)
    expect(await ok('GET', url)).toMatchObject({ status: 'complete', content: 'final' })
  })
})
