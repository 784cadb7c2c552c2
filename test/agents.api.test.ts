import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

interface AgentView {
  id: string
  gpt_id: string
  name: string
  address: string | null
  port: number | null
  metadata: Record<string, unknown>
  created_at: string
  updated_at: string
}
interface AgentList {
  agents: AgentView[]
  next_cursor: string | null
  has_more: boolean
}

const GPT = 'agents-gpt'
const OTHER = 'agents-other'
const AGENTS = `/v1/gpts/${GPT}/agents`
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'

let t: TestApp
let writer: string
let reader: string
let otherWriter: string

beforeAll(async () => {
  t = await createTestApp()
  writer = (await createGptWithKey(t.services, GPT)).token
  reader = (await createGptWithKey(t.services, GPT, ['read'])).token
  otherWriter = (await createGptWithKey(t.services, OTHER)).token
})

afterAll(async () => {
  await t?.close()
})

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

function call(method: Method, url: string, payload?: unknown, token = writer): Promise<LightMyRequestResponse> {
  if (payload === undefined) return t.app.inject({ method, url, headers: bearer(token) })
  return t.app.inject({ method, url, headers: { ...bearer(token), 'content-type': 'application/json' }, payload: JSON.stringify(payload) })
}

async function createAgent(body: Record<string, unknown>, url = AGENTS, token = writer): Promise<AgentView> {
  const response = await call('POST', url, body, token)
  expect(response.statusCode, response.body).toBe(201)
  return response.json<AgentView>()
}

const pointers = (response: LightMyRequestResponse) => (response.json<{ errors?: { pointer: string }[] }>().errors ?? []).map((e) => e.pointer)

describe('creating agents', () => {
  it('answers 201 with the agent and its Location', async () => {
    const response = await call('POST', AGENTS, { name: 'planner', address: '10.0.0.7', port: 8080, metadata: { role: 'plans' } })
    expect(response.statusCode, response.body).toBe(201)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    const agent = response.json<AgentView>()
    expect(agent).toEqual({
      id: expect.stringMatching(UUID_V7),
      gpt_id: GPT,
      name: 'planner',
      address: '10.0.0.7',
      port: 8080,
      metadata: { role: 'plans' },
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    })
    expect(response.headers.location).toBe(`/v1/agents/${agent.id}`)
    const read = await call('GET', response.headers.location as string)
    expect(read.statusCode).toBe(200)
    expect(read.json()).toEqual(agent)
  })

  it('defaults address, port and metadata', async () => {
    const agent = await createAgent({ name: 'bare' })
    expect(agent).toMatchObject({ name: 'bare', address: null, port: null, metadata: {} })
  })

  it('refuses a name taken in the same GPT with 409, but not one taken in another GPT', async () => {
    await createAgent({ name: 'twin' })
    const duplicate = await call('POST', AGENTS, { name: 'twin', port: 1 })
    const problem = expectProblem(duplicate, 409, AGENTS, 'conflict')
    expect(problem.detail).toContain('"twin"')
    const elsewhere = await createAgent({ name: 'twin' }, `/v1/gpts/${OTHER}/agents`, otherWriter)
    expect(elsewhere.gpt_id).toBe(OTHER)
    // Exactly one "twin" in this GPT.
    const list = (await call('GET', `${AGENTS}?limit=200`)).json<AgentList>()
    expect(list.agents.filter((a) => a.name === 'twin')).toHaveLength(1)
  })

  it.each([
    ['IPv4', '192.168.1.20'],
    ['IPv6', '2001:db8::1'],
    ['IPv6 loopback', '::1'],
    ['host name', 'agent-7.internal.example.com'],
    ['single-label host', 'localhost'],
  ])('accepts an %s address', async (_label, address) => {
    const agent = await createAgent({ name: `addr-${address}`, address, port: 65535 })
    expect(agent.address).toBe(address)
    expect(agent.port).toBe(65535)
  })

  const badBodies: { name: string; body: Record<string, unknown>; pointer: string }[] = [
    { name: 'address with spaces', body: { address: 'my host' }, pointer: '/address' },
    { name: 'address that is a URL', body: { address: 'http://x' }, pointer: '/address' },
    { name: 'address of 300 characters', body: { address: 'a'.repeat(300) }, pointer: '/address' },
    { name: 'empty address', body: { address: '' }, pointer: '/address' },
    { name: 'numeric address', body: { address: 42 }, pointer: '/address' },
    { name: 'port 0', body: { port: 0 }, pointer: '/port' },
    { name: 'port 65536', body: { port: 65536 }, pointer: '/port' },
    { name: 'port 1.5', body: { port: 1.5 }, pointer: '/port' },
    { name: 'port "80" (a string)', body: { port: '80' }, pointer: '/port' },
    { name: 'port -1', body: { port: -1 }, pointer: '/port' },
    { name: 'empty name', body: { name: '' }, pointer: '/name' },
    { name: 'unknown member', body: { colour: 'red' }, pointer: '/colour' },
    { name: 'metadata not an object', body: { metadata: [1] }, pointer: '/metadata' },
  ]

  it.each(badBodies)('refuses $name with 422 at $pointer', async ({ body, pointer }) => {
    const name = `bad-${pointer}-${JSON.stringify(body).length}`
    const response = await call('POST', AGENTS, { name, ...body })
    const problem = expectProblem(response, 422, AGENTS, 'validation-failed')
    expect(problem.errors!.length).toBeGreaterThan(0)
    expect(new Set(pointers(response))).toEqual(new Set([pointer]))
    for (const error of problem.errors!) expect(error.location).toBe('body')
    // Nothing was stored.
    const list = (await call('GET', `${AGENTS}?limit=200`)).json<AgentList>()
    expect(list.agents.some((a) => a.name === name)).toBe(false)
  })

  it('refuses a missing name', async () => {
    const response = await call('POST', AGENTS, { port: 80 })
    expectProblem(response, 422, AGENTS, 'validation-failed')
    expect(pointers(response)).toEqual(['/name'])
  })

  it('needs the write scope and a key of the GPT', async () => {
    expectProblem(await call('POST', AGENTS, { name: 'ro' }, reader), 403, AGENTS, 'forbidden')
    expectProblem(await call('POST', AGENTS, { name: 'ro' }, otherWriter), 403, AGENTS, 'forbidden')
    expectProblem(await t.app.inject({ method: 'POST', url: AGENTS, payload: { name: 'anon' } }), 401, AGENTS, 'unauthorized')
  })
})

describe('reading and changing agents', () => {
  it('answers 404 for an unknown agent and 422 for a malformed id', async () => {
    expectProblem(await call('GET', `/v1/agents/${MISSING_ID}`), 404, `/v1/agents/${MISSING_ID}`, 'not-found')
    const bad = await call('GET', '/v1/agents/not-a-uuid')
    expectProblem(bad, 422, '/v1/agents/not-a-uuid', 'validation-failed')
    expect(pointers(bad)).toEqual(['/id'])
  })

  it('PATCH changes the given fields, merges metadata by key and moves updated_at', async () => {
    const agent = await createAgent({ name: 'patchy', address: 'a.example', port: 81, metadata: { a: 1, nested: { x: 1 }, keep: true } })
    await new Promise((resolve) => setTimeout(resolve, 5))
    const url = `/v1/agents/${agent.id}`
    const response = await call('PATCH', url, { name: 'patched', port: 82, metadata: { a: 2, nested: { y: 2 }, added: 'yes' } })
    expect(response.statusCode, response.body).toBe(200)
    const patched = response.json<AgentView>()
    expect(patched).toMatchObject({
      id: agent.id,
      name: 'patched',
      address: 'a.example',
      port: 82,
      // Top-level keys merge; a nested object is replaced as a whole.
      metadata: { a: 2, nested: { y: 2 }, keep: true, added: 'yes' },
      created_at: agent.created_at,
    })
    expect(Date.parse(patched.updated_at)).toBeGreaterThan(Date.parse(agent.updated_at))
    expect((await call('GET', url)).json()).toEqual(patched)

    const cleared = await call('PATCH', url, { address: null, port: null })
    expect(cleared.json()).toMatchObject({ address: null, port: null, name: 'patched' })
  })

  it('PATCH to a name taken by another agent is 409 and changes nothing', async () => {
    const first = await createAgent({ name: 'first-name' })
    const second = await createAgent({ name: 'second-name', port: 9 })
    const url = `/v1/agents/${second.id}`
    const problem = expectProblem(await call('PATCH', url, { name: 'first-name', port: 10 }), 409, url, 'conflict')
    expect(problem.detail).toContain('"first-name"')
    expect((await call('GET', url)).json()).toEqual(second)
    // Renaming to its own name is no conflict.
    expect((await call('PATCH', url, { name: 'second-name' })).statusCode).toBe(200)
    expect((await call('GET', `/v1/agents/${first.id}`)).json<AgentView>().name).toBe('first-name')
  })

  it.each([
    { name: 'empty body', body: {}, pointer: '' },
    { name: 'bad port', body: { port: 70000 }, pointer: '/port' },
    { name: 'bad address', body: { address: 'no such thing!' }, pointer: '/address' },
    { name: 'unknown member', body: { gpt_id: 'x' }, pointer: '/gpt_id' },
  ])('PATCH refuses $name with 422', async ({ body, pointer }) => {
    const agent = await createAgent({ name: `patch-bad-${pointer || 'empty'}` })
    const url = `/v1/agents/${agent.id}`
    const response = await call('PATCH', url, body)
    expectProblem(response, 422, url, 'validation-failed')
    expect(pointers(response)).toContain(pointer)
  })

  it("PATCH and GET of another GPT's agent are 404", async () => {
    const foreign = await createAgent({ name: 'foreign' }, `/v1/gpts/${OTHER}/agents`, otherWriter)
    const url = `/v1/agents/${foreign.id}`
    expectProblem(await call('GET', url), 404, url, 'not-found')
    expectProblem(await call('PATCH', url, { name: 'stolen' }), 404, url, 'not-found')
    expectProblem(await call('DELETE', url), 404, url, 'not-found')
    expect((await call('GET', url, undefined, otherWriter)).json<AgentView>().name).toBe('foreign')
  })
})

describe('listing agents', () => {
  const LIST_GPT = 'agents-list'
  let token: string
  let created: AgentView[]

  beforeAll(async () => {
    token = (await createGptWithKey(t.services, LIST_GPT)).token
    created = []
    for (let i = 0; i < 7; i++) created.push(await createAgent({ name: `agent-${i}` }, `/v1/gpts/${LIST_GPT}/agents`, token))
  })

  it('lists oldest first by default and walks every page with the cursor and Link', async () => {
    const seen: AgentView[] = []
    let url: string | null = `/v1/gpts/${LIST_GPT}/agents?limit=3`
    let pages = 0
    while (url !== null) {
      const response = await call('GET', url, undefined, token)
      expect(response.statusCode, response.body).toBe(200)
      const page = response.json<AgentList>()
      seen.push(...page.agents)
      pages++
      if (page.has_more) {
        expect(page.agents).toHaveLength(3)
        expect(page.next_cursor).toEqual(expect.any(String))
        const link = response.headers.link as string
        expect(link).toMatch(/^<http:\/\/agentstore\.test\/v1\/gpts\/agents-list\/agents\?[^>]+>; rel="next"$/)
        const target = new URL(/^<([^>]+)>/.exec(link)![1]!)
        expect(target.searchParams.get('cursor')).toBe(page.next_cursor)
        url = `${target.pathname}${target.search}`
      } else {
        expect(page.next_cursor).toBeNull()
        expect(response.headers.link).toBeUndefined()
        url = null
      }
    }
    expect(pages).toBe(3)
    expect(seen.map((a) => a.id)).toEqual(created.map((a) => a.id))
  })

  it('lists newest first with order=desc', async () => {
    const page = (await call('GET', `/v1/gpts/${LIST_GPT}/agents?order=desc&limit=200`, undefined, token)).json<AgentList>()
    expect(page.agents.map((a) => a.name)).toEqual(created.map((a) => a.name).reverse())
    expect(page.has_more).toBe(false)
  })

  it("refuses a cursor of another order and shows only the GPT's own agents", async () => {
    const first = (await call('GET', `/v1/gpts/${LIST_GPT}/agents?limit=2`, undefined, token)).json<AgentList>()
    const url = `/v1/gpts/${LIST_GPT}/agents?order=desc&cursor=${first.next_cursor}`
    expectProblem(await call('GET', url, undefined, token), 400, url, 'invalid-cursor')
    const all = (await call('GET', `/v1/gpts/${LIST_GPT}/agents?limit=200`, undefined, token)).json<AgentList>()
    expect(all.agents.every((a) => a.gpt_id === LIST_GPT)).toBe(true)
    expect(all.agents).toHaveLength(7)
  })
})

describe('deleting agents', () => {
  it('answers 204, then 404, and frees the name', async () => {
    const agent = await createAgent({ name: 'doomed' })
    const url = `/v1/agents/${agent.id}`
    const response = await call('DELETE', url)
    expect(response.statusCode).toBe(204)
    expect(response.body).toBe('')
    expectProblem(await call('GET', url), 404, url, 'not-found')
    expectProblem(await call('DELETE', url), 404, url, 'not-found')
    expect((await createAgent({ name: 'doomed' })).id).not.toBe(agent.id)
  })

  it("makes the agent's keys stop working (401), even one just used", async () => {
    const agent = await createAgent({ name: 'keyholder' })
    const key = await t.services.keys.createKey(GPT, { agent_id: agent.id, scopes: ['read', 'write'] })
    const me = await t.app.inject({ url: '/v1/me', headers: bearer(key.key) })
    expect(me.statusCode).toBe(200)
    expect(me.json()).toMatchObject({ key_id: key.id, gpt_id: GPT, agent_id: agent.id })
    expect((await call('GET', `/v1/agents/${agent.id}`, undefined, key.key)).statusCode).toBe(200)

    expect((await call('DELETE', `/v1/agents/${agent.id}`)).statusCode).toBe(204)

    const after = await t.app.inject({ url: '/v1/me', headers: bearer(key.key) })
    expectProblem(after, 401, '/v1/me', 'unauthorized')
    expect(after.headers['www-authenticate']).toMatch(/^Bearer/)
    expectProblem(await call('GET', `/v1/agents/${agent.id}/inbox`, undefined, key.key), 401, `/v1/agents/${agent.id}/inbox`, 'unauthorized')
    // GPT keys are untouched.
    expect((await call('GET', AGENTS)).statusCode).toBe(200)
  })

  it('is refused to a read-only key', async () => {
    const agent = await createAgent({ name: 'kept' })
    const url = `/v1/agents/${agent.id}`
    expectProblem(await call('DELETE', url, undefined, reader), 403, url, 'forbidden')
    expect((await call('GET', url, undefined, reader)).statusCode).toBe(200)
  })
})
