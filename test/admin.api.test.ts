import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminCalls, expectAdminProblem as expectProblem } from './helpers/admin-api.js'
import { createTestApp, type TestApp, keySecret } from './helpers/test-app.js'

// The operator API: GPTs, their pagination, and keys. Authentication, tenant key routes and tampered
// cursors: admin.access.api.test.ts.

let t: TestApp

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const TOKEN = /^ak_[0-9a-f]{32}_[A-Za-z0-9_-]{43,}$/
const UNKNOWN_KEY_ID = '01900000-0000-7000-8000-000000000000'
const PAGED_GPTS = 7

beforeAll(async () => {
  t = await createTestApp()
})

afterAll(async () => {
  await t?.close()
})

const { call, me } = adminCalls(() => t)

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
