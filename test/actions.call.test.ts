import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

/** POST /v1/gpts/{gpt_id}/actions/{operation}: the catalogue behind a GPT Action, with answers kept under 100,000 characters. */

const GPT = 'act-gpt'
const DOCS = 60
const BIG = 'x'.repeat(5_000)
let t: TestApp
let token: string

const call = (operation: string, body: unknown, key = token) => injectJson(t.app, 'POST', `/v1/gpts/${GPT}/actions/${operation}`, bearer(key), body)

beforeAll(async () => {
  t = await createTestApp()
  token = (await createGptWithKey(t.services, GPT, ['read', 'write', 'admin'])).token
  await injectJson(t.app, 'POST', `/v1/gpts/${GPT}/collections`, bearer(token), { name: 'big' })
  for (let i = 0; i < DOCS; i++) expect((await call('create_document', { collection: 'big', document: { n: i, text: BIG } })).statusCode).toBe(200)
  for (let i = 0; i < 12; i++) expect((await call('remember', { content: `memory ${i} ${'y'.repeat(9_000)}`, user_id: 'u', dedup: false })).statusCode).toBe(200)
})

afterAll(async () => {
  await t.close()
})

describe('calling operations for an Action', () => {
  it('keeps a list under 100,000 characters, says so, and its cursor continues right after the last item kept', async () => {
    const seen: number[] = []
    let cursor: string | undefined
    for (let page = 0; page < 10; page++) {
      const response = await call('list_documents', { collection: 'big', limit: 200, order: 'asc', ...(cursor ? { cursor } : {}) })
      expect(response.statusCode).toBe(200)
      expect(response.body.length).toBeLessThan(100_000)
      const body = response.json<{ objects: { body: { n: number } }[]; next_cursor: string | null; has_more: boolean; truncated?: boolean }>()
      if (page === 0) expect(body.truncated).toBe(true)
      seen.push(...body.objects.map((object) => object.body.n))
      if (!body.has_more) break
      cursor = body.next_cursor!
    }
    expect(seen).toEqual([...Array(DOCS).keys()])
  })

  it('cuts long texts with a marker before dropping items', async () => {
    const response = await call('list_memories', { user_id: 'u', limit: 50 })
    expect(response.body.length).toBeLessThan(100_000)
    const body = response.json<{ memories: { content: string }[]; truncated: boolean }>()
    expect(body.truncated).toBe(true)
    expect(body.memories).toHaveLength(12)
    for (const memory of body.memories) expect(memory.content).toMatch(/… \[truncated\]$/)
  })

  it('answers small lists unchanged', async () => {
    const body = (await call('list_collections', {})).json<Record<string, unknown>>()
    expect(body.truncated).toBeUndefined()
    expect(body.collections).toEqual([expect.objectContaining({ name: 'big' })])
  })

  it.each([
    { operation: 'no_such_operation', body: {}, status: 404, key: 'full' },
    { operation: 'create_document', body: { collection: 'big' }, status: 422, key: 'full' },
    { operation: 'get_document', body: { collection: 'big', id: '0190a1b2-0000-7000-8000-000000000000' }, status: 404, key: 'full' },
    { operation: 'remember', body: { content: 'x' }, status: 403, key: 'read' },
    { operation: 'Bad-Name', body: {}, status: 422, key: 'full' },
  ])('$operation with a $key key → $status', async ({ operation, body, status, key }) => {
    const used = key === 'read' ? (await createGptWithKey(t.services, GPT, ['read'])).token : token
    const url = `/v1/gpts/${GPT}/actions/${operation}`
    expectProblem(await call(operation, body, used), status, url)
  })

  it("refuses another GPT's key", async () => {
    const other = (await createGptWithKey(t.services, 'act-other')).token
    expectProblem(await call('list_collections', {}, other), 403, `/v1/gpts/${GPT}/actions/list_collections`)
  })
})
