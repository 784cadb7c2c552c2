import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PASSWORD, signup, type TestAccount } from './helpers/accounts.js'
import { consoleCall, consoleSignIn, type ConsoleLogin } from './helpers/console.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

// Every call the console's collections, memories and search pages make, through the console as an
// account: its own GPT answers, another account's GPT is 404 whether named in the path, in
// Agentstore-GPT, or by an item's id, and nothing of the other GPT changes. Also the NDJSON import and
// export, which the console forwards as they are.
describe('the console\'s data pages reach only the signed-in account\'s GPTs', () => {
  let t: TestApp
  let alice: TestAccount
  let aliceConsole: ConsoleLogin
  let bobKey: string
  let bobDocument: string
  let bobMemory: string

  beforeAll(async () => {
    t = await createTestApp()
    alice = await signup(t.app)
    const bob = await signup(t.app)
    for (const [account, id] of [[alice, 'alice-gpt'], [bob, 'bob-gpt']] as const) {
      expect((await injectJson(t.app, 'POST', '/v1/gpts', bearer(account.key), { id, name: id })).statusCode).toBe(201)
    }
    bobKey = (await createGptWithKey(t.services, 'bob-gpt', ['read', 'write', 'admin'])).token
    expect((await injectJson(t.app, 'POST', '/v1/gpts/bob-gpt/collections', bearer(bobKey), { name: 'notes' })).statusCode).toBe(201)
    bobDocument = (await injectJson(t.app, 'POST', '/v1/gpts/bob-gpt/collections/notes/objects', bearer(bobKey), { text: 'bob only' })).json<{ id: string }>().id
    bobMemory = (await injectJson(t.app, 'POST', '/v1/gpts/bob-gpt/memories', bearer(bobKey), { content: 'Bob likes jazz.' })).json<{ id: string }>().id
    aliceConsole = await consoleSignIn(t.app, { email: alice.email, password: PASSWORD })
  })
  afterAll(async () => t?.close())

  type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  const pageCalls: [string, Method, string, unknown?, Record<string, string>?][] = [
    ['list collections', 'GET', '/gpts/{gpt}/collections?limit=50'],
    ['create a collection', 'POST', '/gpts/{gpt}/collections', { name: 'taken', schema: { type: 'object' } }],
    ['read a collection', 'GET', '/gpts/{gpt}/collections/notes'],
    ['change a schema', 'PATCH', '/gpts/{gpt}/collections/notes', { schema: { type: 'object', required: ['text'] } }],
    ['list documents with where and q', 'GET', `/gpts/{gpt}/collections/notes/objects?limit=20&where=${encodeURIComponent('{"text":"bob only"}')}&q=bob`],
    ['add a document', 'POST', '/gpts/{gpt}/collections/notes/objects', { body: { text: 'forged' } }],
    ['export', 'GET', '/gpts/{gpt}/collections/notes/export'],
    ['import', 'POST', '/gpts/{gpt}/collections/notes/import', undefined, { 'content-type': 'application/x-ndjson' }],
    ['list memories', 'GET', '/gpts/{gpt}/memories?limit=20&embedding_status=ready'],
    ['add a memory', 'POST', '/gpts/{gpt}/memories', { content: 'forged' }],
    ['search', 'POST', '/gpts/{gpt}/search', { query: 'jazz', mode: 'hybrid', sources: ['memories', 'objects'] }],
  ]

  async function send(method: Method, path: string, gpt: string, body?: unknown, headers: Record<string, string> = {}) {
    const url = `/admin/api/v1${path.replace('{gpt}', gpt)}`
    if (headers['content-type'] === 'application/x-ndjson') {
      return t.app.inject({ method, url, headers: { cookie: aliceConsole.cookie, 'x-csrf-token': aliceConsole.csrf, 'agentstore-gpt': gpt, ...headers }, payload: '{"text":"forged"}\n' })
    }
    return consoleCall(t.app, aliceConsole, method, url, body, { 'agentstore-gpt': gpt, ...headers })
  }

  it.each(pageCalls)('refuses another account\'s GPT: %s (404)', async (_name, method, path, body, headers) => {
    const response = await send(method, path, 'bob-gpt', body, headers)
    expect(response.statusCode, response.body).toBe(404)
    expect(response.headers['content-type']).toBe('application/problem+json')
  })

  it.each([
    ['read', 'GET', () => `/objects/${bobDocument}`, undefined],
    ['replace', 'PUT', () => `/objects/${bobDocument}`, { body: { text: 'forged' } }],
    ['delete', 'DELETE', () => `/objects/${bobDocument}`, undefined],
    ['read a memory', 'GET', () => `/memories/${bobMemory}`, undefined],
  ] as const)('refuses another GPT\'s item by id, named under the own GPT: %s (404)', async (_name, method, path, body) => {
    for (const gpt of ['alice-gpt', 'bob-gpt']) {
      const response = await send(method, path(), gpt, body, method === 'GET' ? {} : { 'if-match': '*' })
      expect(response.statusCode, `${gpt}: ${response.body}`).toBe(404)
    }
  })

  it('left the other account\'s data as it was', async () => {
    const document = await injectJson(t.app, 'GET', `/v1/objects/${bobDocument}`, bearer(bobKey))
    expect(document.json<{ body: unknown }>().body).toEqual({ text: 'bob only' })
    const collections = await injectJson(t.app, 'GET', '/v1/gpts/bob-gpt/collections', bearer(bobKey))
    expect(collections.json<{ collections: { name: string; schema: unknown }[] }>().collections).toEqual([expect.objectContaining({ name: 'notes', schema: null })])
    const objects = await injectJson(t.app, 'GET', '/v1/gpts/bob-gpt/collections/notes/objects', bearer(bobKey))
    expect(objects.json<{ objects: unknown[] }>().objects).toHaveLength(1)
    const memories = await injectJson(t.app, 'GET', '/v1/gpts/bob-gpt/memories', bearer(bobKey))
    expect(memories.json<{ memories: { content: string }[] }>().memories.map((m) => m.content)).toEqual(['Bob likes jazz.'])
  })

  it('answers every page call for the own GPT', async () => {
    const expected: Record<string, number> = { 'create a collection': 201, 'add a document': 201, import: 201, 'add a memory': 201 }
    expect((await send('POST', '/gpts/{gpt}/collections', 'alice-gpt', { name: 'notes' })).statusCode).toBe(201)
    for (const [name, method, path, body, headers] of pageCalls) {
      const response = await send(method, path, 'alice-gpt', body, headers)
      expect(response.statusCode, `${name}: ${response.body}`).toBe(expected[name] ?? 200)
    }
  })

  it('forwards an NDJSON import as it came, and the API\'s answer by line', async () => {
    await send('POST', '/gpts/{gpt}/collections', 'alice-gpt', { name: 'lines' })
    const url = '/admin/api/v1/gpts/alice-gpt/collections/lines/import'
    const headers = { cookie: aliceConsole.cookie, 'x-csrf-token': aliceConsole.csrf, 'agentstore-gpt': 'alice-gpt', 'content-type': 'application/x-ndjson' }
    const failed = await t.app.inject({ method: 'POST', url, headers, payload: '{"n":1}\nnot json\n' })
    expect(failed.statusCode).toBe(400)
    expect(failed.json()).toMatchObject({ detail: '1 line(s) failed; nothing was imported.', errors: [{ line: 2, pointer: '', message: 'is not valid JSON' }] })
    const imported = await t.app.inject({ method: 'POST', url, headers, payload: '{"n":1}\n{"body":{"n":2}}\n' })
    expect([imported.statusCode, imported.json()]).toEqual([201, { imported: 2 }])
    // Without the CSRF token, the console refuses it before the API sees it.
    const forged = await t.app.inject({ method: 'POST', url, headers: { ...headers, 'x-csrf-token': '' }, payload: '{"n":3}\n' })
    expect(forged.statusCode).toBe(403)

    const exported = await consoleCall(t.app, aliceConsole, 'GET', '/admin/api/v1/gpts/alice-gpt/collections/lines/export', undefined, { 'agentstore-gpt': 'alice-gpt' })
    expect(exported.statusCode).toBe(200)
    expect(exported.headers['content-type']).toMatch(/^application\/x-ndjson/)
    expect(exported.body.trim().split('\n').map((line) => (JSON.parse(line) as { body: unknown }).body)).toEqual([{ n: 1 }, { n: 2 }])
  })
})
