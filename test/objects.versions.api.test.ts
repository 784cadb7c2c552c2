import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { type Body, type ObjectView, objectsOf, MISSING_ID, t, type Method, call, createCollection, createObject, listAll, useObjectsApi } from './helpers/objects-api.js'

useObjectsApi()

describe('ETag and If-Match', () => {
  let id: string
  let url: string
  beforeAll(async () => {
    await createCollection('etags')
    id = (await createObject('etags', { n: 0 })).id
    url = `/v1/objects/${id}`
    expect((await call('PATCH', url, { n: 1 })).headers.etag).toBe('"2"')
  })

  const scenarios: { name: string; method: Method; ifMatch: string; status: number }[] = [
    { name: 'stale ETag on PATCH', method: 'PATCH', ifMatch: '"1"', status: 412 },
    { name: 'stale ETag on PUT', method: 'PUT', ifMatch: '"1"', status: 412 },
    { name: 'stale ETag on DELETE', method: 'DELETE', ifMatch: '"1"', status: 412 },
    { name: 'unquoted ETag', method: 'PATCH', ifMatch: '2', status: 412 },
    { name: 'weak ETag (strong comparison)', method: 'PATCH', ifMatch: 'W/"2"', status: 412 },
    { name: 'a list without the current ETag', method: 'PUT', ifMatch: '"1", "7"', status: 412 },
  ]
  it.each(scenarios)('$name → $status and nothing changes', async ({ method, ifMatch, status }) => {
    const before = await call('GET', url)
    const problem = expectProblem(await call(method, url, method === 'DELETE' ? undefined : { n: 99 }, { headers: { 'if-match': ifMatch } }), status, url, 'precondition-failed')
    expect(problem.detail).toMatch(/ETag is "\d+"/)
    const after = await call('GET', url)
    expect(after.json<ObjectView>()).toEqual(before.json<ObjectView>())
    expect(after.headers.etag).toBe(before.headers.etag)
  })

  it('accepts the current ETag, a list holding it, and *', async () => {
    let response = await call('PATCH', url, { n: 2 }, { headers: { 'if-match': '"2"' } })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers.etag).toBe('"3"')
    response = await call('PUT', url, { n: 3 }, { headers: { 'if-match': '"1", "3"' } })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers.etag).toBe('"4"')
    response = await call('PATCH', url, { n: 4 }, { headers: { 'if-match': '*' } })
    expect(response.statusCode).toBe(200)
    expect(response.headers.etag).toBe('"5"')
    expect(response.json<ObjectView>().body).toEqual({ n: 4 })
    response = await call('DELETE', url, undefined, { headers: { 'if-match': '"5"' } })
    expect(response.statusCode).toBe(204)
  })

  it('If-Match on a missing object is 404, and * deletes', async () => {
    const missing = `/v1/objects/${MISSING_ID}`
    expectProblem(await call('PATCH', missing, { a: 1 }, { headers: { 'if-match': '*' } }), 404, missing)
    const doc = await createObject('etags', { x: 1 })
    expect((await call('DELETE', `/v1/objects/${doc.id}`, undefined, { headers: { 'if-match': '*' } })).statusCode).toBe(204)
  })
})

describe('Idempotency-Key', () => {
  beforeAll(async () => {
    await createCollection('idem')
    await createCollection('idem-other')
  })

  it('replays the first response for the same key and body, storing once', async () => {
    const headers = { 'idempotency-key': 'order-42' }
    const first = await call('POST', objectsOf('idem'), { item: 'tea', qty: 2 }, { headers })
    expect(first.statusCode, first.body).toBe(201)
    expect(first.headers['idempotent-replayed']).toBeUndefined()
    const view = first.json<ObjectView>()
    for (let i = 0; i < 3; i++) {
      const again = await call('POST', objectsOf('idem'), { item: 'tea', qty: 2 }, { headers })
      expect(again.statusCode).toBe(201)
      expect(again.headers['idempotent-replayed']).toBe('true')
      expect(again.headers.etag).toBe(first.headers.etag)
      expect(again.headers.location).toBe(first.headers.location)
      expect(again.json<ObjectView>()).toEqual(view)
    }
    const stored = await listAll('idem')
    expect(stored.map((o) => o.id)).toEqual([view.id])
  })

  it('answers 422 for the same key with another body (or another collection), storing nothing', async () => {
    const headers = { 'idempotency-key': 'order-43' }
    expect((await call('POST', objectsOf('idem'), { item: 'coffee' }, { headers })).statusCode).toBe(201)
    const count = (await listAll('idem')).length
    for (const [collection, body] of [['idem', { item: 'coffee', qty: 3 }], ['idem-other', { item: 'coffee' }]] as const) {
      const url = objectsOf(collection)
      const problem = expectProblem(await call('POST', url, body, { headers }), 422, url, 'validation-failed')
      expect(problem.detail).toMatch(/different request/)
      expect(problem.errors).toEqual([{ pointer: '/Idempotency-Key', location: 'headers', message: expect.any(String) }])
    }
    expect((await listAll('idem')).length).toBe(count)
    expect(await listAll('idem-other')).toEqual([])
  })

  const badKeys: { name: string; key: string }[] = [
    { name: '300 characters', key: 'k'.repeat(300) },
    { name: '256 characters', key: 'k'.repeat(256) },
    { name: 'a space inside', key: 'two words' },
    { name: 'an empty key', key: '' },
  ]
  it.each(badKeys)('rejects a key of $name with 422, storing nothing', async ({ key }) => {
    const url = objectsOf('idem')
    const count = (await listAll('idem')).length
    const problem = expectProblem(await call('POST', url, { bad: key.length }, { headers: { 'idempotency-key': key } }), 422, url, 'validation-failed')
    expect(problem.errors?.[0]).toMatchObject({ location: 'headers' })
    expect(problem.errors?.[0]?.pointer).toMatch(/idempotency-key/i)
    expect((await listAll('idem')).length).toBe(count)
  })

  it('accepts a key of exactly 255 visible characters', async () => {
    const key = 'K'.repeat(254) + '~'
    const first = await call('POST', objectsOf('idem'), { long: true }, { headers: { 'idempotency-key': key } })
    expect(first.statusCode).toBe(201)
    const again = await call('POST', objectsOf('idem'), { long: true }, { headers: { 'idempotency-key': key } })
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect(again.json<ObjectView>().id).toBe(first.json<ObjectView>().id)
  })

  it('stores once when the same key arrives concurrently', async () => {
    const headers = { 'idempotency-key': 'concurrent-1' }
    const responses = await Promise.all(Array.from({ length: 6 }, () => call('POST', objectsOf('idem-other'), { race: true }, { headers })))
    const statuses = responses.map((r) => r.statusCode)
    // Each repeat either replays the winner or is told to retry (409) while the winner is in flight.
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1)
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true)
    const ids = new Set(responses.filter((r) => r.statusCode === 201).map((r) => r.json<ObjectView>().id))
    expect(ids.size).toBe(1)
    expect((await listAll('idem-other')).filter((o) => o.body.race === true)).toHaveLength(1)
  })

  it('forgets a key after 24 hours', async () => {
    const headers = { 'idempotency-key': 'expiring' }
    const first = (await call('POST', objectsOf('idem'), { v: 1 }, { headers })).json<ObjectView>()
    await sql`update idempotency_keys set created_at = now() - interval '24 hours 1 minute' where key = 'expiring'`.execute(t.db.database.db)
    // Past 24 h the key is free again: another body is a new write, not a 422.
    const second = await call('POST', objectsOf('idem'), { v: 2 }, { headers })
    expect(second.statusCode).toBe(201)
    expect(second.headers['idempotent-replayed']).toBeUndefined()
    expect(second.json<ObjectView>().id).not.toBe(first.id)
    const replay = await call('POST', objectsOf('idem'), { v: 2 }, { headers })
    expect(replay.headers['idempotent-replayed']).toBe('true')
    expect(replay.json<ObjectView>().id).toBe(second.json<ObjectView>().id)
  })
})

describe('concurrent updates', () => {
  beforeAll(async () => {
    await createCollection('race')
  })

  it('keeps every field of 10 parallel PATCHes without If-Match (no lost update)', async () => {
    const doc = await createObject('race', { start: true })
    const url = `/v1/objects/${doc.id}`
    const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => call('PATCH', url, { [`field${i}`]: i })))
    expect(responses.map((r) => r.statusCode)).toEqual(Array.from({ length: 10 }, () => 200))
    const final = await call('GET', url)
    const expected: Body = { start: true }
    for (let i = 0; i < 10; i++) expected[`field${i}`] = i
    expect(final.json<ObjectView>().body).toEqual(expected)
    expect(final.headers.etag).toBe('"11"')
    // Every response saw a distinct version.
    expect(new Set(responses.map((r) => r.headers.etag)).size).toBe(10)
  })

  it('lets exactly one of 10 parallel PATCHes with the same If-Match win; the others get 412', async () => {
    const doc = await createObject('race', { counter: 0 })
    const url = `/v1/objects/${doc.id}`
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call('PATCH', url, { counter: i + 1, [`by${i}`]: true }, { headers: { 'if-match': '"1"' } })),
    )
    const statuses = responses.map((r) => r.statusCode)
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s === 412)).toHaveLength(9)
    for (const r of responses.filter((r) => r.statusCode === 412)) expectProblem(r, 412, url, 'precondition-failed')
    const winner = responses.find((r) => r.statusCode === 200)!.json<ObjectView>()
    const final = await call('GET', url)
    expect(final.json<ObjectView>()).toEqual(winner)
    expect(final.headers.etag).toBe('"2"')
    expect(Object.keys(final.json<ObjectView>().body).filter((k) => k.startsWith('by'))).toHaveLength(1)
  })

  it('lets exactly one of 10 parallel DELETEs with the same If-Match succeed', async () => {
    const doc = await createObject('race', { x: 1 })
    const url = `/v1/objects/${doc.id}`
    const responses = await Promise.all(Array.from({ length: 10 }, () => call('DELETE', url, undefined, { headers: { 'if-match': '"1"' } })))
    const statuses = responses.map((r) => r.statusCode)
    expect(statuses.filter((s) => s === 204)).toHaveLength(1)
    expect(statuses.every((s) => s === 204 || s === 404 || s === 412)).toBe(true)
  })
})
