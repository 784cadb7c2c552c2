import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { login, signup } from './helpers/accounts.js'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

/**
 * A GPT's Action exposure is a stored setting: changed by the GPT's admin key, the account that owns
 * it or the operator, checked when stored (a 422 naming what to drop), and what its spec offers.
 */

const DEFAULTS = { parts: ['collections', 'memories', 'search'], collections: null }
const LONG = 'A field the GPT fills in with care. '.repeat(25) // over the 700 characters an Action parameter description may have

let t: TestApp
const keys: Record<string, string> = {}
let alice: { key: string; token: string }
let bob: { key: string }

type Exposure = { parts: string[]; collections: string[] | null }

beforeAll(async () => {
  t = await createTestApp()
  keys.admin = (await createGptWithKey(t.services, 'expo', ['read', 'write', 'admin'])).token
  keys.writer = (await createGptWithKey(t.services, 'expo', ['read', 'write'])).token
  keys.other = (await createGptWithKey(t.services, 'other-gpt', ['read', 'write', 'admin'])).token
  keys.long = (await createGptWithKey(t.services, 'long-gpt', ['read', 'write', 'admin'])).token
  keys.shrink = (await createGptWithKey(t.services, 'shrink-gpt', ['read', 'write', 'admin'])).token
  for (const [gpt, key, name, schema] of [
    ['expo', keys.admin, 'notes', null],
    ['expo', keys.admin, 'diary', null],
    ['long-gpt', keys.long, 'essays', { type: 'object', properties: { body: { type: 'string', description: LONG } } }],
    ['shrink-gpt', keys.shrink, 'notes', null],
    ['shrink-gpt', keys.shrink, 'diary', null],
  ] as const) {
    const response = await injectJson(t.app, 'POST', `/v1/gpts/${gpt}/collections`, bearer(key), { name, schema })
    expect(response.statusCode, response.body).toBe(201)
  }
  const owner = await signup(t.app)
  alice = { key: owner.key, token: (await login(t.app, owner)).access_token }
  bob = await signup(t.app)
  expect((await injectJson(t.app, 'POST', '/v1/gpts', bearer(alice.key), { id: 'alice-gpt', name: 'Alice' })).statusCode).toBe(201)
})

afterAll(async () => {
  await t.close()
})

const patch = (url: string, token: string, body: unknown) => injectJson(t.app, 'PATCH', url, bearer(token), body)
const readGpt = async (gpt: string, token: string) => (await injectJson(t.app, 'GET', `/v1/gpts/${gpt}`, bearer(token))).json<{ action_exposure: Exposure }>()

async function offered(gpt: string): Promise<{ ids: string[]; collections: string[] | undefined }> {
  const response = await t.app.inject({ url: `/v1/gpts/${gpt}/openapi.json` })
  expect(response.statusCode, response.body).toBe(200)
  type Post = { operationId: string; requestBody: { content: { 'application/json': { schema: { properties: { collection?: { enum: string[] } } } } } } }
  const posts = Object.values(response.json<{ paths: Record<string, { post: Post }> }>().paths).map((item) => item.post)
  const withCollection = posts.find((post) => post.requestBody.content['application/json'].schema.properties.collection)
  return { ids: posts.map((post) => post.operationId).sort(), collections: withCollection?.requestBody.content['application/json'].schema.properties.collection?.enum }
}

describe('setting what the Action spec offers', () => {
  it('a new GPT has the defaults: documents of every collection, memories, search', async () => {
    expect((await readGpt('expo', keys.admin!)).action_exposure).toEqual(DEFAULTS)
    const spec = await offered('expo')
    expect(spec.ids).toEqual(expect.arrayContaining(['create_document', 'remember', 'search']))
    expect(spec.ids).not.toContain('send_mail')
    expect(spec.collections?.sort()).toEqual(['diary', 'notes'])
  })

  it.each([
    { who: "the GPT's admin key", url: '/v1/gpts/expo', token: () => keys.admin!, gpt: 'expo' },
    { who: 'the operator', url: '/v1/admin/gpts/expo', token: () => t.adminToken, gpt: 'expo' },
    { who: "the owning account's key", url: '/v1/gpts/alice-gpt', token: () => alice.key, gpt: 'alice-gpt' },
    { who: "the owning account's login token", url: '/v1/gpts/alice-gpt', token: () => alice.token, gpt: 'alice-gpt' },
  ])('$who stores a choice; the GPT and its spec show it; null goes back to the defaults', async ({ url, token, gpt }) => {
    const chosen = gpt === 'expo' ? { parts: ['chat', 'collections'], collections: ['notes'] } : { parts: ['chat', 'mail'], collections: null }
    const response = await patch(url, token(), { action_exposure: chosen })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json()).toMatchObject({ id: gpt, action_exposure: chosen })
    const spec = await offered(gpt)
    expect(spec.ids).toContain('generate_reply')
    expect(spec.ids).not.toContain('remember')
    if (gpt === 'expo') expect(spec.collections).toEqual(['notes'])
    const reset = await patch(url, token(), { action_exposure: null })
    expect(reset.json<{ action_exposure: Exposure }>().action_exposure).toEqual(DEFAULTS)
    expect((await offered(gpt)).ids).toContain('remember')
  })

  it('changing the name or description leaves the exposure as it was', async () => {
    const chosen = { parts: ['memories'], collections: [] }
    expect((await patch('/v1/gpts/expo', keys.admin!, { action_exposure: chosen })).statusCode).toBe(200)
    const response = await patch('/v1/gpts/expo', keys.admin!, { name: 'Expo', description: null })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json()).toMatchObject({ name: 'Expo', description: null, action_exposure: chosen })
    expect(response.json<{ updated_at: string; created_at: string }>().updated_at >= response.json<{ created_at: string }>().created_at).toBe(true)
  })

  it("a collection deleted after it was chosen is no longer offered; the spec still answers", async () => {
    expect((await patch('/v1/gpts/shrink-gpt', keys.shrink!, { action_exposure: { parts: ['collections'], collections: ['notes', 'diary'] } })).statusCode).toBe(200)
    expect((await injectJson(t.app, 'DELETE', '/v1/gpts/shrink-gpt/collections/diary', bearer(keys.shrink!))).statusCode).toBe(204)
    expect((await offered('shrink-gpt')).collections).toEqual(['notes'])
    expect((await injectJson(t.app, 'DELETE', '/v1/gpts/shrink-gpt/collections/notes', bearer(keys.shrink!))).statusCode).toBe(204)
    expect((await offered('shrink-gpt')).ids).toEqual(['list_collections'])
  })

  it('a spec past a GPT Actions limit is refused when chosen, naming the part to drop; without it the choice is stored', async () => {
    const refused = expectProblem(await patch('/v1/gpts/long-gpt', keys.long!, { action_exposure: { parts: ['collections', 'memories'], collections: null } }), 422, '/v1/gpts/long-gpt', 'validation-failed')
    expect(refused.detail).toMatch(/create_document would break GPT Actions' limits .*drop collections from action_exposure\.parts/)
    expect(refused.errors).toEqual([expect.objectContaining({ pointer: '/action_exposure/parts', location: 'body' })])
    expect((await readGpt('long-gpt', keys.long!)).action_exposure).toEqual(DEFAULTS)
    expect((await patch('/v1/gpts/long-gpt', keys.long!, { action_exposure: { parts: ['memories', 'search'], collections: null } })).statusCode).toBe(200)
  })
})

describe('refusals', () => {
  const exposure = (value: unknown) => ({ action_exposure: value })
  it.each([
    { name: 'an empty body', body: {}, status: 422, pointer: '' },
    { name: 'an unknown field', body: { owner: 'me' }, status: 422, pointer: '/owner' },
    { name: 'an empty name', body: { name: '' }, status: 422, pointer: '/name' },
    { name: 'no parts', body: exposure({ parts: [], collections: null }), status: 422, pointer: '/action_exposure/parts' },
    { name: 'an unknown part', body: exposure({ parts: ['memories', 'files'], collections: null }), status: 422, pointer: '/action_exposure/parts/1' },
    { name: 'a part twice', body: exposure({ parts: ['mail', 'mail'], collections: null }), status: 422, pointer: '/action_exposure/parts' },
    { name: 'parts left out', body: exposure({ collections: null }), status: 422, pointer: '/action_exposure/parts' },
    { name: 'collections left out', body: exposure({ parts: ['mail'] }), status: 422, pointer: '/action_exposure/collections' },
    { name: 'an unknown member', body: exposure({ parts: ['mail'], collections: null, limit: 5 }), status: 422, pointer: '/action_exposure/limit' },
    { name: 'a collection name that cannot be', body: exposure({ parts: ['collections'], collections: ['no spaces'] }), status: 422, pointer: '/action_exposure/collections/0' },
    { name: 'a collection the GPT does not have', body: exposure({ parts: ['collections'], collections: ['notes', 'nope'] }), status: 422, pointer: '/action_exposure/collections', detail: /no collection "nope": drop it from action_exposure\.collections/ },
    { name: 'a string for the exposure', body: exposure('mail'), status: 422, pointer: '/action_exposure' },
  ])('$name → $status', async ({ body, status, pointer, detail }) => {
    const before = (await readGpt('expo', keys.admin!)).action_exposure
    const problem = expectProblem(await patch('/v1/gpts/expo', keys.admin!, body), status, '/v1/gpts/expo', 'validation-failed')
    expect(problem.errors?.map((error) => error.pointer)).toContain(pointer)
    if (detail) expect(problem.detail).toMatch(detail)
    expect((await readGpt('expo', keys.admin!)).action_exposure).toEqual(before)
  })

  const body = { action_exposure: { parts: ['mail'], collections: null } }
  it.each([
    { name: 'no token', url: '/v1/gpts/expo', token: () => '', status: 401 },
    { name: 'a key without the admin scope', url: '/v1/gpts/expo', token: () => keys.writer!, status: 403 },
    { name: "another GPT's admin key", url: '/v1/gpts/expo', token: () => keys.other!, status: 403 },
    { name: "an account on another's GPT", url: '/v1/gpts/alice-gpt', token: () => bob.key, status: 404 },
    { name: "an account on the operator's GPT", url: '/v1/gpts/expo', token: () => bob.key, status: 404 },
    { name: 'the operator on a GPT that does not exist', url: '/v1/admin/gpts/never-made', token: () => t.adminToken, status: 404 },
    { name: 'the operator with a GPT id that cannot be', url: '/v1/admin/gpts/bad%20id', token: () => t.adminToken, status: 422 },
    { name: 'a GPT key on the operator route', url: '/v1/admin/gpts/expo', token: () => keys.admin!, status: 401 },
  ])('$name → $status, nothing changed', async ({ url, token, status }) => {
    const before = (await readGpt('expo', keys.admin!)).action_exposure
    const response = await injectJson(t.app, 'PATCH', url, token() ? bearer(token()) : {}, body)
    expectProblem(response, status, url)
    expect((await readGpt('expo', keys.admin!)).action_exposure).toEqual(before)
  })
})
