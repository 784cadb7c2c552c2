import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signup, type TestAccount } from './helpers/accounts.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

let t: TestApp
let owner: TestAccount
let stranger: TestAccount
let adminKey: string
let readKey: { token: string; keyId: string }
let otherGptAdmin: string
let before: string

interface Row {
  id: string
  action: string
  status: number
  gpt_id: string | null
  principal: { kind: string; id: string | null }
  created_at: string
}
interface Listed {
  audit: Row[]
  next_cursor: string | null
  has_more: boolean
}

const list = (path: string, token: string, headers: Record<string, string> = {}) => t.app.inject({ url: path, headers: { ...bearer(token), ...headers } })

async function rows(query: string, token = adminKey): Promise<Row[]> {
  const response = await list(`/v1/gpts/a-gpt/audit?limit=200&${query}`, token)
  expect(response.statusCode, response.body).toBe(200)
  return response.json<Listed>().audit
}

beforeAll(async () => {
  t = await createTestApp()
  before = new Date(Date.now() - 1000).toISOString()
  owner = await signup(t.app)
  stranger = await signup(t.app)
  expect((await injectJson(t.app, 'POST', '/v1/gpts', bearer(owner.key), { id: 'a-gpt', name: 'A' })).statusCode).toBe(201)
  adminKey = (await createGptWithKey(t.services, 'a-gpt', ['read', 'write', 'admin'])).token
  readKey = await createGptWithKey(t.services, 'a-gpt', ['read'])
  otherGptAdmin = (await createGptWithKey(t.services, 'b-gpt', ['read', 'write', 'admin'])).token
  for (let i = 0; i < 7; i++) expect((await list('/v1/me', adminKey)).statusCode).toBe(200)
  for (let i = 0; i < 3; i++) expect((await list(`/v1/objects/${randomUUID()}`, readKey.token)).statusCode).toBe(404)
  expect((await list('/v1/me', otherGptAdmin)).statusCode).toBe(200)
  await t.services.auditWriter!.flush()
}, 60_000)

afterAll(async () => {
  await t?.close()
})

describe('GET /v1/gpts/{gpt_id}/audit filters', () => {
  it('by action, newest first', async () => {
    const found = await rows('action=getMe')
    expect(found).toHaveLength(7)
    expect(found.every((row) => row.action === 'getMe' && row.gpt_id === 'a-gpt')).toBe(true)
    const times = found.map((row) => row.created_at)
    expect([...times].sort().reverse()).toEqual(times)
  })

  it.each([
    ['status=4xx', (row: Row) => row.status >= 400 && row.status < 500, 3],
    ['status=2xx&action=getMe', (row: Row) => row.status === 200, 7],
    ['status=5xx', () => false, 0],
  ])('%s', async (query, holds, count) => {
    const found = await rows(query)
    expect(found.filter((row) => row.action !== 'listGptAudit')).toHaveLength(count)
    expect(found.every(holds)).toBe(true)
  })

  it('by principal', async () => {
    const found = await rows(`principal_kind=key&principal_id=${readKey.keyId}`)
    expect(found.map((row) => [row.action, row.status])).toEqual([
      ['getObject', 404],
      ['getObject', 404],
      ['getObject', 404],
    ])
    // The keys above were made through the services: the operator, as at the command line.
    expect((await rows('principal_kind=admin')).map((row) => [row.action, row.principal.id])).toEqual([
      ['key.created', null],
      ['key.created', null],
    ])
  })

  it('by time range', async () => {
    const all = await rows('action=getMe')
    const middle = all[3]!.created_at
    expect((await rows(`action=getMe&created_after=${before}`)).length).toBe(7)
    expect(await rows(`action=getMe&created_before=${before}`)).toEqual([])
    const after = await rows(`action=getMe&created_after=${encodeURIComponent(middle)}`)
    expect(after.every((row) => row.created_at > middle)).toBe(true)
    const older = await rows(`action=getMe&created_before=${encodeURIComponent(middle)}`)
    expect(older.every((row) => row.created_at < middle)).toBe(true)
  })

  it.each([['status=200'], ['principal_kind=robot'], ['created_after=yesterday'], ['limit=0'], ['colour=red']])('%s is 422', async (query) => {
    const response = await list(`/v1/gpts/a-gpt/audit?${query}`, adminKey)
    expect(response.statusCode).toBe(422)
    expect(response.headers['content-type']).toBe('application/problem+json')
  })
})

describe('pagination', () => {
  it('walks every row once with Link and next_cursor', async () => {
    const seen: string[] = []
    let url: string | null = '/v1/gpts/a-gpt/audit?action=getMe&limit=3'
    let pages = 0
    while (url !== null) {
      const response = await list(url, adminKey)
      expect(response.statusCode).toBe(200)
      const page: Listed = response.json<Listed>()
      seen.push(...page.audit.map((row) => row.id))
      pages++
      expect(page.has_more).toBe(page.next_cursor !== null)
      if (page.next_cursor !== null) expect(response.headers.link).toContain('rel="next"')
      else expect(response.headers.link).toBeUndefined()
      url = page.next_cursor === null ? null : `/v1/gpts/a-gpt/audit?action=getMe&limit=3&cursor=${page.next_cursor}`
    }
    expect(pages).toBe(3)
    expect(new Set(seen).size).toBe(7)
    expect(seen).toEqual((await rows('action=getMe')).map((row) => row.id))
  })

  it('a bad cursor is 400', async () => {
    const response = await list('/v1/gpts/a-gpt/audit?cursor=bm9wZQ', adminKey)
    expect(response.statusCode).toBe(400)
  })
})

describe('NDJSON export', () => {
  it.each([
    ['Accept', '/v1/gpts/a-gpt/audit?action=getMe', { accept: 'application/x-ndjson' }],
    ['format=ndjson', '/v1/gpts/a-gpt/audit?action=getMe&format=ndjson', {}],
  ])('by %s: every matching row, one per line', async (_name, url, headers) => {
    const response = await list(url, adminKey, headers)
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('application/x-ndjson')
    const lines = response.body.trim().split('\n').map((line) => JSON.parse(line) as Row)
    expect(lines.map((row) => row.id)).toEqual((await rows('action=getMe')).map((row) => row.id))
  })

  it('streams more rows than one batch, oldest first with order=asc', async () => {
    const start = Date.parse('2026-01-01T00:00:00Z')
    const bulk = Array.from({ length: 1203 }, (_, i) => ({
      gpt_id: 'bulk-gpt',
      id: randomUUID(),
      principal_kind: 'key',
      principal_id: 'k',
      action: 'getMe',
      targets: '{}',
      status: 200,
      created_at: new Date(start + i * 1000),
    }))
    await t.db.database.db.insertInto('audit_log').values(bulk).execute()
    const bulkAdmin = (await createGptWithKey(t.services, 'bulk-gpt', ['read', 'write', 'admin'])).token
    const response = await list('/v1/gpts/bulk-gpt/audit?format=ndjson&order=asc&action=getMe', bulkAdmin)
    expect(response.statusCode).toBe(200)
    const ids = response.body.trim().split('\n').map((line) => (JSON.parse(line) as Row).id)
    expect(ids).toEqual(bulk.map((row) => row.id))
  })

  it('checks the filters before streaming', async () => {
    const bad = await list('/v1/gpts/a-gpt/audit?format=ndjson&created_after=nope', adminKey)
    expect(bad.statusCode).toBe(422)
    expect(bad.headers['content-type']).toBe('application/problem+json')
  })
})

describe('access', () => {
  it.each([
    ['no credential', () => '', 401],
    ["another GPT's admin key", () => otherGptAdmin, 403],
    ['a key without the admin scope', () => readKey.token, 403],
    ['another account', () => stranger.key, 404],
    ['the owning account', () => owner.key, 200],
    ["the GPT's admin key", () => adminKey, 200],
  ])('%s: %s', async (_name, token, status) => {
    const response = await t.app.inject({ url: '/v1/gpts/a-gpt/audit', headers: token() === '' ? {} : bearer(token()) })
    expect(response.statusCode, response.body).toBe(status)
  })

  it("an account's own log holds its GPTs' rows, never another's", async () => {
    const mine = await list('/v1/accounts/me/audit?limit=200&action=getMe', owner.key)
    expect(mine.json<Listed>().audit.map((row) => row.gpt_id)).toEqual(Array(7).fill('a-gpt'))
    const theirs = await list('/v1/accounts/me/audit?limit=200', stranger.key)
    expect(theirs.statusCode).toBe(200)
    expect(theirs.json<Listed>().audit.filter((row) => row.gpt_id !== null)).toEqual([])
  })

  it('a GPT key is refused on the account log', async () => {
    expect((await list('/v1/accounts/me/audit', adminKey)).statusCode).toBe(401)
  })
})
