import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminCalls, expectAdminProblem as expectProblem, type AdminMethod as Method } from './helpers/admin-api.js'
import { bearer, createGptWithKey, createTestApp, type TestApp, keySecret } from './helpers/test-app.js'

// Who may use the operator API (and what answers without ADMIN_TOKEN), the tenant key routes of an
// admin-scoped key, and tampered cursors.

let t: TestApp
let disabled: TestApp

const TOKEN = /^ak_[0-9a-f]{32}_[A-Za-z0-9_-]{43,}$/
const UNKNOWN_KEY_ID = '01900000-0000-7000-8000-000000000000'

beforeAll(async () => {
  ;[t, disabled] = await Promise.all([createTestApp(), createTestApp({ env: { ADMIN_TOKEN: '' } })])
  // What a wrong token must leave alone, and the GPT whose key list the tampered cursors name.
  for (const id of ['alpha', 'keyed']) expect((await call('POST', '/v1/admin/gpts', { id, name: id })).statusCode).toBe(201)
})

afterAll(async () => {
  await Promise.all([t?.close(), disabled?.close()])
})

const { call, me } = adminCalls(() => t)

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
