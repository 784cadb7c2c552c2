import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectEndUser, registerApp, type TestOAuthApp } from './helpers/oauth.js'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type HttpMethod, type TestApp } from './helpers/test-app.js'

/**
 * Two end users of one GPT, through one app: each sees only their own sessions, messages, memories,
 * search results and per-user documents. Every operation of /openapi.json is walked as alice against
 * bob's items; none may answer with anything of bob's (or of the GPT's own, user-less data).
 */

const GPT = 'end-user-gpt'
const MISSING = '0190a1b2-0000-7000-8000-000000000000'

interface Item {
  id: string
  [key: string]: unknown
}

let t: TestApp
let admin: string
let adminKeyId: string
let client: TestOAuthApp
let alice: { token: string; id: string }
let bob: { token: string; id: string }
let character: Item
const bobs: Record<'session' | 'message' | 'memory' | 'note', Item> = {} as never
const alices: Record<'session' | 'memory' | 'note', Item> = {} as never

async function ok<T = Item>(method: HttpMethod, url: string, token: string, payload?: unknown): Promise<T> {
  const response = await injectJson(t.app, method, url, bearer(token), payload)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300)
  return response.json<T>()
}

async function endUser(email: string): Promise<{ token: string; id: string }> {
  const tokens = await connectEndUser(t.app, client, { email, password: 'End-User-Secret1' })
  const me = await ok<{ end_user_id: string }>('GET', '/v1/me', tokens.access_token)
  return { token: tokens.access_token, id: me.end_user_id }
}

/** What alice must never see: bob's items and words, and the GPT's data that belongs to no end user. */
const giveaways = () => [bobs.session.id, bobs.message.id, bobs.memory.id, bobs.note.id, bob.id, 'bob-secret', 'carol-secret', 'gpt-wide-secret']

beforeAll(async () => {
  t = await createTestApp()
  const key = await createGptWithKey(t.services, GPT, ['read', 'write', 'admin'])
  admin = key.token
  adminKeyId = key.keyId
  client = await registerApp(t.app, GPT, admin)
  alice = await endUser('alice@example.com')
  bob = await endUser('bob@example.com')
  character = await ok('POST', `/v1/gpts/${GPT}/characters`, admin, { name: 'Guide', agent_role: 'You help.' })
  await ok('POST', `/v1/gpts/${GPT}/collections`, admin, { name: 'notes', per_user: true })
  await ok('POST', `/v1/gpts/${GPT}/collections`, admin, { name: 'faq' })
  await ok('POST', `/v1/gpts/${GPT}/collections/faq/objects`, admin, { question: 'shared faq entry' })
  await ok('POST', `/v1/gpts/${GPT}/collections/notes/objects`, admin, { text: 'gpt-wide-secret note' })
  await ok('POST', `/v1/gpts/${GPT}/sessions`, admin, { user_id: 'carol', name: 'carol-secret chat' })
  await ok('POST', `/v1/gpts/${GPT}/memories`, admin, { content: 'gpt-wide-secret memory' })

  bobs.session = await ok('POST', `/v1/gpts/${GPT}/sessions`, bob.token, { name: 'bob-secret chat' })
  bobs.message = await ok('POST', `/v1/sessions/${bobs.session.id}/messages`, bob.token, { sender: 'user', content: 'bob-secret message' })
  bobs.memory = await ok('POST', `/v1/gpts/${GPT}/memories`, bob.token, { content: 'bob-secret memory', entity_type: 'pref', entity_id: 'color' })
  bobs.note = await ok('POST', `/v1/gpts/${GPT}/collections/notes/objects`, bob.token, { text: 'bob-secret note' })

  alices.session = await ok('POST', `/v1/gpts/${GPT}/sessions`, alice.token, { name: 'alice chat' })
  alices.memory = await ok('POST', `/v1/gpts/${GPT}/memories`, alice.token, { content: 'alice memory' })
  alices.note = await ok('POST', `/v1/gpts/${GPT}/collections/notes/objects`, alice.token, { text: 'alice note' })
})

afterAll(async () => {
  await t?.close()
})

describe('what an end user writes is theirs', () => {
  it('sessions, memories and per-user documents carry the end user; shared documents stay shared', async () => {
    expect(bobs.session.user_id).toBe(bob.id)
    expect(bobs.memory.user_id).toBe(bob.id)
    expect(bobs.note.user_id).toBe(bob.id)
    const shared = await ok('POST', `/v1/gpts/${GPT}/collections/faq/objects`, alice.token, { question: 'from alice' })
    expect(shared.user_id).toBeUndefined()
  })

  it('lists show only their own items, and the shared documents', async () => {
    const sessions = await ok<{ sessions: Item[] }>('GET', `/v1/gpts/${GPT}/sessions`, alice.token)
    expect(sessions.sessions.map((s) => s.id)).toEqual([alices.session.id])
    const memories = await ok<{ memories: Item[] }>('GET', `/v1/gpts/${GPT}/memories`, alice.token)
    expect(memories.memories.map((m) => m.id)).toEqual([alices.memory.id])
    const notes = await ok<{ objects: Item[] }>('GET', `/v1/gpts/${GPT}/collections/notes/objects`, alice.token)
    expect(notes.objects.map((o) => o.id)).toEqual([alices.note.id])
    const faq = await ok<{ objects: Item[] }>('GET', `/v1/gpts/${GPT}/collections/faq/objects`, alice.token)
    expect(faq.objects.length).toBe(2)
    // The GPT's key still sees everything.
    const all = await ok<{ objects: Item[] }>('GET', `/v1/gpts/${GPT}/collections/notes/objects`, admin)
    expect(all.objects.length).toBe(3)
  })

  it('search finds their own memories, messages and documents, and shared documents, nothing else', async () => {
    const found = await ok<{ results: { content: string }[] }>('POST', `/v1/gpts/${GPT}/search`, alice.token, { query: 'secret note memory chat faq entry alice', top_k: 50, mode: 'keyword' })
    const text = JSON.stringify(found)
    expect(text).toContain('alice note')
    expect(text).toContain('alice memory')
    expect(text).toContain('shared faq entry')
    for (const giveaway of giveaways()) expect(text).not.toContain(giveaway)
  })

  it('naming another user_id is refused (403), never narrowed', async () => {
    const cases: [HttpMethod, string, unknown][] = [
      ['GET', `/v1/gpts/${GPT}/sessions?user_id=${bob.id}`, undefined],
      ['GET', `/v1/gpts/${GPT}/memories?user_id=${bob.id}`, undefined],
      ['POST', `/v1/gpts/${GPT}/sessions`, { user_id: bob.id }],
      ['POST', `/v1/gpts/${GPT}/memories`, { content: 'x', user_id: bob.id }],
      ['POST', `/v1/gpts/${GPT}/memories`, { content: 'x', user_id: null }],
      ['POST', `/v1/gpts/${GPT}/memories/batch`, { memories: [{ content: 'x', user_id: bob.id }] }],
      ['PATCH', `/v1/memories/${alices.memory.id}`, { user_id: bob.id }],
      ['POST', `/v1/gpts/${GPT}/search`, { query: 'x', filters: { user_id: bob.id } }],
      ['POST', '/v1/chat', { user_id: bob.id, content: 'hi', character_id: character.id }],
    ]
    for (const [method, url, body] of cases) {
      const problem = expectProblem(await injectJson(t.app, method, url, bearer(alice.token), body), 403, url)
      expect(problem.detail).toMatch(/user_id/)
    }
  })

  it("an entity upsert never takes over another user's memory (409)", async () => {
    const response = await injectJson(t.app, 'POST', `/v1/gpts/${GPT}/memories`, bearer(alice.token), { content: 'mine now', entity_type: 'pref', entity_id: 'color' })
    expectProblem(response, 409, `/v1/gpts/${GPT}/memories`, 'conflict')
    expect((await ok<Item>('GET', `/v1/memories/${bobs.memory.id}`, bob.token)).content).toBe('bob-secret memory')
  })

  it("a memory can neither cite another user's chat message as its source nor supersede their memory (422)", async () => {
    const url = `/v1/gpts/${GPT}/memories`
    for (const body of [
      { content: 'cited', source: { type: 'chat_message', id: bobs.message.id } },
      { content: 'replaces', supersedes: bobs.memory.id },
    ]) {
      const response = await injectJson(t.app, 'POST', url, bearer(alice.token), body)
      expectProblem(response, 422, url, 'validation-failed')
      expect(response.body).not.toContain('bob-secret')
    }
    expect((await ok<Item>('GET', `/v1/memories/${bobs.memory.id}`, bob.token)).content).toBe('bob-secret memory')
    expect((await ok<{ superseded_by: string | null }>('GET', `/v1/memories/${bobs.memory.id}`, bob.token)).superseded_by).toBeNull()
  })
})

/** The body an operation gets in the walk: what reaches its rule with bob's items as targets. */
const BODIES: Record<string, () => unknown> = {
  createSession: () => ({ name: 'x' }),
  updateSession: () => ({ name: 'stolen' }),
  createMessage: () => ({ sender: 'user', content: 'injected' }),
  updateMessage: () => ({ context: { stolen: true } }),
  chat: () => ({ session_id: bobs.session.id, content: 'hi' }),
  writeMemory: () => ({ content: 'x' }),
  writeMemories: () => ({ memories: [{ content: 'x' }] }),
  updateMemory: () => ({ content: 'stolen' }),
  search: () => ({ query: 'secret note memory chat', mode: 'keyword', top_k: 50 }),
  createObject: () => ({ text: 'x' }),
  updateObject: () => ({ text: 'stolen' }),
  updateObjectInCollection: () => ({ text: 'stolen' }),
  replaceObject: () => ({ text: 'stolen' }),
  replaceObjectInCollection: () => ({ text: 'stolen' }),
}

/** What each operation that aims at bob's items must answer. */
const AIMED: Record<string, number> = {
  getSession: 404,
  updateSession: 404,
  deleteSession: 404,
  listMessages: 404,
  createMessage: 404,
  getMessage: 404,
  updateMessage: 404,
  streamMessage: 404,
  generateReply: 404,
  resumeReply: 404,
  cancelMessage: 404,
  chat: 422,
  getMemory: 404,
  updateMemory: 404,
  deleteMemory: 404,
  getMemoryHistory: 404,
  getObject: 404,
  updateObject: 404,
  replaceObject: 404,
  deleteObject: 404,
  getObjectInCollection: 404,
  updateObjectInCollection: 404,
  replaceObjectInCollection: 404,
  deleteObjectInCollection: 404,
}

function target(path: string): string {
  const byPrefix: [RegExp, () => string][] = [
    [/^\/v1\/sessions\/\{id\}/, () => bobs.session.id],
    [/^\/v1\/messages\/\{id\}/, () => bobs.message.id],
    [/^\/v1\/memories\/\{id\}/, () => bobs.memory.id],
    [/^\/v1\/objects\/\{id\}/, () => bobs.note.id],
    [/^\/v1\/characters\/\{id\}/, () => character.id],
  ]
  const own = byPrefix.find(([pattern]) => pattern.test(path))
  return path
    .replace('{gpt_id}', GPT)
    .replace('{name}', 'notes')
    .replace('{app_id}', client.id)
    .replace('{key_id}', adminKeyId)
    .replace('{session_id}', bobs.session.id)
    .replace('{message_id}', bobs.message.id)
    .replace(/\/objects\/\{id\}/, `/objects/${bobs.note.id}`)
    .replace('{id}', own ? own[1]() : MISSING)
    .replace(/\{[a-z_]+\}/g, MISSING)
}

describe("every operation, as alice, aimed at bob's items", () => {
  it('answers nothing of bob, refuses or hides (403/404) whatever is his, and never fails', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json<{ paths: Record<string, Record<string, { operationId?: string }>> }>()
    const seen: string[] = []
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const operationId = operation.operationId ?? `${method} ${path}`
        const url = target(path)
        const body = BODIES[operationId]?.() ?? (method === 'get' || method === 'delete' ? undefined : {})
        const response = await injectJson(t.app, method.toUpperCase() as HttpMethod, url, bearer(alice.token), body)
        const label = `${method.toUpperCase()} ${path} (${operationId}): ${response.statusCode} ${response.body.slice(0, 200)}`
        expect(response.statusCode, label).toBeLessThan(500)
        // 401 only where this token is no credential at all: the operator's and the accounts' own routes,
        // /mcp (which takes tokens issued for its own audience, not the HTTP API's), and the Custom GPT
        // adapter's token endpoints (which take client credentials).
        if (!/^\/v1\/(admin|accounts)\/|^\/v1\/(gpts|overview)$|^\/mcp$|^(\/api\/v1)?\/auth\/token$/.test(path)) expect(response.statusCode, label).not.toBe(401)
        // An id alice sent may come back in the problem (`instance`, `detail`): that tells her nothing.
        const sent = `${url} ${JSON.stringify(body ?? null)}`
        for (const giveaway of giveaways().filter((g) => !sent.includes(g))) expect(response.body, label).not.toContain(giveaway)
        if (AIMED[operationId] !== undefined) {
          expect(response.statusCode, label).toBe(AIMED[operationId])
          seen.push(operationId)
        }
      }
    }
    expect(seen.sort()).toEqual(Object.keys(AIMED).sort())
  })

  it("left bob's items as they were", async () => {
    expect((await ok('GET', `/v1/sessions/${bobs.session.id}`, bob.token)).name).toBe('bob-secret chat')
    expect((await ok('GET', `/v1/messages/${bobs.message.id}`, bob.token)).context).toBeNull()
    expect((await ok('GET', `/v1/memories/${bobs.memory.id}`, bob.token)).content).toBe('bob-secret memory')
    expect(await ok('GET', `/v1/objects/${bobs.note.id}`, bob.token)).toMatchObject({ body: { text: 'bob-secret note' }, user_id: bob.id })
    const messages = await ok<{ messages: Item[] }>('GET', `/v1/sessions/${bobs.session.id}/messages`, bob.token)
    expect(messages.messages.map((m) => m.content)).toEqual(['bob-secret message'])
  })

  it('routes for the GPT itself (keys, apps, audit, agents, mail, collection changes) are 403 for end users', async () => {
    const cases: [HttpMethod, string, unknown][] = [
      ['GET', `/v1/gpts/${GPT}/keys`, undefined],
      ['GET', `/v1/gpts/${GPT}/apps`, undefined],
      ['GET', `/v1/gpts/${GPT}/audit`, undefined],
      ['GET', `/v1/gpts/${GPT}/agents`, undefined],
      ['POST', `/v1/gpts/${GPT}/collections`, { name: 'mine' }],
      ['DELETE', `/v1/gpts/${GPT}/collections/faq`, undefined],
      ['POST', `/v1/gpts/${GPT}/characters`, { name: 'evil', agent_role: 'x' }],
    ]
    for (const [method, url, body] of cases) {
      const problem = expectProblem(await injectJson(t.app, method, url, bearer(alice.token), body), 403, url)
      expect(problem.detail).toMatch(/end user/)
    }
  })
})
