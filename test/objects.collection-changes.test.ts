import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectEndUser, registerApp } from './helpers/oauth.js'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type HttpMethod, type TestApp } from './helpers/test-app.js'

/**
 * A process writes a document under the collection as it last read it, and the insert confirms the
 * collection's rules (schema, per_user) in the same statement. Here process `a` writes after process
 * `b` changed the collection: every write must follow the collection as it is now, never as `a` saw it.
 */

const GPT = 'changing-collections'
const COLLECTIONS = `/v1/gpts/${GPT}/collections`
const TITLED = { type: 'object', required: ['title'], properties: { title: { type: 'string' } } }

let a: TestApp
let b: TestApp
let admin: string

function send(app: TestApp, method: HttpMethod, url: string, payload?: unknown, headers: Record<string, string> = {}, token = admin) {
  return injectJson(app.app, method, url, { ...bearer(token), ...headers }, payload)
}

async function ok(app: TestApp, method: HttpMethod, url: string, payload?: unknown): Promise<Record<string, unknown>> {
  const response = await send(app, method, url, payload)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300)
  return response.statusCode === 204 ? {} : response.json()
}

/** `a` writes one document now, so that it holds the collection as it is at this moment. */
async function seenByA(name: string, document: Record<string, unknown> = { title: 'seen' }): Promise<void> {
  await ok(a, 'POST', `${COLLECTIONS}/${name}/objects`, document)
}

async function countIn(name: string): Promise<number> {
  const page = await ok(b, 'GET', `${COLLECTIONS}/${name}/objects?limit=100`)
  return (page.objects as unknown[]).length
}

beforeAll(async () => {
  a = await createTestApp()
  b = await createTestApp({ db: a.db })
  admin = (await createGptWithKey(a.services, GPT, ['read', 'write', 'admin'])).token
})

afterAll(async () => {
  await b?.close()
  await a?.close()
})

describe('a write on one process after another changed the collection', () => {
  it('follows a schema set since: a document it refuses is not stored, one it accepts is', async () => {
    await ok(b, 'POST', COLLECTIONS, { name: 'tightened' })
    await seenByA('tightened', { any: 'thing' })
    await ok(b, 'PATCH', `${COLLECTIONS}/tightened`, { schema: TITLED })
    const refused = await send(a, 'POST', `${COLLECTIONS}/tightened/objects`, { any: 'thing' })
    expect(refused.statusCode, refused.body).toBe(400)
    expect(refused.json<{ errors: { pointer: string }[] }>().errors.length).toBeGreaterThan(0)
    expect(await countIn('tightened')).toBe(1)
    expect((await send(a, 'POST', `${COLLECTIONS}/tightened/objects`, { title: 'fits' })).statusCode).toBe(201)
    expect(await countIn('tightened')).toBe(2)
  })

  it('follows a schema removed since: a document the old schema refused is stored', async () => {
    await ok(b, 'POST', COLLECTIONS, { name: 'loosened', schema: TITLED })
    await seenByA('loosened')
    expect((await send(a, 'POST', `${COLLECTIONS}/loosened/objects`, { untitled: true })).statusCode).toBe(400)
    await ok(b, 'PATCH', `${COLLECTIONS}/loosened`, { schema: null })
    const stored = await send(a, 'POST', `${COLLECTIONS}/loosened/objects`, { untitled: true })
    expect(stored.statusCode, stored.body).toBe(201)
    expect(stored.json<{ body: unknown }>().body).toEqual({ untitled: true })
  })

  it('follows a schema replaced by another', async () => {
    await ok(b, 'POST', COLLECTIONS, { name: 'replaced', schema: TITLED })
    await seenByA('replaced')
    const numbered = { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } }
    await ok(b, 'PATCH', `${COLLECTIONS}/replaced`, { schema: numbered })
    expect((await send(a, 'POST', `${COLLECTIONS}/replaced/objects`, { title: 'old rule' })).statusCode).toBe(400)
    expect((await send(a, 'POST', `${COLLECTIONS}/replaced/objects`, { n: 1 })).statusCode).toBe(201)
  })

  it('answers 404 for a collection deleted since, and stores nothing', async () => {
    await ok(b, 'POST', COLLECTIONS, { name: 'deleted' })
    await seenByA('deleted')
    await ok(b, 'DELETE', `${COLLECTIONS}/deleted`)
    const url = `${COLLECTIONS}/deleted/objects`
    expectProblem(await send(a, 'POST', url, { title: 'late' }), 404, url, 'not-found')
    expectProblem(await send(a, 'GET', url), 404, url, 'not-found')
  })

  it('follows a collection deleted and created again under the same name with other rules', async () => {
    await ok(b, 'POST', COLLECTIONS, { name: 'reborn' })
    await seenByA('reborn', { any: 'thing' })
    await ok(b, 'DELETE', `${COLLECTIONS}/reborn`)
    await ok(b, 'POST', COLLECTIONS, { name: 'reborn', schema: TITLED })
    expect((await send(a, 'POST', `${COLLECTIONS}/reborn/objects`, { any: 'thing' })).statusCode).toBe(400)
    expect((await send(a, 'POST', `${COLLECTIONS}/reborn/objects`, { title: 'new life' })).statusCode).toBe(201)
    expect(await countIn('reborn')).toBe(1)
  })

  it('follows a schema set since on writes made at once (joined into one statement): each answered as the schema decides', async () => {
    await ok(b, 'POST', COLLECTIONS, { name: 'busy' })
    await seenByA('busy')
    await ok(b, 'PATCH', `${COLLECTIONS}/busy`, { schema: TITLED })
    const documents = Array.from({ length: 24 }, (_, n) => (n % 3 ? { title: `fits ${n}` } : { untitled: n }))
    const answers = await Promise.all(documents.map((document) => send(a, 'POST', `${COLLECTIONS}/busy/objects`, document)))
    expect(answers.map((answer) => answer.statusCode)).toEqual(documents.map((document) => ('title' in document ? 201 : 400)))
    answers.forEach((answer, n) => answer.statusCode === 201 && expect(answer.json<{ body: unknown }>().body).toEqual(documents[n]))
    expect(await countIn('busy')).toBe(1 + 16)
  })

  it('follows a schema set since on a write with an Idempotency-Key too', async () => {
    await ok(b, 'POST', COLLECTIONS, { name: 'keyed' })
    await seenByA('keyed', { any: 'thing' })
    await ok(b, 'PATCH', `${COLLECTIONS}/keyed`, { schema: TITLED })
    const refused = await send(a, 'POST', `${COLLECTIONS}/keyed/objects`, { any: 'thing' }, { 'idempotency-key': 'k-1' })
    expect(refused.statusCode, refused.body).toBe(400)
    expect(await countIn('keyed')).toBe(1)
  })

  it('gives an end user the document in a collection made per-user since', async () => {
    const client = await registerApp(a.app, GPT, admin)
    const tokens = await connectEndUser(a.app, client, { email: 'dana@example.com', password: 'End-User-Secret1' })
    const me = (await send(a, 'GET', '/v1/me', undefined, {}, tokens.access_token)).json<{ end_user_id: string }>()
    await ok(b, 'POST', COLLECTIONS, { name: 'became-private' })
    const before = await send(a, 'POST', `${COLLECTIONS}/became-private/objects`, { note: 'shared' }, {}, tokens.access_token)
    expect(before.statusCode, before.body).toBe(201)
    expect(before.json<Record<string, unknown>>().user_id).toBeUndefined()
    await ok(b, 'PATCH', `${COLLECTIONS}/became-private`, { per_user: true })
    const after = await send(a, 'POST', `${COLLECTIONS}/became-private/objects`, { note: 'mine' }, {}, tokens.access_token)
    expect(after.statusCode, after.body).toBe(201)
    expect(after.json<Record<string, unknown>>().user_id).toBe(me.end_user_id)
  })
})

describe('a change of a document on one process after another changed the collection', () => {
  /** A document in a new collection, written and then read back by `a`, so that `a` holds the collection as it is now. */
  async function documentSeenByA(name: string, schema?: object): Promise<string> {
    await ok(b, 'POST', COLLECTIONS, schema ? { name, schema } : { name })
    const created = await ok(a, 'POST', `${COLLECTIONS}/${name}/objects`, { title: 'first' })
    return created.id as string
  }

  it.each(['PATCH', 'PUT'] as const)('%s follows a schema set since: a change it refuses leaves the document as it was', async (method) => {
    const id = await documentSeenByA(`tightened-${method.toLowerCase()}`)
    await ok(b, 'PATCH', `${COLLECTIONS}/tightened-${method.toLowerCase()}`, { schema: { ...TITLED, properties: { title: { type: 'string', maxLength: 5 } } } })
    const refused = await send(a, method, `/v1/objects/${id}`, { title: 'far too long' })
    expect(refused.statusCode, refused.body).toBe(400)
    expect((await ok(b, 'GET', `/v1/objects/${id}`)).body).toEqual({ title: 'first' })
    expect((await send(a, method, `/v1/objects/${id}`, { title: 'short' })).statusCode).toBe(200)
  })

  it.each(['PATCH', 'PUT'] as const)('%s follows a schema removed since: a change the old schema refused is stored', async (method) => {
    const id = await documentSeenByA(`loosened-${method.toLowerCase()}`, TITLED)
    expect((await send(a, method, `/v1/objects/${id}`, { title: 42 })).statusCode).toBe(400)
    await ok(b, 'PATCH', `${COLLECTIONS}/loosened-${method.toLowerCase()}`, { schema: null })
    const changed = await send(a, method, `/v1/objects/${id}`, { title: 42 })
    expect(changed.statusCode, changed.body).toBe(200)
    expect(changed.json<{ body: { title: unknown } }>().body.title).toBe(42)
  })

  it('keeps If-Match exact under a schema changed since', async () => {
    const id = await documentSeenByA('matched')
    await ok(b, 'PATCH', `${COLLECTIONS}/matched`, { schema: TITLED })
    expect((await send(a, 'PATCH', `/v1/objects/${id}`, { n: 1 }, { 'if-match': '"7"' })).statusCode).toBe(412)
    const changed = await send(a, 'PATCH', `/v1/objects/${id}`, { n: 1 }, { 'if-match': '"1"' })
    expect(changed.statusCode, changed.body).toBe(200)
    expect(changed.headers.etag).toBe('"2"')
  })
})

describe('a list on one process', () => {
  it('tells an empty collection from one deleted since', async () => {
    await ok(b, 'POST', COLLECTIONS, { name: 'emptied' })
    const url = `${COLLECTIONS}/emptied/objects`
    expect((await ok(a, 'GET', url)).objects).toEqual([])
    await ok(b, 'DELETE', `${COLLECTIONS}/emptied`)
    expectProblem(await send(a, 'GET', url), 404, url, 'not-found')
  })
})
