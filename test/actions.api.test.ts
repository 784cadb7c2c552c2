import { Validator } from '@seriousme/openapi-schema-validator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ACTION_LIMITS, buildActionSpec } from '../src/modules/actions/actions.spec.js'
import { Ajv } from 'ajv'
import { buildCatalogue, plainSchema } from '../src/modules/catalogue/catalogue.js'
import { AppError } from '../src/platform/errors.js'
import { addFormats } from '../src/platform/http/validation.js'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

/** The per-GPT Action spec made from the catalogue: valid OpenAPI 3.1, within GPT Actions' limits, the choice of parts. */

type Operation = {
  operationId: string
  summary: string
  description: string
  'x-openai-isConsequential': boolean
  requestBody: { content: { 'application/json': { schema: { properties: Record<string, { enum?: string[] } & Record<string, unknown>> } } } }
}
type Spec = { openapi: string; servers: { url: string }[]; paths: Record<string, { post: Operation }>; components: { schemas: Record<string, unknown> }; security: unknown[] }

const DIARY_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: { date: { type: 'string', format: 'date' }, entry: { type: 'string' }, mood: { $ref: '#/definitions/mood' } },
  required: ['date', 'entry'],
  definitions: { mood: { type: 'string', enum: ['good', 'ok', 'bad'] } },
}

let t: TestApp
const tokens: Record<string, string> = {}

beforeAll(async () => {
  t = await createTestApp({ env: { PUBLIC_URL: 'https://store.example.com' } })
  for (const [gpt, count] of [['zero-gpt', 0], ['one-gpt', 1], ['many-gpt', 40]] as const) {
    tokens[gpt] = (await createGptWithKey(t.services, gpt, ['read', 'write', 'admin'])).token
    for (let i = 0; i < count; i++) {
      const payload = count === 1 ? { name: 'diary', schema: DIARY_SCHEMA } : { name: `collection-with-a-longish-name-${String(i).padStart(2, '0')}` }
      const response = await t.app.inject({ method: 'POST', url: `/v1/gpts/${gpt}/collections`, headers: bearer(tokens[gpt]!), payload })
      expect(response.statusCode).toBe(201)
    }
  }
})

afterAll(async () => {
  await t.close()
})

/** Stores the GPT's choice through its admin key (null: back to the defaults). */
async function expose(gpt: string, exposure: { parts: string[]; collections: string[] | null } | null): Promise<void> {
  const response = await injectJson(t.app, 'PATCH', `/v1/gpts/${gpt}`, bearer(tokens[gpt]!), { action_exposure: exposure })
  expect(response.statusCode, response.body).toBe(200)
}

async function fetchSpec(gpt: string): Promise<Spec> {
  const response = await t.app.inject({ url: `/v1/gpts/${gpt}/openapi.json` })
  expect(response.statusCode, response.body).toBe(200)
  return response.json<Spec>()
}

const descriptionsIn = (value: unknown): string[] =>
  value === null || typeof value !== 'object'
    ? []
    : Object.entries(value).flatMap(([key, inner]) => (key === 'description' && typeof inner === 'string' ? [inner] : descriptionsIn(inner)))

describe.each([
  { gpt: 'zero-gpt', collections: 0 },
  { gpt: 'one-gpt', collections: 1 },
  { gpt: 'many-gpt', collections: 40 },
])('a GPT with $collections collections', ({ gpt, collections }) => {
  it.each([
    { name: 'the defaults', parts: null },
    { name: 'every part', parts: ['collections', 'memories', 'search', 'chat', 'mail'] },
  ])('spec with $name: valid OpenAPI 3.1 within every GPT Actions limit', async ({ parts }) => {
    await expose(gpt, parts === null ? null : { parts, collections: null })
    const spec = await fetchSpec(gpt)
    const result = await new Validator().validate(spec as never)
    expect(result.errors ?? []).toEqual([])
    expect(spec.openapi).toBe('3.1.0')
    const operations = Object.values(spec.paths).map((item) => item.post)
    expect(operations.length).toBeLessThanOrEqual(ACTION_LIMITS.operations)
    for (const operation of operations) {
      expect(operation.operationId).toMatch(/^[A-Za-z0-9_-]{1,64}$/)
      expect(operation.summary.length).toBeLessThanOrEqual(ACTION_LIMITS.summary)
      expect(operation.description.length).toBeLessThanOrEqual(ACTION_LIMITS.description)
      expect(typeof operation['x-openai-isConsequential']).toBe('boolean')
      for (const text of descriptionsIn(operation.requestBody)) expect(text.length).toBeLessThanOrEqual(ACTION_LIMITS.parameterDescription)
    }
    const ids = operations.map((operation) => operation.operationId)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids.includes('create_document')).toBe(collections > 0)
    expect(ids).toEqual(expect.arrayContaining(['list_collections', 'remember', 'recall', 'search']))
    expect(ids.includes('send_mail')).toBe(parts !== null)
    if (collections > 0) {
      const collection = spec.paths[`/v1/gpts/${gpt}/actions/list_documents`]!.post.requestBody.content['application/json'].schema.properties.collection!
      expect(collection.enum).toHaveLength(collections)
      expect(spec.paths[`/v1/gpts/${gpt}/actions/list_documents`]!.post.description).toContain('under 100,000 characters')
    }
  })
})

describe('what a spec offers', () => {
  it('marks consequential operations, uses PUBLIC_URL and Bearer, holds no secrets', async () => {
    await expose('one-gpt', { parts: ['collections', 'memories', 'mail'], collections: null })
    const spec = await fetchSpec('one-gpt')
    const flag = (id: string) => spec.paths[`/v1/gpts/one-gpt/actions/${id}`]!.post['x-openai-isConsequential']
    expect([flag('delete_document'), flag('forget'), flag('send_mail')]).toEqual([true, true, true])
    expect([flag('create_document'), flag('list_documents'), flag('remember')]).toEqual([false, false, false])
    expect(spec.servers).toEqual([{ url: 'https://store.example.com' }])
    expect(spec.security).toEqual([{ bearerAuth: [] }])
    expect(JSON.stringify(spec)).not.toContain('ak_')
  })

  it("takes a single collection's schema as the document of create_document", async () => {
    await expose('one-gpt', null)
    const spec = await fetchSpec('one-gpt')
    const body = spec.paths['/v1/gpts/one-gpt/actions/create_document']!.post.requestBody.content['application/json'].schema.properties.document
    expect(body).toEqual({
      type: 'object',
      properties: { date: { type: 'string', format: 'date' }, entry: { type: 'string' }, mood: { $ref: '#/components/schemas/diary__mood' } },
      required: ['date', 'entry'],
    })
    expect(spec.components.schemas.diary__mood).toEqual({ type: 'string', enum: ['good', 'ok', 'bad'] })
  })

  it('offers only the parts and collections chosen', async () => {
    await expose('many-gpt', { parts: ['collections'], collections: ['collection-with-a-longish-name-03', 'collection-with-a-longish-name-07'] })
    const spec = await fetchSpec('many-gpt')
    const ids = Object.values(spec.paths).map((item) => item.post.operationId)
    expect(ids.sort()).toEqual(['create_document', 'delete_document', 'get_document', 'list_collections', 'list_documents', 'query_documents', 'update_document'])
    const collection = spec.paths['/v1/gpts/many-gpt/actions/get_document']!.post.requestBody.content['application/json'].schema.properties.collection!
    expect(collection.enum).toEqual(['collection-with-a-longish-name-03', 'collection-with-a-longish-name-07'])
    await expose('zero-gpt', { parts: ['mail'], collections: null })
    const mail = await fetchSpec('zero-gpt')
    expect(Object.values(mail.paths).map((item) => item.post.operationId).sort()).toEqual(['list_conversations', 'mark_read', 'read_inbox', 'send_mail'])
  })

  it.each([
    // The choice is the GPT's stored setting, not the URL's: a query string is refused, not ignored.
    { url: '/v1/gpts/one-gpt/openapi.json?expose=memories', status: 422, detail: /./ },
    { url: '/v1/gpts/one-gpt/openapi.json?other=1', status: 422, detail: /./ },
    { url: '/v1/gpts/no-such-gpt/openapi.json', status: 404, detail: /./ },
    { url: '/v1/gpts/bad%20id/openapi.json', status: 422, detail: /./ },
  ])('$url → $status', async ({ url, status, detail }) => {
    const response = await t.app.inject({ url })
    expectProblem(response, status, url)
    expect(response.json<{ detail: string }>().detail).toMatch(detail)
  })

  it('refuses a choice past the operation limit with a 422 naming what to drop', () => {
    const catalogue = buildCatalogue(t.services, t.config)
    const gpt = { id: 'g', name: 'G', description: null, action_exposure: { parts: [], collections: null }, session_retention_days: null, mail_retention_days: null, created_at: '', updated_at: '' }
    const build = () =>
      buildActionSpec({
        gpt,
        catalogue,
        collections: [],
        exposure: { parts: ['memories', 'search', 'mail'], collections: null },
        publicUrl: 'https://x.example',
        version: '1',
        limits: { ...ACTION_LIMITS, operations: 8 },
      })
    expect(build).toThrow(AppError)
    expect(build).toThrow(/9 operations; GPT Actions take at most 8\. Drop one of the parts in action_exposure.parts \(memories, search, mail\)/)
  })

  it('has a valid input schema for every operation (they compile on first call)', () => {
    const ajv = addFormats(new Ajv({ allErrors: true }))
    for (const operation of buildCatalogue(t.services, t.config).operations) {
      expect(() => ajv.compile(plainSchema(operation.input)), operation.name).not.toThrow()
    }
  })
})
