import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, type TestApp, injectJson } from './helpers/test-app.js'
import { walkPages } from './helpers/pages.js'

interface CharacterView {
  id: string
  gpt_id: string
  name: string
  agent_role: string
  model: string | null
  temperature: number | null
  memory: { enabled: boolean; top_k: number; entity_type: string | null }
  created_at: string
  updated_at: string
}
interface CharacterList {
  characters: CharacterView[]
  next_cursor: string | null
  has_more: boolean
}

const GPT = 'characters-gpt'
const OTHER = 'characters-other'
const CHARACTERS = `/v1/gpts/${GPT}/characters`
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'
/** MAX_MESSAGE_CHARS for this file: a system prompt may be twice as long. */
const MAX_MESSAGE_CHARS = 50
const MAX_ROLE = 2 * MAX_MESSAGE_CHARS

let t: TestApp
let writer: string
let reader: string
let otherWriter: string

beforeAll(async () => {
  t = await createTestApp({ env: { MAX_MESSAGE_CHARS: String(MAX_MESSAGE_CHARS) } })
  writer = (await createGptWithKey(t.services, GPT)).token
  reader = (await createGptWithKey(t.services, GPT, ['read'])).token
  otherWriter = (await createGptWithKey(t.services, OTHER)).token
})

afterAll(async () => {
  await t?.close()
})

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

function call(method: Method, url: string, payload?: unknown, token = writer): Promise<LightMyRequestResponse> {
  return injectJson(t.app, method, url, bearer(token), payload)
}

async function createCharacter(body: Record<string, unknown>, url = CHARACTERS, token = writer): Promise<CharacterView> {
  const response = await call('POST', url, { agent_role: 'You are helpful.', ...body }, token)
  expect(response.statusCode, response.body).toBe(201)
  return response.json<CharacterView>()
}

const pointers = (response: LightMyRequestResponse) => (response.json<{ errors?: { pointer: string }[] }>().errors ?? []).map((e) => e.pointer)
const pause = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms))

describe('creating characters', () => {
  it('answers 201 with the character and its Location', async () => {
    const body = { name: 'Pirate', agent_role: 'You talk like a pirate.', model: 'gpt-4o-mini', temperature: 0.7, memory: { enabled: true, top_k: 8, entity_type: 'user' } }
    const response = await call('POST', CHARACTERS, body)
    expect(response.statusCode, response.body).toBe(201)
    const character = response.json<CharacterView>()
    expect(character).toEqual({
      id: expect.stringMatching(UUID_V7),
      gpt_id: GPT,
      ...body,
      extraction: { auto: false, every_turns: 10 },
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    })
    expect(response.headers.location).toBe(`/v1/characters/${character.id}`)
    const read = await call('GET', response.headers.location as string, undefined, reader)
    expect(read.statusCode).toBe(200)
    expect(read.json()).toEqual(character)
  })

  it.each([
    { name: 'no memory settings', memory: undefined, expected: { enabled: false, top_k: 5, entity_type: null } },
    { name: 'memory enabled alone', memory: { enabled: true }, expected: { enabled: true, top_k: 5, entity_type: null } },
    { name: 'an entity type', memory: { enabled: false, entity_type: 'project' }, expected: { enabled: false, top_k: 5, entity_type: 'project' } },
    { name: 'top_k 1', memory: { enabled: true, top_k: 1 }, expected: { enabled: true, top_k: 1, entity_type: null } },
    { name: 'top_k 50', memory: { enabled: true, top_k: 50 }, expected: { enabled: true, top_k: 50, entity_type: null } },
  ])('defaults model, temperature and memory ($name)', async ({ memory, expected }) => {
    const character = await createCharacter({ name: 'defaults', ...(memory ? { memory } : {}) })
    expect(character).toMatchObject({ model: null, temperature: null, memory: expected })
  })

  it.each([0, 2, 1.25])('keeps temperature %s exactly', async (temperature) => {
    expect((await createCharacter({ name: 'temp', temperature })).temperature).toBe(temperature)
  })

  it('allows the same name twice (names need not be unique)', async () => {
    const first = await createCharacter({ name: 'Twin' })
    const second = await createCharacter({ name: 'Twin' })
    expect(second.id).not.toBe(first.id)
    const list = (await call('GET', `${CHARACTERS}?limit=200`)).json<CharacterList>()
    expect(list.characters.filter((c) => c.name === 'Twin')).toHaveLength(2)
  })

  it(`takes a system prompt of exactly ${MAX_ROLE} characters (twice MAX_MESSAGE_CHARS) and refuses one more`, async () => {
    expect((await createCharacter({ name: 'long', agent_role: 'r'.repeat(MAX_ROLE) })).agent_role).toHaveLength(MAX_ROLE)
    const response = await call('POST', CHARACTERS, { name: 'too long', agent_role: 'r'.repeat(MAX_ROLE + 1) })
    const problem = expectProblem(response, 422, CHARACTERS, 'validation-failed')
    expect(problem.errors).toEqual([expect.objectContaining({ pointer: '/agent_role', location: 'body', message: expect.stringContaining(String(MAX_ROLE)) })])
  })

  const badBodies: { name: string; body: Record<string, unknown>; pointer: string }[] = [
    { name: 'empty name', body: { name: '' }, pointer: '/name' },
    { name: 'name of 201 characters', body: { name: 'n'.repeat(201) }, pointer: '/name' },
    { name: 'numeric name', body: { name: 7 }, pointer: '/name' },
    { name: 'null name', body: { name: null }, pointer: '/name' },
    { name: 'empty agent_role', body: { agent_role: '' }, pointer: '/agent_role' },
    { name: 'agent_role not a string', body: { agent_role: ['a'] }, pointer: '/agent_role' },
    { name: 'empty model', body: { model: '' }, pointer: '/model' },
    { name: 'model of 201 characters', body: { model: 'm'.repeat(201) }, pointer: '/model' },
    { name: 'numeric model', body: { model: 4 }, pointer: '/model' },
    { name: 'temperature -0.1', body: { temperature: -0.1 }, pointer: '/temperature' },
    { name: 'temperature 2.01', body: { temperature: 2.01 }, pointer: '/temperature' },
    { name: 'temperature "1" (a string)', body: { temperature: '1' }, pointer: '/temperature' },
    { name: 'memory not an object', body: { memory: true }, pointer: '/memory' },
    { name: 'memory without enabled', body: { memory: { top_k: 3 } }, pointer: '/memory/enabled' },
    { name: 'memory.enabled "yes"', body: { memory: { enabled: 'yes' } }, pointer: '/memory/enabled' },
    { name: 'memory.top_k 0', body: { memory: { enabled: true, top_k: 0 } }, pointer: '/memory/top_k' },
    { name: 'memory.top_k 51', body: { memory: { enabled: true, top_k: 51 } }, pointer: '/memory/top_k' },
    { name: 'memory.top_k 2.5', body: { memory: { enabled: true, top_k: 2.5 } }, pointer: '/memory/top_k' },
    { name: 'empty memory.entity_type', body: { memory: { enabled: true, entity_type: '' } }, pointer: '/memory/entity_type' },
    { name: 'memory.entity_type of 201 characters', body: { memory: { enabled: true, entity_type: 'e'.repeat(201) } }, pointer: '/memory/entity_type' },
    { name: 'unknown memory member', body: { memory: { enabled: true, depth: 3 } }, pointer: '/memory/depth' },
    { name: 'unknown member', body: { colour: 'red' }, pointer: '/colour' },
  ]

  it.each(badBodies)('refuses $name with 422 at $pointer', async ({ body, pointer }) => {
    const response = await call('POST', CHARACTERS, { name: 'bad', agent_role: 'role', ...body })
    const problem = expectProblem(response, 422, CHARACTERS, 'validation-failed')
    expect(new Set(pointers(response))).toEqual(new Set([pointer]))
    for (const error of problem.errors!) expect(error.location).toBe('body')
  })

  it.each([
    { name: 'name', body: { agent_role: 'role' }, pointer: '/name' },
    { name: 'agent_role', body: { name: 'x' }, pointer: '/agent_role' },
  ])('refuses a missing $name', async ({ body, pointer }) => {
    const response = await call('POST', CHARACTERS, body)
    expectProblem(response, 422, CHARACTERS, 'validation-failed')
    expect(pointers(response)).toEqual([pointer])
  })

  it('needs a key (401), the write scope and a key of this GPT (403)', async () => {
    const body = { name: 'x', agent_role: 'y' }
    expectProblem(await call('POST', CHARACTERS, body, reader), 403, CHARACTERS, 'forbidden')
    expectProblem(await call('POST', CHARACTERS, body, otherWriter), 403, CHARACTERS, 'forbidden')
    expectProblem(await call('GET', CHARACTERS, undefined, otherWriter), 403, CHARACTERS, 'forbidden')
    expectProblem(await t.app.inject({ method: 'POST', url: CHARACTERS, payload: body }), 401, CHARACTERS, 'unauthorized')
    expectProblem(await t.app.inject({ method: 'GET', url: CHARACTERS }), 401, CHARACTERS, 'unauthorized')
  })

  it('is closed to keys bound to an agent', async () => {
    const agent = (await call('POST', `/v1/gpts/${GPT}/agents`, { name: 'bound' })).json<{ id: string }>()
    const key = (await t.services.keys.createKey(GPT, { agent_id: agent.id, scopes: ['read', 'write'] })).key
    const character = await createCharacter({ name: 'agent-proof' })
    expectProblem(await call('POST', CHARACTERS, { name: 'x', agent_role: 'y' }, key), 403, CHARACTERS, 'forbidden')
    expectProblem(await call('GET', CHARACTERS, undefined, key), 403, CHARACTERS, 'forbidden')
    const url = `/v1/characters/${character.id}`
    expectProblem(await call('GET', url, undefined, key), 403, url, 'forbidden')
  })
})

describe('reading and changing characters', () => {
  it('answers 404 for an unknown character and 422 for a malformed id', async () => {
    for (const method of ['GET', 'DELETE'] as const) {
      expectProblem(await call(method, `/v1/characters/${MISSING_ID}`), 404, `/v1/characters/${MISSING_ID}`, 'not-found')
    }
    expectProblem(await call('PATCH', `/v1/characters/${MISSING_ID}`, { name: 'x' }), 404, `/v1/characters/${MISSING_ID}`, 'not-found')
    const bad = await call('GET', '/v1/characters/not-a-uuid')
    expectProblem(bad, 422, '/v1/characters/not-a-uuid', 'validation-failed')
    expect(pointers(bad)).toEqual(['/id'])
  })

  it('PATCH changes only the given fields and moves updated_at', async () => {
    const character = await createCharacter({ name: 'Before', model: 'm1', temperature: 1, memory: { enabled: true, top_k: 9, entity_type: 'user' } })
    await pause()
    const url = `/v1/characters/${character.id}`
    const response = await call('PATCH', url, { name: 'After', agent_role: 'New role.' })
    expect(response.statusCode, response.body).toBe(200)
    const patched = response.json<CharacterView>()
    expect(patched).toEqual({
      ...character,
      name: 'After',
      agent_role: 'New role.',
      updated_at: expect.stringMatching(ISO),
    })
    expect(Date.parse(patched.updated_at)).toBeGreaterThan(Date.parse(character.updated_at))
    expect((await call('GET', url)).json()).toEqual(patched)
  })

  it('PATCH replaces memory as a whole and clears model and temperature with null', async () => {
    const character = await createCharacter({ name: 'mem', model: 'm1', temperature: 0.5, memory: { enabled: true, top_k: 9, entity_type: 'user' } })
    const url = `/v1/characters/${character.id}`
    const replaced = await call('PATCH', url, { memory: { enabled: false } })
    expect(replaced.json<CharacterView>().memory).toEqual({ enabled: false, top_k: 5, entity_type: null })
    const cleared = await call('PATCH', url, { model: null, temperature: null })
    expect(cleared.json()).toMatchObject({ model: null, temperature: null, memory: { enabled: false, top_k: 5, entity_type: null }, name: 'mem' })
  })

  it.each([
    { name: 'empty body', body: {}, pointer: '' },
    { name: 'empty name', body: { name: '' }, pointer: '/name' },
    { name: 'null name', body: { name: null }, pointer: '/name' },
    { name: 'null agent_role', body: { agent_role: null }, pointer: '/agent_role' },
    { name: 'over-long agent_role', body: { agent_role: 'r'.repeat(MAX_ROLE + 1) }, pointer: '/agent_role' },
    { name: 'temperature 3', body: { temperature: 3 }, pointer: '/temperature' },
    { name: 'memory without enabled', body: { memory: {} }, pointer: '/memory/enabled' },
    { name: 'memory null', body: { memory: null }, pointer: '/memory' },
    { name: 'unknown member', body: { gpt_id: 'x' }, pointer: '/gpt_id' },
  ])('PATCH refuses $name with 422 at "$pointer" and changes nothing', async ({ body, pointer }) => {
    const character = await createCharacter({ name: 'unchanged' })
    const url = `/v1/characters/${character.id}`
    const response = await call('PATCH', url, body)
    expectProblem(response, 422, url, 'validation-failed')
    expect(pointers(response)).toEqual([pointer])
    expect((await call('GET', url)).json()).toEqual(character)
  })

  it('PATCH and DELETE need the write scope', async () => {
    const character = await createCharacter({ name: 'ro' })
    const url = `/v1/characters/${character.id}`
    expectProblem(await call('PATCH', url, { name: 'x' }, reader), 403, url, 'forbidden')
    expectProblem(await call('DELETE', url, undefined, reader), 403, url, 'forbidden')
    expect((await call('GET', url, undefined, reader)).json()).toEqual(character)
  })

  it("answers 404 for another GPT's character, whatever the method", async () => {
    const foreign = await createCharacter({ name: 'foreign' }, `/v1/gpts/${OTHER}/characters`, otherWriter)
    const url = `/v1/characters/${foreign.id}`
    expectProblem(await call('GET', url), 404, url, 'not-found')
    expectProblem(await call('PATCH', url, { name: 'stolen' }), 404, url, 'not-found')
    expectProblem(await call('DELETE', url), 404, url, 'not-found')
    expect((await call('GET', url, undefined, otherWriter)).json()).toEqual(foreign)
  })
})

describe('listing characters', () => {
  const LIST_GPT = 'characters-list'
  const LIST = `/v1/gpts/${LIST_GPT}/characters`
  let token: string
  let created: CharacterView[]

  beforeAll(async () => {
    token = (await createGptWithKey(t.services, LIST_GPT)).token
    created = []
    for (let i = 0; i < 7; i++) created.push(await createCharacter({ name: `c-${i}` }, LIST, token))
  })

  it('lists oldest first and walks every page with the cursor and Link', async () => {
    const { items: seen, pages } = await walkPages<CharacterView>((url) => call('GET', url, undefined, token), `${LIST}?limit=3`, 'characters', 'http://agentstore.test/v1/gpts/characters-list/characters')
    expect(pages).toBe(3)
    expect(seen.map((c) => c.id)).toEqual(created.map((c) => c.id))
  })

  it('lists newest first with order=desc', async () => {
    const page = (await call('GET', `${LIST}?order=desc`, undefined, token)).json<CharacterList>()
    expect(page.characters.map((c) => c.id)).toEqual(created.map((c) => c.id).reverse())
  })

  it.each([
    { name: 'garbage', cursor: 'not-a-cursor' },
    { name: 'a cursor of another order', cursor: 'desc' },
    { name: "another list's cursor", cursor: 'other-list' },
  ])('answers 400 for $name', async ({ cursor }) => {
    let value = cursor
    if (cursor === 'desc') value = (await call('GET', `${LIST}?limit=2&order=desc`, undefined, token)).json<CharacterList>().next_cursor!
    if (cursor === 'other-list') value = (await call('GET', `${CHARACTERS}?limit=1`)).json<CharacterList>().next_cursor!
    const url = `${LIST}?cursor=${encodeURIComponent(value)}`
    expectProblem(await call('GET', url, undefined, token), 400, url, 'invalid-cursor')
  })

  it.each([
    { query: 'limit=0', pointer: '/limit' },
    { query: 'limit=201', pointer: '/limit' },
    { query: 'order=up', pointer: '/order' },
    { query: 'colour=red', pointer: '/colour' },
  ])('answers 422 for ?$query', async ({ query, pointer }) => {
    const url = `${LIST}?${query}`
    const response = await call('GET', url, undefined, token)
    expectProblem(response, 422, url, 'validation-failed')
    expect(pointers(response)).toContain(pointer)
  })
})

describe('deleting characters', () => {
  it('is a soft delete: 204, then 404 everywhere and hidden from lists, while sessions keep its id', async () => {
    const character = await createCharacter({ name: 'doomed' })
    const session = await call('POST', `/v1/gpts/${GPT}/sessions`, { user_id: 'u1', character_id: character.id })
    expect(session.statusCode, session.body).toBe(201)
    const sessionUrl = `/v1/sessions/${session.json<{ id: string }>().id}`

    const url = `/v1/characters/${character.id}`
    const response = await call('DELETE', url)
    expect(response.statusCode).toBe(204)
    expect(response.body).toBe('')
    expectProblem(await call('GET', url), 404, url, 'not-found')
    expectProblem(await call('PATCH', url, { name: 'revived' }), 404, url, 'not-found')
    expectProblem(await call('DELETE', url), 404, url, 'not-found')
    const list = (await call('GET', `${CHARACTERS}?limit=200`)).json<CharacterList>()
    expect(list.characters.some((c) => c.id === character.id)).toBe(false)
    expect(list.characters.length).toBeGreaterThan(0)

    expect((await call('GET', sessionUrl)).json()).toMatchObject({ character_id: character.id })
    // Still found by the service for history, but not as an active character.
    expect(await t.services.characters.findActiveCharacter(GPT, character.id)).toBeNull()
  })
})
