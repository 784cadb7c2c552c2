import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createGptWithKey, createTestApp, type TestApp, keySecret } from './helpers/test-app.js'

let t: TestApp
let disabled: TestApp

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const TOKEN = /^ak_[0-9a-f]{32}_[A-Za-z0-9_-]{43,}$/
const UNKNOWN_KEY_ID = '01900000-0000-7000-8000-000000000000'
const PAGED_GPTS = 7

beforeAll(async () => {
  ;[t, disabled] = await Promise.all([createTestApp(), createTestApp({ env: { ADMIN_TOKEN: '' } })])
})

afterAll(async () => {
  await Promise.all([t?.close(), disabled?.close()])
})

const admin = () => bearer(t.adminToken)

type Method = 'GET' | 'POST' | 'DELETE'
async function call(method: Method, url: string, payload?: unknown, headers: Record<string, string> = admin()) {
  return t.app.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) })
}

function expectProblem(response: LightMyRequestResponse, status: number, type?: string) {
  expect(response.statusCode, response.body).toBe(status)
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
  const body = response.json()
  expect(body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String), instance: expect.any(String) })
  if (type) expect(body.type).toBe(`/problems/${type}`)
  return body as { detail: string; errors?: { pointer: string; message: string }[] }
}

/** The `rel="next"` target of a Link header as a path the app can be asked for. */
function nextLink(response: LightMyRequestResponse): string | null {
  const header = response.headers.link
  if (header === undefined) return null
  const match = /^<([^>]+)>; rel="next"$/.exec(String(header))
  expect(match, `Link header ${String(header)}`).not.toBeNull()
  const url = new URL(match![1]!)
  expect(url.origin).toBe('http://agentstore.test')
  return url.pathname + url.search
}

async function createGpt(id: string, name = id) {
  const response = await call('POST', '/v1/admin/gpts', { id, name })
  expect(response.statusCode, response.body).toBe(201)
  return response.json() as { id: string }
}

async function createKey(gptId: string, body: Record<string, unknown> = {}) {
  const response = await call('POST', `/v1/admin/gpts/${gptId}/keys`, body)
  expect(response.statusCode, response.body).toBe(201)
  return response.json() as { id: string; key: string; gpt_id: string; scopes: string[]; expires_at: string | null }
}

const me = (token: string) => t.app.inject({ url: '/v1/me', headers: bearer(token) })

describe('admin GPTs', () => {
  it('creates a GPT: 201 with Location and the GPT', async () => {
    const response = await call('POST', '/v1/admin/gpts', { id: 'alpha', name: 'Alpha', description: 'The first' })
    expect(response.statusCode).toBe(201)
    expect(response.headers.location).toBe('/v1/admin/gpts/alpha')
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    const gpt = response.json()
    expect(gpt).toEqual({
      id: 'alpha',
      name: 'Alpha',
      description: 'The first',
      action_exposure: { parts: ['collections', 'memories', 'search'], collections: null },
      session_retention_days: null,
      mail_retention_days: null,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      updated_at: gpt.created_at,
    })
    const read = await call('GET', response.headers.location as string)
    expect(read.statusCode).toBe(200)
    expect(read.json()).toEqual(gpt)
  })

  it('defaults description to null', async () => {
    const response = await call('POST', '/v1/admin/gpts', { id: 'no-desc', name: 'No description' })
    expect(response.statusCode).toBe(201)
    expect(response.json().description).toBeNull()
  })

  it('refuses a duplicate id with 409', async () => {
    await createGpt('dup')
    const body = expectProblem(await call('POST', '/v1/admin/gpts', { id: 'dup', name: 'Again' }), 409, 'conflict')
    expect(body.detail).toContain('"dup"')
  })

  it.each([
    ['a space', 'has space'],
    ['a leading dash', '-lead'],
    ['a slash', 'a/b'],
    ['65 characters', 'a'.repeat(65)],
    ['an empty id', ''],
    ['unicode', 'gpt-é'],
  ])('refuses an id with %s: 422 pointing at /id', async (_name, id) => {
    const body = expectProblem(await call('POST', '/v1/admin/gpts', { id, name: 'X' }), 422, 'validation-failed')
    expect(body.errors!.map((e) => e.pointer)).toEqual(['/id'])
  })

  it('accepts a 64-character id', async () => {
    await createGpt('b'.repeat(64))
  })

  it('reads and deletes: unknown GPT → 404', async () => {
    expectProblem(await call('GET', '/v1/admin/gpts/never-made'), 404, 'not-found')
    expectProblem(await call('DELETE', '/v1/admin/gpts/never-made'), 404, 'not-found')
  })
})

describe('admin GPT list pagination', () => {
  let all: { id: string; created_at: string }[]

  beforeAll(async () => {
    for (let i = 0; i < PAGED_GPTS; i++) await createGpt(`page-${String(i).padStart(2, '0')}`)
    const response = await call('GET', '/v1/admin/gpts?limit=200')
    expect(response.statusCode).toBe(200)
    const body = response.json()
    expect(body.has_more).toBe(false)
    expect(body.next_cursor).toBeNull()
    expect(response.headers.link).toBeUndefined()
    all = body.gpts
  })

  it('lists every GPT in (created_at, id) order', () => {
    expect(all.length).toBeGreaterThanOrEqual(PAGED_GPTS + 1)
    const pages = all.filter((g) => g.id.startsWith('page-')).map((g) => g.id)
    expect(pages).toEqual(Array.from({ length: PAGED_GPTS }, (_, i) => `page-${String(i).padStart(2, '0')}`))
    for (let i = 1; i < all.length; i++) {
      const [a, b] = [all[i - 1]!, all[i]!]
      expect(a.created_at < b.created_at || (a.created_at === b.created_at && a.id < b.id)).toBe(true)
    }
  })

  it('uses the default page size without limit', async () => {
    const body = (await call('GET', '/v1/admin/gpts')).json()
    expect(body.gpts).toHaveLength(Math.min(all.length, t.config.defaultPageSize))
  })

  async function walk(first: string) {
    const seen: string[] = []
    let url: string | null = first
    let pages = 0
    while (url !== null) {
      const response = await call('GET', url)
      expect(response.statusCode, response.body).toBe(200)
      const body = response.json() as { gpts: { id: string }[]; next_cursor: string | null; has_more: boolean }
      expect(body.gpts.length).toBeLessThanOrEqual(3)
      seen.push(...body.gpts.map((g) => g.id))
      const next = nextLink(response)
      if (body.has_more) {
        expect(body.gpts).toHaveLength(3)
        expect(typeof body.next_cursor).toBe('string')
        expect(next).not.toBeNull()
        const params = new URL(next!, 'http://x').searchParams
        expect(params.get('cursor')).toBe(body.next_cursor)
        expect(params.get('limit')).toBe('3')
      } else {
        expect(body.next_cursor).toBeNull()
        expect(next).toBeNull()
      }
      url = next
      pages++
      expect(pages).toBeLessThan(50)
    }
    return { seen, pages }
  }

  it('follows Link rel="next" through every page with no overlap or gap', async () => {
    const { seen, pages } = await walk('/v1/admin/gpts?limit=3')
    expect(seen).toEqual(all.map((g) => g.id))
    expect(pages).toBe(Math.ceil(all.length / 3))
  })

  it('pages in descending order with order=desc', async () => {
    const full = (await call('GET', '/v1/admin/gpts?limit=200&order=desc')).json()
    expect(full.gpts.map((g: { id: string }) => g.id)).toEqual(all.map((g) => g.id).reverse())
    const { seen } = await walk('/v1/admin/gpts?limit=3&order=desc')
    expect(seen).toEqual(all.map((g) => g.id).reverse())
  })

  it('a cursor used by hand gives the page after its row', async () => {
    const first = (await call('GET', '/v1/admin/gpts?limit=2')).json()
    const second = (await call('GET', `/v1/admin/gpts?limit=2&cursor=${first.next_cursor}`)).json()
    expect(second.gpts.map((g: { id: string }) => g.id)).toEqual(all.slice(2, 4).map((g) => g.id))
  })

  it.each([
    ['not base64 JSON', 'garbage'],
    ['JSON without a key', Buffer.from('{"x":1}').toString('base64url')],
    ['JSON that is not an object', Buffer.from('42').toString('base64url')],
    ['a key that is not a time', Buffer.from(JSON.stringify({ s: 'gpts:asc', k: ['yesterday', 'x'] })).toString('base64url')],
  ])('refuses a malformed cursor (%s) with 400', async (_name, cursor) => {
    const body = expectProblem(await call('GET', `/v1/admin/gpts?cursor=${cursor}`), 400, 'invalid-cursor')
    expect(body.detail).toMatch(/cursor/i)
  })

  it('refuses an asc cursor with order=desc', async () => {
    const first = (await call('GET', '/v1/admin/gpts?limit=2')).json()
    const body = expectProblem(await call('GET', `/v1/admin/gpts?order=desc&cursor=${first.next_cursor}`), 400, 'invalid-cursor')
    expect(body.detail).toMatch(/another list or sort order/)
  })

  it('refuses a cursor of another list', async () => {
    await createGpt('cursor-keys')
    for (let i = 0; i < 2; i++) await createKey('cursor-keys')
    const keys = (await call('GET', '/v1/admin/gpts/cursor-keys/keys?limit=1')).json()
    expect(keys.has_more).toBe(true)
    expectProblem(await call('GET', `/v1/admin/gpts?cursor=${keys.next_cursor}`), 400, 'invalid-cursor')
    // …and a keys cursor of one GPT on another GPT's keys.
    expectProblem(await call('GET', `/v1/admin/gpts/alpha/keys?cursor=${keys.next_cursor}`), 400, 'invalid-cursor')
    const gpts = (await call('GET', '/v1/admin/gpts?limit=1')).json()
    expectProblem(await call('GET', `/v1/admin/gpts/cursor-keys/keys?cursor=${gpts.next_cursor}`), 400, 'invalid-cursor')
  })
})

describe('admin keys', () => {
  beforeAll(async () => {
    await createGpt('keyed')
  })

  it('creates a key and shows its secret once', async () => {
    const response = await call('POST', '/v1/admin/gpts/keyed/keys', { name: 'ci', scopes: ['read'] })
    expect(response.statusCode).toBe(201)
    const key = response.json()
    expect(key).toEqual({
      id: expect.stringMatching(UUID),
      gpt_id: 'keyed',
      name: 'ci',
      scopes: ['read'],
      key: expect.stringMatching(TOKEN),
      expires_at: null,
      revoked_at: null,
      last_used_at: null,
      agent_id: null,
      created_at: expect.any(String),
    })
    expect(key.key.startsWith(`ak_${key.id.replaceAll('-', '')}_`)).toBe(true)
    const used = await me(key.key)
    expect(used.statusCode).toBe(200)
    expect(used.json()).toEqual({ key_id: key.id, gpt_id: 'keyed', scopes: ['read'], agent_id: null })

    const list = await call('GET', '/v1/admin/gpts/keyed/keys')
    expect(list.statusCode).toBe(200)
    const listed = list.json().keys as Record<string, unknown>[]
    const entry = listed.find((k) => k.id === key.id)
    expect(entry).toMatchObject({ id: key.id, gpt_id: 'keyed', name: 'ci', scopes: ['read'], revoked_at: null })
    for (const k of listed) {
      expect(k).not.toHaveProperty('key')
      expect(k).not.toHaveProperty('secret_hash')
    }
    const secret = keySecret(key.key)
    expect(list.body).not.toContain(secret)
  })

  it('defaults to read and write scopes, no name, no expiry', async () => {
    const key = await createKey('keyed')
    expect(key).toMatchObject({ scopes: ['read', 'write'], expires_at: null })
    expect((key as unknown as { name: unknown }).name).toBeNull()
  })

  it.each([
    [['admin'], ['admin']],
    [['read', 'write', 'admin'], ['read', 'write', 'admin']],
    [['write'], ['write']],
  ])('keeps scopes %j', async (scopes, expected) => {
    const key = await createKey('keyed', { scopes })
    expect(key.scopes).toEqual(expected)
    const response = await me(key.key)
    // GET /v1/me needs the read scope like every GET.
    if (expected.includes('read')) expect(response.json().scopes).toEqual(expected)
    else expect(expectProblem(response, 403, 'forbidden').detail).toMatch(/"read" scope/)
  })

  it.each([
    ['an unknown scope', { scopes: ['root'] }, '/scopes/0'],
    ['no scopes', { scopes: [] }, '/scopes'],
    ['a repeated scope', { scopes: ['read', 'read'] }, '/scopes'],
    ['an unknown field', { secret: 'mine' }, '/secret'],
    ['a bad expires_in', { expires_in: 'forever' }, '/expires_in'],
    ['a zero expires_in', { expires_in: '0d' }, '/expires_in'],
    ['a bad expires_at', { expires_at: 'tomorrow' }, '/expires_at'],
    ['both expires_in and expires_at', { expires_in: '30d', expires_at: '2999-01-01T00:00:00Z' }, '/expires_at'],
    ['a past expires_at', { expires_at: '2001-01-01T00:00:00Z' }, '/expires_at'],
  ])('refuses %s with 422', async (_name, body, pointer) => {
    const problem = expectProblem(await call('POST', '/v1/admin/gpts/keyed/keys', body), 422, 'validation-failed')
    expect(problem.errors!.map((e) => e.pointer)).toContain(pointer)
    for (const error of problem.errors!) expect(error.message.length).toBeGreaterThan(0)
  })

  it('sets expires_at from expires_in', async () => {
    const before = Date.now()
    const key = await createKey('keyed', { expires_in: '30d' })
    const expiresAt = new Date(key.expires_at!).getTime()
    const thirtyDays = 30 * 86_400_000
    expect(expiresAt).toBeGreaterThanOrEqual(before + thirtyDays - 1000)
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + thirtyDays + 1000)
    expect((await me(key.key)).statusCode).toBe(200)
  })

  it('keeps a future expires_at', async () => {
    const key = await createKey('keyed', { expires_at: '2999-06-01T12:00:00Z' })
    expect(key.expires_at).toBe('2999-06-01T12:00:00.000Z')
  })

  it('refuses a key for an unknown GPT with 404', async () => {
    expectProblem(await call('POST', '/v1/admin/gpts/ghost/keys', {}), 404, 'not-found')
    expectProblem(await call('GET', '/v1/admin/gpts/ghost/keys'), 404, 'not-found')
  })

  it('revokes a key: 204, then the key gets 401', async () => {
    const key = await createKey('keyed')
    expect((await me(key.key)).statusCode).toBe(200)
    const response = await call('DELETE', `/v1/admin/keys/${key.id}`)
    expect(response.statusCode).toBe(204)
    expect(response.body).toBe('')
    const after = await me(key.key)
    expectProblem(after, 401, 'unauthorized')
    expect(after.json().detail).toMatch(/revoked/)
    const listed = (await call('GET', '/v1/admin/gpts/keyed/keys?limit=200')).json().keys.find((k: { id: string }) => k.id === key.id)
    expect(listed.revoked_at).toEqual(expect.any(String))
    // Revoking again keeps the first revocation.
    expect((await call('DELETE', `/v1/admin/keys/${key.id}`)).statusCode).toBe(204)
    const again = (await call('GET', '/v1/admin/gpts/keyed/keys?limit=200')).json().keys.find((k: { id: string }) => k.id === key.id)
    expect(again.revoked_at).toBe(listed.revoked_at)
  })

  it('revoking an unknown key → 404; a malformed key id → 422', async () => {
    expectProblem(await call('DELETE', `/v1/admin/keys/${UNKNOWN_KEY_ID}`), 404, 'not-found')
    const body = expectProblem(await call('DELETE', '/v1/admin/keys/not-a-uuid'), 422, 'validation-failed')
    expect(body.errors!.map((e) => e.pointer)).toEqual(['/key_id'])
  })

  it('pages keys with limit, next_cursor and Link', async () => {
    await createGpt('many-keys')
    const made: string[] = []
    for (let i = 0; i < 5; i++) made.push((await createKey('many-keys', { name: `k${i}` })).id)
    const seen: string[] = []
    let url: string | null = '/v1/admin/gpts/many-keys/keys?limit=2'
    while (url !== null) {
      const response = await call('GET', url)
      expect(response.statusCode).toBe(200)
      seen.push(...response.json().keys.map((k: { id: string }) => k.id))
      url = nextLink(response)
    }
    expect(seen).toEqual(made)
  })

  it('deleting a GPT removes its keys: their tokens then get 401', async () => {
    await createGpt('doomed')
    const [one, two] = [await createKey('doomed'), await createKey('doomed', { scopes: ['admin'] })]
    expect((await me(one.key)).statusCode).toBe(200)
    const response = await call('DELETE', '/v1/admin/gpts/doomed')
    expect(response.statusCode).toBe(204)
    expect(response.body).toBe('')
    for (const key of [one, two]) expectProblem(await me(key.key), 401, 'unauthorized')
    expectProblem(await call('GET', '/v1/admin/gpts/doomed'), 404, 'not-found')
    expectProblem(await call('DELETE', `/v1/admin/keys/${one.id}`), 404, 'not-found')
    // The id is free again, and the new GPT does not inherit the old keys.
    await createGpt('doomed')
    expect((await call('GET', '/v1/admin/gpts/doomed/keys')).json().keys).toEqual([])
  })
})

describe('admin authentication', () => {
  const routes: [Method, string, unknown?][] = [
    ['GET', '/v1/admin/gpts'],
    ['POST', '/v1/admin/gpts', { id: 'sneaky', name: 'Sneaky' }],
    ['GET', '/v1/admin/gpts/alpha'],
    ['DELETE', '/v1/admin/gpts/alpha'],
    ['GET', '/v1/admin/gpts/alpha/keys'],
    ['POST', '/v1/admin/gpts/alpha/keys', {}],
    ['DELETE', `/v1/admin/keys/${UNKNOWN_KEY_ID}`],
  ]
  const credentials: [string, () => Record<string, string>][] = [
    ['no token', () => ({})],
    ['a wrong token', () => bearer('x'.repeat(48))],
    ['the token with one character changed', () => bearer(t.adminToken.slice(0, -1) + (t.adminToken.endsWith('0') ? '1' : '0'))],
    ['a prefix of the token', () => bearer(t.adminToken.slice(0, 16))],
    ['Basic auth', () => ({ authorization: `Basic ${t.adminToken}` })],
  ]

  it.each(routes.flatMap(([method, url, payload]) => credentials.map(([name, headers]) => ({ method, url, payload, name, headers }))))(
    '$method $url with $name → 401',
    async ({ method, url, payload, headers }) => {
      const response = await call(method, url, payload, headers())
      expectProblem(response, 401, 'unauthorized')
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/)
    },
  )

  it('a wrong token neither created nor deleted anything', async () => {
    expectProblem(await call('GET', '/v1/admin/gpts/sneaky'), 404)
    expect((await call('GET', '/v1/admin/gpts/alpha')).statusCode).toBe(200)
  })

  it.each(routes)('without ADMIN_TOKEN, %s %s → 404', async (method, url, payload) => {
    const response = await disabled.app.inject({
      method,
      url,
      headers: bearer('y'.repeat(48)),
      ...(payload !== undefined ? { payload: payload as object } : {}),
    })
    expectProblem(response, 404, 'not-found')
    expect(response.headers.allow).toBeUndefined()
  })

  it('without ADMIN_TOKEN the tenant API still works', async () => {
    const { token } = await createGptWithKey(disabled.services, 'still-here')
    expect((await disabled.app.inject({ url: '/v1/gpts/still-here', headers: bearer(token) })).statusCode).toBe(200)
  })
})

describe('tenant key routes (admin-scoped key)', () => {
  let own: { token: string; keyId: string }
  let other: { token: string; keyId: string }

  beforeAll(async () => {
    own = await createGptWithKey(t.services, 'tenant-a', ['admin'])
    other = await createGptWithKey(t.services, 'tenant-b', ['read', 'write', 'admin'])
  })

  it('lists and creates keys of its own GPT', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/v1/gpts/tenant-a/keys', headers: bearer(own.token), payload: { name: 'child', scopes: ['read'] } })
    expect(created.statusCode, created.body).toBe(201)
    const key = created.json()
    expect(key).toMatchObject({ gpt_id: 'tenant-a', name: 'child', scopes: ['read'], key: expect.stringMatching(TOKEN) })
    expect((await me(key.key)).json()).toEqual({ key_id: key.id, gpt_id: 'tenant-a', scopes: ['read'], agent_id: null })

    const list = await t.app.inject({ url: '/v1/gpts/tenant-a/keys', headers: bearer(own.token) })
    expect(list.statusCode).toBe(200)
    const ids = list.json().keys.map((k: { id: string }) => k.id)
    expect(ids).toEqual(expect.arrayContaining([own.keyId, key.id]))
    expect(ids).not.toContain(other.keyId)
    expect(list.body).not.toContain(keySecret(key.key))
  })

  it.each([
    ['GET', '/v1/gpts/tenant-b/keys'],
    ['POST', '/v1/gpts/tenant-b/keys'],
  ] as const)('%s on another GPT’s keys → 403', async (method, url) => {
    const response = await t.app.inject({ method, url, headers: bearer(own.token), ...(method === 'POST' ? { payload: {} } : {}) })
    expectProblem(response, 403, 'forbidden')
    const keys = (await call('GET', '/v1/admin/gpts/tenant-b/keys?limit=200')).json().keys
    expect(keys.map((k: { id: string }) => k.id)).toEqual([other.keyId])
  })

  it('DELETE of another GPT’s key → 404 (not revealed), and that key still works', async () => {
    const response = await t.app.inject({ method: 'DELETE', url: `/v1/keys/${other.keyId}`, headers: bearer(own.token) })
    const body = expectProblem(response, 404, 'not-found')
    const unknown = await t.app.inject({ method: 'DELETE', url: `/v1/keys/${UNKNOWN_KEY_ID}`, headers: bearer(own.token) })
    // Indistinguishable from a key that does not exist, apart from the id it names.
    expect(body.detail.replace(other.keyId, 'ID')).toBe(unknown.json().detail.replace(UNKNOWN_KEY_ID, 'ID'))
    expect((await me(other.token)).statusCode).toBe(200)
  })

  it('revokes a key of its own GPT', async () => {
    const child = await createGptWithKey(t.services, 'tenant-a', ['read'])
    const response = await t.app.inject({ method: 'DELETE', url: `/v1/keys/${child.keyId}`, headers: bearer(own.token) })
    expect(response.statusCode).toBe(204)
    expectProblem(await me(child.token), 401, 'unauthorized')
  })

  it('needs the admin scope for key routes', async () => {
    const plain = await createGptWithKey(t.services, 'tenant-a', ['read', 'write'])
    for (const [method, url] of [
      ['GET', '/v1/gpts/tenant-a/keys'],
      ['POST', '/v1/gpts/tenant-a/keys'],
      ['DELETE', `/v1/keys/${own.keyId}`],
    ] as const) {
      const response = await t.app.inject({ method, url, headers: bearer(plain.token), ...(method === 'POST' ? { payload: {} } : {}) })
      expectProblem(response, 403, 'forbidden')
    }
    expect((await t.app.inject({ url: '/v1/gpts/tenant-a/keys', headers: bearer(own.token) })).statusCode).toBe(200)
  })

  it('an admin-scoped key cannot use the operator API', async () => {
    expectProblem(await call('GET', '/v1/admin/gpts', undefined, bearer(own.token)), 401, 'unauthorized')
  })
})

describe('tampered cursors', () => {
  const cursor = (scope: string, key: unknown[]) => Buffer.from(JSON.stringify({ s: scope, k: key })).toString('base64url')
  it.each([
    { name: 'a key list cursor whose id is not a uuid', url: `/v1/admin/gpts/keyed/keys?cursor=${cursor('keys:keyed:asc', ['2026-01-01T00:00:00.000Z', 'not-a-uuid'])}` },
    { name: 'a GPT list cursor whose id is not text', url: `/v1/admin/gpts?cursor=${cursor('gpts:asc', ['2026-01-01T00:00:00.000Z', 42])}` },
    { name: 'a cursor whose time is not a time', url: `/v1/admin/gpts?cursor=${cursor('gpts:asc', ['yesterday', 'x'])}` },
  ])('$name → 400, not a database error', async ({ url }) => {
    const response = await call('GET', url)
    expect(response.statusCode).toBe(400)
    expect(response.json()).toMatchObject({ type: '/problems/invalid-cursor', detail: 'The cursor is malformed.' })
  })
})
