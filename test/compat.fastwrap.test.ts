// FastWrap's characters, chat and vectors as its document describes them, on the house's characters,
// chat generation (against a fake OpenAI-compatible LLM) and memories; each client sees only its own.
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startFakeLlmServer, type FakeLlmServer } from './helpers/fake-llm-server.js'
import { createTestApp, injectJson, type HttpMethod, type TestApp } from './helpers/test-app.js'

const PASSWORD = 'Correct-Horse1'
const MISSING = '01900000-0000-7000-8000-000000000000'
const ROLE = 'You are Pip, a cheerful baking assistant.'
const REPLY = 'Hello from the fake model.'

interface Character {
  id: string
  client_id: string
  agent_role: string
  ttl: null
  deleted_at: null
}

let llm: FakeLlmServer
let t: TestApp
let key: string
let clientId: string
let otherKey: string

beforeAll(async () => {
  llm = await startFakeLlmServer()
  t = await createTestApp({ env: { LLM_PROVIDER: 'openai', LLM_BASE_URL: llm.openaiBaseUrl, LLM_API_KEY: 'sk-test', LLM_MODEL: 'fake-model' } })
  ;({ key, clientId } = await signup('baker@example.com'))
  ;({ key: otherKey } = await signup('rival@example.com'))
})

afterAll(async () => {
  await t?.close()
  await llm?.close()
})

beforeEach(() => {
  llm.setDefault({})
})

async function signup(email: string): Promise<{ key: string; clientId: string }> {
  const data = (await call('POST', '/auth/signup', { email, password: PASSWORD }, null)).json<{ data: { id: string; api_key: string } }>().data
  return { key: data.api_key, clientId: data.id }
}

function call(method: HttpMethod, url: string, payload?: unknown, apiKey: string | null = key): Promise<LightMyRequestResponse> {
  return injectJson(t.app, method, url, apiKey === null ? {} : { 'x-api-key': apiKey }, payload)
}

async function createCharacter(agentRole = ROLE, apiKey = key): Promise<Character> {
  const response = await call('POST', '/api/characters', { agent_role: agentRole }, apiKey)
  expect(response.statusCode, response.body).toBe(201)
  return response.json<{ data: Character }>().data
}

function expectDetail(response: LightMyRequestResponse, status: number, detail?: unknown) {
  expect(response.statusCode, response.body).toBe(status)
  expect(response.headers['content-type']).toMatch(/^application\/json/)
  const body = response.json<{ detail: unknown }>()
  expect(Object.keys(body)).toEqual(['detail'])
  if (detail !== undefined) expect(body.detail).toEqual(detail)
}

describe('FastWrap: characters', () => {
  it('POST → 201 {message, data}; GET one → its prompt; GET all; PATCH → 201; DELETE → 204 and it is gone', async () => {
    const created = await call('POST', '/api/characters', { agent_role: ROLE, TTL: 3600 })
    expect(created.statusCode, created.body).toBe(201)
    const character = created.json<{ message: string; data: Character }>()
    expect(character).toEqual({ message: 'Character created', data: { id: expect.any(String), client_id: clientId, agent_role: ROLE, ttl: null, deleted_at: null } })
    const id = character.data.id

    expect((await call('GET', `/api/characters/${id}`)).json()).toEqual({ message: 'Character fetched', data: ROLE })
    const all = (await call('GET', '/api/characters')).json<{ message: string; data: Character[] }>()
    expect(all.message).toBe('Characters fetched')
    expect(all.data).toContainEqual(character.data)

    const patched = await call('PATCH', `/api/characters/${id}`, { agent_role: 'You are Pip, now grumpy.' })
    expect(patched.statusCode, patched.body).toBe(201)
    expect(patched.json()).toEqual({ message: 'Resource updated', data: { ...character.data, agent_role: 'You are Pip, now grumpy.' } })

    const deleted = await call('DELETE', `/api/characters/${id}`)
    expect(deleted.statusCode).toBe(204)
    expect(deleted.body).toBe('')
    expectDetail(await call('GET', `/api/characters/${id}`), 404, 'Resource not found')
    expect((await call('GET', '/api/characters')).json<{ data: Character[] }>().data.map((c) => c.id)).not.toContain(id)
    // Soft: the house still holds the row, hidden.
    const row = await t.db.database.db.selectFrom('characters').select('deleted_at').where('id', '=', id).executeTakeFirst()
    expect(row?.deleted_at).not.toBeNull()
  })

  const notFound: [string, HttpMethod, unknown][] = [
    ['GET', 'GET', undefined],
    ['PATCH', 'PATCH', { agent_role: 'x' }],
    ['DELETE', 'DELETE', undefined],
  ]
  it.each(notFound)('%s of a character that does not exist → 404 "Resource not found"', async (_name, method, payload) => {
    expectDetail(await call(method, `/api/characters/${MISSING}`, payload), 404, 'Resource not found')
  })

  it.each(notFound)('%s of another client\'s character → 404, and it is unchanged', async (_name, method, payload) => {
    const theirs = await createCharacter('Their secret role', otherKey)
    expectDetail(await call(method, `/api/characters/${theirs.id}`, payload), 404, 'Resource not found')
    expect((await call('GET', `/api/characters/${theirs.id}`, undefined, otherKey)).json()).toEqual({ message: 'Character fetched', data: 'Their secret role' })
  })

  it('a client lists only its own characters', async () => {
    const theirs = await createCharacter('Listed only for them', otherKey)
    const mine = (await call('GET', '/api/characters')).json<{ data: Character[] }>().data
    expect(mine.map((c) => c.id)).not.toContain(theirs.id)
    expect(mine.every((c) => c.client_id === clientId)).toBe(true)
  })

  const invalid: [string, HttpMethod, string, unknown][] = [
    ['POST without agent_role', 'POST', '/api/characters', { TTL: 5 }],
    ['POST with an empty agent_role', 'POST', '/api/characters', { agent_role: '' }],
    ['POST with TTL 0', 'POST', '/api/characters', { agent_role: 'x', TTL: 0 }],
    ['POST with a TTL that is not an integer', 'POST', '/api/characters', { agent_role: 'x', TTL: 'soon' }],
    ['POST with an unknown field', 'POST', '/api/characters', { agent_role: 'x', name: 'Pip' }],
    ['POST with an agent_role over twice MAX_MESSAGE_CHARS', 'POST', '/api/characters', { agent_role: 'x'.repeat(64_001) }],
    ['PATCH without agent_role', 'PATCH', `/api/characters/${MISSING}`, {}],
    ['GET with a path that is not a UUID', 'GET', '/api/characters/not-a-uuid', undefined],
  ]
  it.each(invalid)('%s → 422 with a detail list', async (_name, method, url, payload) => {
    const response = await call(method, url, payload)
    expect(response.statusCode, response.body).toBe(422)
    expect(Array.isArray(response.json<{ detail: unknown }>().detail)).toBe(true)
  })
})

describe('FastWrap: POST /api/chat', () => {
  it('201: the character\'s prompt is the system prompt; the conversation with that character goes on', async () => {
    const pip = await createCharacter()
    const before = llm.requests.length
    const first = await call('POST', '/api/chat', { uuid: pip.id, role: 'user', content: 'How do I proof dough?' })
    expect(first.statusCode, first.body).toBe(201)
    const body = first.json<{ message: string; data: { session_id: string; message_id: string; messages: unknown[] } }>()
    expect(body).toEqual({
      message: 'Chat request posted',
      data: {
        session_id: expect.any(String),
        message_id: expect.any(String),
        messages: [
          { role: 'user', content: 'How do I proof dough?' },
          { role: 'assistant', content: REPLY },
        ],
      },
    })
    expect(llm.requests[before]!.body.messages).toEqual([
      { role: 'system', content: ROLE },
      { role: 'user', content: 'How do I proof dough?' },
    ])

    const second = await call('POST', '/api/chat', { uuid: pip.id, role: 'user', content: 'And how long?' })
    expect(second.json<{ data: { session_id: string } }>().data.session_id).toBe(body.data.session_id)
    expect(llm.requests[before + 1]!.body.messages).toEqual([
      { role: 'system', content: ROLE },
      { role: 'user', content: 'How do I proof dough?' },
      { role: 'assistant', content: REPLY },
      { role: 'user', content: 'And how long?' },
    ])
    // The turns are house chat messages, in the client's GPT.
    const stored = await t.services.messages.listMessages(`fastwrap-${clientId}`, body.data.session_id, { limit: 10 })
    expect(stored.items.map((m) => [m.sender, m.content])).toEqual([
      ['user', 'How do I proof dough?'],
      ['ai', REPLY],
      ['user', 'And how long?'],
      ['ai', REPLY],
    ])
  })

  it('each character has its own conversation', async () => {
    const [a, b] = [await createCharacter('Role A'), await createCharacter('Role B')]
    const sessionOf = async (uuid: string) => (await call('POST', '/api/chat', { uuid, role: 'user', content: 'hi' })).json<{ data: { session_id: string } }>().data.session_id
    expect(await sessionOf(a.id)).not.toBe(await sessionOf(b.id))
  })

  it('a character that does not exist, was deleted, or is another client\'s → 404 "Character not set/found"; no LLM call', async () => {
    const deleted = await createCharacter()
    await call('DELETE', `/api/characters/${deleted.id}`)
    const theirs = await createCharacter('Theirs', otherKey)
    const before = llm.requests.length
    for (const uuid of [MISSING, deleted.id, theirs.id]) {
      expectDetail(await call('POST', '/api/chat', { uuid, role: 'user', content: 'hi' }), 404, 'Character not set/found')
    }
    expect(llm.requests.length).toBe(before)
  })

  it('the LLM provider fails → 502 naming the stored message', async () => {
    const pip = await createCharacter()
    llm.setDefault({ status: 500, errorMessage: 'upstream exploded' })
    const response = await call('POST', '/api/chat', { uuid: pip.id, role: 'user', content: 'hi' })
    expect(response.statusCode, response.body).toBe(502)
    expect(response.json<{ detail: string }>().detail).toMatch(/LLM provider failed/)
  })

  const invalid: [string, unknown][] = [
    ['no uuid', { role: 'user', content: 'hi' }],
    ['a uuid that is not one', { uuid: 'pip', role: 'user', content: 'hi' }],
    ['a role other than user', { uuid: MISSING, role: 'assistant', content: 'hi' }],
    ['empty content', { uuid: MISSING, role: 'user', content: '' }],
    ['no content', { uuid: MISSING, role: 'user' }],
  ]
  it.each(invalid)('%s → 422', async (_name, payload) => {
    const response = await call('POST', '/api/chat', payload)
    expect(response.statusCode, response.body).toBe(422)
    expect(Array.isArray(response.json<{ detail: unknown }>().detail)).toBe(true)
  })
})

describe('FastWrap: vectors', () => {
  const ENTITY = '3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b'

  it('upsert → 201 {message, data}; a second upsert of the same entity replaces it; search finds it', async () => {
    const first = await call('POST', '/api/vectors/upsert', { entity_type: 'recipe', entity_id: ENTITY, content: 'Sourdough needs a lively starter.', metadata: { lang: 'en' } })
    expect(first.statusCode, first.body).toBe(201)
    const data = first.json<{ message: string; data: { id: string } }>()
    expect(data).toEqual({
      message: 'Vector upserted',
      data: expect.objectContaining({ id: expect.any(String), client_id: clientId, entity_type: 'recipe', entity_id: ENTITY, content: 'Sourdough needs a lively starter.', metadata: { lang: 'en' } }),
    })
    const again = await call('POST', '/api/vectors/upsert', { entity_type: 'recipe', entity_id: ENTITY, content: 'Sourdough needs a lively starter and patience.' })
    expect(again.json<{ data: { id: string } }>().data.id).toBe(data.data.id)
    await call('POST', '/api/vectors/upsert', { entity_type: 'note', entity_id: ENTITY, content: 'Sourdough note of another type.' })

    const found = await call('POST', '/api/vectors/search', { query: 'Sourdough needs a lively starter and patience.', top_k: 5, entity_type: 'recipe' })
    expect(found.statusCode, found.body).toBe(200)
    const results = found.json<{ message: string; data: { id: string; entity_type: string; distance: number }[] }>()
    expect(results.message).toBe('Search results')
    expect(results.data.map((r) => r.entity_type)).toEqual(['recipe'])
    expect(results.data[0]).toMatchObject({ id: data.data.id, entity_id: ENTITY, content: 'Sourdough needs a lively starter and patience.' })
    expect(results.data[0]!.distance).toBeLessThan(0.01)

    const unfiltered = (await call('POST', '/api/vectors/search', { query: 'Sourdough' })).json<{ data: { entity_type: string }[] }>().data
    expect(unfiltered.map((r) => r.entity_type).sort()).toEqual(['note', 'recipe'])
    const one = (await call('POST', '/api/vectors/search', { query: 'Sourdough', top_k: 1 })).json<{ data: unknown[] }>().data
    expect(one).toHaveLength(1)
  })

  it('another client finds none of them', async () => {
    await call('POST', '/api/vectors/upsert', { entity_type: 'secret', entity_id: ENTITY, content: 'Only the baker knows this crumb.' })
    const theirs = (await call('POST', '/api/vectors/search', { query: 'Only the baker knows this crumb.' }, otherKey)).json<{ data: unknown[] }>()
    expect(theirs.data).toEqual([])
  })

  const invalid: [string, string, unknown][] = [
    ['upsert without entity_type', '/api/vectors/upsert', { entity_id: ENTITY, content: 'x' }],
    ['upsert with an entity_id that is not a UUID', '/api/vectors/upsert', { entity_type: 't', entity_id: '42', content: 'x' }],
    ['upsert with empty content', '/api/vectors/upsert', { entity_type: 't', entity_id: ENTITY, content: '' }],
    ['upsert with metadata that is not an object', '/api/vectors/upsert', { entity_type: 't', entity_id: ENTITY, content: 'x', metadata: [1] }],
    ['search without query', '/api/vectors/search', { top_k: 5 }],
    ['search with top_k 0', '/api/vectors/search', { query: 'x', top_k: 0 }],
    ['search with top_k 51', '/api/vectors/search', { query: 'x', top_k: 51 }],
  ]
  it.each(invalid)('%s → 422', async (_name, url, payload) => {
    const response = await call('POST', url, payload)
    expect(response.statusCode, response.body).toBe(422)
    expect(Array.isArray(response.json<{ detail: unknown }>().detail)).toBe(true)
  })

  it('every data route needs the key: none → 422, a wrong one → 401', async () => {
    const routes: [HttpMethod, string, unknown][] = [
      ['POST', '/api/characters', { agent_role: 'x' }],
      ['GET', '/api/characters', undefined],
      ['GET', `/api/characters/${MISSING}`, undefined],
      ['PATCH', `/api/characters/${MISSING}`, { agent_role: 'x' }],
      ['DELETE', `/api/characters/${MISSING}`, undefined],
      ['POST', '/api/chat', { uuid: MISSING, role: 'user', content: 'hi' }],
      ['POST', '/api/vectors/upsert', { entity_type: 't', entity_id: ENTITY, content: 'x' }],
      ['POST', '/api/vectors/search', { query: 'x' }],
      ['PATCH', '/clients/me', { email: 'x@example.com' }],
      ['POST', '/clients/me/regenerate-key', undefined],
      ['DELETE', '/clients/me', undefined],
    ]
    for (const [method, url, payload] of routes) {
      expect((await call(method, url, payload, null)).statusCode, `${method} ${url}`).toBe(422)
      expectDetail(await call(method, url, payload, 'ak_wrong'), 401, 'Invalid API key')
    }
  })
})
