import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PURGE_EXPIRED_DOCUMENTS_JOB, purgeExpiredDocumentsJob } from '../src/modules/retention/documents.purge-expired.job.js'
import { RetentionService } from '../src/modules/retention/retention.service.js'
import { CollectionsRepository } from '../src/modules/collections/collections.repo.js'
import { ObjectsRepository } from '../src/modules/objects/objects.repo.js'
import { SessionsRepository } from '../src/modules/chat/sessions.repo.js'
import { MailRepository } from '../src/modules/mail/mail.repo.js'
import { PurgeMetrics } from '../src/platform/jobs/batched-purge.js'
import { silentJobLogger } from '../src/platform/jobs/jobs.queue.js'
import { bearer, createGptWithKey, createTestApp, type HttpMethod, type TestApp } from './helpers/test-app.js'
import { expectProblem } from './helpers/problem.js'
import { MemoryHistoryRepository } from '../src/modules/memories/memories.history.repo.js'

/** Collection TTL: validation, documents invisible once expired (before any purge), the purge job, batching, metrics, isolation. */

const GPT = 'ttl-gpt'
const OTHER = 'ttl-other'
const base = (gpt: string) => `/v1/gpts/${gpt}/collections`

let t: TestApp
let admin: string
let writer: string
let otherAdmin: string

beforeAll(async () => {
  t = await createTestApp()
  admin = (await createGptWithKey(t.services, GPT, ['read', 'write', 'admin'])).token
  writer = (await createGptWithKey(t.services, GPT, ['read', 'write'])).token
  otherAdmin = (await createGptWithKey(t.services, OTHER, ['read', 'write', 'admin'])).token
})

afterAll(async () => {
  await t?.close()
})

function call(method: HttpMethod, url: string, token: string, payload?: unknown): Promise<LightMyRequestResponse> {
  return t.app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload: payload as object }) })
}

async function ok<T>(method: HttpMethod, url: string, token: string, payload?: unknown): Promise<T> {
  const response = await call(method, url, token, payload)
  expect(response.statusCode, response.body).toBeLessThan(300)
  return response.body === '' ? (undefined as T) : response.json<T>()
}

/** Makes documents look last written `seconds` ago (the database clock decides expiry). */
async function age(gpt: string, ids: string[], seconds: number): Promise<void> {
  await t.db.database.db
    .updateTable('objects')
    .set({ updated_at: sql`now() - make_interval(secs => ${seconds})` })
    .where('gpt_id', '=', gpt)
    .where('id', 'in', ids)
    .execute()
}

async function stored(gpt: string, collection: string): Promise<number> {
  const row = await t.db.database.db
    .selectFrom('objects')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('gpt_id', '=', gpt)
    .where('collection', '=', collection)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

async function addDocs(gpt: string, token: string, collection: string, count: number, word = 'plum'): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < count; i++) ids.push((await ok<{ id: string }>('POST', `${base(gpt)}/${collection}/objects`, token, { title: `${word} ${i}` })).id)
  return ids
}

describe('ttl_seconds on a collection', () => {
  const invalid: Array<[string, unknown]> = [
    ['zero', 0],
    ['negative', -5],
    ['past ten years', 315_360_001],
    ['huge', 1e20],
    ['fractional', 1.5],
    ['a string', '60'],
    ['a boolean', true],
    ['an object', { seconds: 60 }],
  ]

  it.each(invalid)('refuses %s on create with 422 naming the field', async (_label, ttl) => {
    const url = base(GPT)
    const problem = expectProblem(await call('POST', url, admin, { name: 'bad', ttl_seconds: ttl }), 422, url)
    expect(JSON.stringify(problem.errors)).toContain('ttl_seconds')
  })

  it.each(invalid)('refuses %s on PATCH with 422, leaving the collection as it was', async (_label, ttl) => {
    await ok('POST', base(GPT), admin, { name: 'kept', ttl_seconds: 60 })
    const url = `${base(GPT)}/kept`
    expectProblem(await call('PATCH', url, admin, { ttl_seconds: ttl }), 422, url)
    expect((await ok<{ ttl_seconds: number }>('GET', url, admin)).ttl_seconds).toBe(60)
  })

  it('is set on create, changed and removed (null) by PATCH, and shown in reads', async () => {
    const created = await ok<{ ttl_seconds: number | null }>('POST', base(GPT), admin, { name: 'life', ttl_seconds: 315_360_000 })
    expect(created.ttl_seconds).toBe(315_360_000)
    expect((await ok<{ ttl_seconds: number | null }>('PATCH', `${base(GPT)}/life`, admin, { ttl_seconds: 1 })).ttl_seconds).toBe(1)
    expect((await ok<{ ttl_seconds: number | null }>('PATCH', `${base(GPT)}/life`, admin, { ttl_seconds: null })).ttl_seconds).toBeNull()
    const plain = await ok<{ ttl_seconds: number | null }>('POST', base(GPT), admin, { name: 'plain' })
    expect(plain.ttl_seconds).toBeNull()
  })

  it('needs the admin scope to set (403 for a write key), as a schema does', async () => {
    const url = base(GPT)
    expectProblem(await call('POST', url, writer, { name: 'sneaky', ttl_seconds: 60 }), 403, url)
    expectProblem(await call('PATCH', `${url}/kept`, writer, { ttl_seconds: 60 }), 403, `${url}/kept`)
  })
})

describe('expired documents', () => {
  it('are invisible to get, list, update, delete, search and export before any purge; fresh ones stay', async () => {
    await ok('POST', base(GPT), admin, { name: 'notes', ttl_seconds: 3600 })
    const [old, fresh] = await addDocs(GPT, writer, 'notes', 2)
    await age(GPT, [old!], 3600)
    const docs = `${base(GPT)}/notes/objects`

    expectProblem(await call('GET', `${docs}/${old}`, writer), 404, `${docs}/${old}`)
    expect((await ok<{ id: string }>('GET', `${docs}/${fresh}`, writer)).id).toBe(fresh)
    const listed = await ok<{ objects: { id: string }[] }>('GET', docs, writer)
    expect(listed.objects.map((o) => o.id)).toEqual([fresh])
    const found = await ok<{ objects: { id: string }[] }>('GET', `${docs}?q=plum`, writer)
    expect(found.objects.map((o) => o.id)).toEqual([fresh])
    expectProblem(await call('PATCH', `${docs}/${old}`, writer, { title: 'revived?' }), 404, `${docs}/${old}`)
    expectProblem(await call('PUT', `${docs}/${old}`, writer, { title: 'revived?' }), 404, `${docs}/${old}`)
    expectProblem(await call('DELETE', `${docs}/${old}`, writer), 404, `${docs}/${old}`)
    const search = await ok<{ results: { id: string }[] }>('POST', `/v1/gpts/${GPT}/search`, writer, { query: 'plum', mode: 'keyword', sources: ['objects'] })
    expect(search.results.map((r) => r.id)).toEqual([fresh])
    const exported = await call('GET', `${base(GPT)}/notes/export`, writer)
    expect(exported.statusCode, exported.body).toBe(200)
    expect(exported.body).toContain(fresh!)
    expect(exported.body).not.toContain(old!)
    // The agent-facing operations (GPT Actions, and MCP, which runs the same catalogue).
    const action = (operation: string, body: unknown) => call('POST', `/v1/gpts/${GPT}/actions/${operation}`, writer, body)
    expect((await action('get_document', { collection: 'notes', id: old })).statusCode).toBe(404)
    expect((await action('get_document', { collection: 'notes', id: fresh })).statusCode).toBe(200)
    const viaAction = (await action('list_documents', { collection: 'notes' })).json<{ objects: { id: string }[] }>()
    expect(viaAction.objects.map((o) => o.id)).toEqual([fresh])
    // Still stored: only the purge deletes.
    expect(await stored(GPT, 'notes')).toBe(2)
  })

  it('come back into view when the TTL is lengthened or removed before the purge (expiry is computed when read)', async () => {
    await ok('POST', base(GPT), admin, { name: 'elastic', ttl_seconds: 60 })
    const [doc] = await addDocs(GPT, writer, 'elastic', 1)
    await age(GPT, [doc!], 120)
    const url = `${base(GPT)}/elastic/objects/${doc}`
    expect((await call('GET', url, writer)).statusCode).toBe(404)
    await ok('PATCH', `${base(GPT)}/elastic`, admin, { ttl_seconds: 600 })
    expect((await call('GET', url, writer)).statusCode).toBe(200)
    await ok('PATCH', `${base(GPT)}/elastic`, admin, { ttl_seconds: null })
    await age(GPT, [doc!], 10 * 365 * 86400)
    expect((await call('GET', url, writer)).statusCode).toBe(200)
  })

  it('are not embedded (the embedding backlog leaves them out)', async () => {
    await ok('POST', base(GPT), admin, { name: 'unembedded', ttl_seconds: 60 })
    const [doc] = await addDocs(GPT, writer, 'unembedded', 1)
    const before = (await t.services.embeddingWorker.countStale(GPT)).objects
    await age(GPT, [doc!], 61)
    expect((await t.services.embeddingWorker.countStale(GPT)).objects).toBe(before - 1)
  })

  it('live again from an update: the TTL counts from the last write', async () => {
    await ok('POST', base(GPT), admin, { name: 'touched', ttl_seconds: 3600 })
    const [doc] = await addDocs(GPT, writer, 'touched', 1)
    await age(GPT, [doc!], 3000)
    await ok('PATCH', `${base(GPT)}/touched/objects/${doc}`, writer, { title: 'still here' })
    await age(GPT, [doc!], 3000)
    // 3000 s since the update, not 6000 s since the creation.
    expect((await call('GET', `${base(GPT)}/touched/objects/${doc}`, writer)).statusCode).toBe(200)
  })
})

describe(`the ${PURGE_EXPIRED_DOCUMENTS_JOB} job`, () => {
  it('deletes exactly the expired documents of collections with a TTL, of every GPT, and no other GPT\'s', async () => {
    await ok('POST', base(GPT), admin, { name: 'purged', ttl_seconds: 100 })
    await ok('POST', base(OTHER), otherAdmin, { name: 'purged' })
    await ok('POST', base(OTHER), otherAdmin, { name: 'short', ttl_seconds: 100 })
    const mine = await addDocs(GPT, writer, 'purged', 3)
    const theirs = await addDocs(OTHER, otherAdmin, 'purged', 2)
    const theirShort = await addDocs(OTHER, otherAdmin, 'short', 2)
    await age(GPT, mine.slice(0, 2), 101)
    await age(OTHER, theirs, 10_000)
    await age(OTHER, theirShort.slice(0, 1), 101)

    const job = purgeExpiredDocumentsJob({ retention: t.services.retention, logger: silentJobLogger })
    const run = { id: 'run', name: job.name, retryCount: 0, signal: new AbortController().signal, logger: silentJobLogger }
    const counts = (await job.handler({}, run)) as { documents: number }
    // The expired document of an earlier test ('notes') goes too.
    expect(counts.documents).toBeGreaterThanOrEqual(3)
    expect(await stored(GPT, 'purged')).toBe(1)
    expect(await stored(OTHER, 'purged')).toBe(2)
    expect(await stored(OTHER, 'short')).toBe(1)
    expect(await stored(GPT, 'notes')).toBe(1)
    expect(await stored(GPT, 'elastic')).toBe(1)

    const again = (await job.handler({}, run)) as { documents: number }
    expect(again.documents).toBe(0)
  })

  it('deletes in batches: more expired rows than a batch all go, one bounded DELETE per batch', async () => {
    await ok('POST', base(GPT), admin, { name: 'batched', ttl_seconds: 50 })
    const ids = await addDocs(GPT, writer, 'batched', 7)
    await age(GPT, ids, 51)
    const registry = new Registry()
    const db = t.db.database.db
    const deleted: number[] = []
    class CountingObjects extends ObjectsRepository {
      override async deleteExpired(gptId: string, collection: string, limit: number): Promise<number> {
        const rows = await super.deleteExpired(gptId, collection, limit)
        if (collection === 'batched') deleted.push(rows)
        return rows
      }
    }
    const retention = new RetentionService({
      collections: new CollectionsRepository(db),
      objects: new CountingObjects(db),
      gpts: t.services.gpts,
      sessions: new SessionsRepository(db),
      mail: new MailRepository(db),
      memories: new MemoryHistoryRepository(db),
      metrics: new PurgeMetrics(registry),
      batchSize: 3,
    })
    expect(await retention.purgeExpiredDocuments()).toMatchObject({ documents: 7 })
    // A short batch ends the loop: no statement deleted more than the batch size.
    expect(deleted).toEqual([3, 3, 1])
    expect(await stored(GPT, 'batched')).toBe(0)
    const metrics = await registry.metrics()
    expect(metrics).toContain('agentstore_retention_purged_rows_total{kind="documents"} 7')
    expect(metrics).toContain('agentstore_retention_last_run_rows{kind="documents"} 7')
  })

  it('stops between batches when its run is aborted (the next run goes on)', async () => {
    await ok('POST', base(GPT), admin, { name: 'aborted', ttl_seconds: 50 })
    await age(GPT, await addDocs(GPT, writer, 'aborted', 2), 51)
    const controller = new AbortController()
    controller.abort()
    expect(await t.services.retention.purgeExpiredDocuments(controller.signal)).toEqual({ documents: 0, batches: 0 })
    expect(await stored(GPT, 'aborted')).toBe(2)
  })

  it('shows what it purged and when in /metrics', async () => {
    await ok('POST', base(GPT), admin, { name: 'metered', ttl_seconds: 50 })
    await age(GPT, await addDocs(GPT, writer, 'metered', 2), 51)
    const before = Date.now() / 1000
    await t.services.retention.purgeExpiredDocuments()
    const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body
    const purged = /agentstore_retention_purged_rows_total\{kind="documents"\} (\d+)/.exec(text)
    expect(Number(purged?.[1])).toBeGreaterThanOrEqual(4)
    const last = /agentstore_retention_last_run_timestamp_seconds\{kind="documents"\} ([\d.e+]+)/.exec(text)
    expect(Number(last?.[1])).toBeGreaterThanOrEqual(Math.floor(before))
  })
})
