import { beforeAll, describe, expect, it } from 'vitest'
import type { SessionView } from '../src/modules/chat/sessions.schemas.js'
import { appFixture, chatCalls, gptKeys, ISO, MISSING_ID, pointers, UUID_V7 } from './helpers/chat.js'
import { walkPages } from './helpers/pages.js'
import { expectProblem } from './helpers/problem.js'
import { createGptWithKey, type TestApp } from './helpers/test-app.js'

// Chat sessions through the API: creating, reading, changing, deleting and listing them.

interface SessionList {
  sessions: SessionView[]
  next_cursor: string | null
  has_more: boolean
}

const GPT = 'chat-gpt'
const OTHER = 'chat-other'
const SESSIONS = `/v1/gpts/${GPT}/sessions`
/** MAX_MESSAGE_CHARS for this file. */
const MAX = 40

let t: TestApp
let writer: string
let reader: string
let otherWriter: string
let character: { id: string }
const app = appFixture({ MAX_MESSAGE_CHARS: String(MAX) })
const { call, ok, createSession, addMessage } = chatCalls(() => ({ app: t, token: writer, gpt: GPT }))

beforeAll(async () => {
  ;({ t } = app)
  ;({ writer, reader, otherWriter } = await gptKeys(t, GPT, OTHER))
  character = await ok('POST', `/v1/gpts/${GPT}/characters`, { name: 'Guide', agent_role: 'You guide.' })
})

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
