import { Validator } from '@seriousme/openapi-schema-validator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ACTION_LIMITS } from '../src/modules/actions/actions.spec.js'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

let t: TestApp
let token: string

const DIARY_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: { date: { type: 'string', format: 'date' }, entry: { type: 'string' }, mood: { $ref: '#/definitions/mood' } },
  required: ['date', 'entry'],
  definitions: { mood: { type: 'string', enum: ['good', 'ok', 'bad'] } },
}

type Spec = {
  openapi: string
  servers: { url: string }[]
  paths: Record<string, Record<string, { operationId: string; summary: string; parameters?: { description?: string }[]; requestBody?: { content: Record<string, { schema: unknown }> } }>>
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> }
  security: unknown[]
}

beforeAll(async () => {
  t = await createTestApp({ env: { PUBLIC_URL: 'https://store.example.com' } })
  token = (await createGptWithKey(t.services, 'diary-gpt', ['read', 'write', 'admin'])).token
  for (const payload of [{ name: 'diary', schema: DIARY_SCHEMA }, { name: 'scratch-pad' }]) {
    const response = await t.app.inject({ method: 'POST', url: '/v1/gpts/diary-gpt/collections', headers: bearer(token), payload })
    expect(response.statusCode).toBe(201)
  }
})

afterAll(async () => {
  await t.close()
})

async function fetchSpec(): Promise<Spec> {
  const response = await t.app.inject({ url: '/v1/gpts/diary-gpt/openapi.json' })
  expect(response.statusCode).toBe(200)
  return response.json() as Spec
}

describe('GET /v1/gpts/{gpt_id}/openapi.json', () => {
  it('is public and a valid OpenAPI 3.1 document', async () => {
    const spec = await fetchSpec()
    expect(spec.openapi).toBe('3.1.0')
    const result = await new Validator().validate(spec as never)
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
  })

  it('uses PUBLIC_URL, the Bearer scheme, and the GPT id fixed in every path', async () => {
    const spec = await fetchSpec()
    expect(spec.servers).toEqual([{ url: 'https://store.example.com' }])
    expect(spec.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer' })
    expect(spec.security).toEqual([{ bearerAuth: [] }])
    for (const path of Object.keys(spec.paths)) expect(path).toMatch(/^\/v1\/gpts\/diary-gpt\/collections\/(diary|scratch-pad)\/objects/)
  })

  it('stays within what GPT Actions accept', async () => {
    const spec = await fetchSpec()
    const operations = Object.values(spec.paths).flatMap((item) => Object.values(item))
    expect(operations).toHaveLength(10)
    const ids = operations.map((operation) => operation.operationId)
    expect(new Set(ids).size).toBe(ids.length)
    for (const operation of operations) {
      expect(operation.operationId).toMatch(/^[A-Za-z0-9_]{1,64}$/)
      expect(operation.summary.length).toBeLessThanOrEqual(ACTION_LIMITS.summary)
      for (const parameter of operation.parameters ?? []) {
        expect((parameter.description ?? '').length).toBeLessThanOrEqual(ACTION_LIMITS.parameterDescription)
      }
    }
    expect(ids).toEqual(expect.arrayContaining(['diary_create', 'diary_list', 'diary_get', 'diary_update', 'diary_delete', 'scratch_pad_create']))
  })

  it("inlines each collection's schema as its own request body, with definitions moved to components", async () => {
    const spec = await fetchSpec()
    const body = spec.paths['/v1/gpts/diary-gpt/collections/diary/objects']!.post!.requestBody!.content['application/json']!.schema
    expect(body).toEqual({
      type: 'object',
      properties: { date: { type: 'string', format: 'date' }, entry: { type: 'string' }, mood: { $ref: '#/components/schemas/diary__mood' } },
      required: ['date', 'entry'],
    })
    expect(spec.components.schemas.diary__mood).toEqual({ type: 'string', enum: ['good', 'ok', 'bad'] })
    const loose = spec.paths['/v1/gpts/diary-gpt/collections/scratch-pad/objects']!.post!.requestBody!.content['application/json']!.schema
    expect(loose).toEqual({ type: 'object', additionalProperties: true })
  })

  it('holds no secrets and follows schema changes', async () => {
    const text = JSON.stringify(await fetchSpec())
    expect(text).not.toContain(token)
    expect(text).not.toContain('ak_')
    await t.app.inject({ method: 'POST', url: '/v1/gpts/diary-gpt/collections', headers: bearer(token), payload: { name: 'habits' } })
    expect(Object.keys((await fetchSpec()).paths)).toContain('/v1/gpts/diary-gpt/collections/habits/objects')
  })

  it.each([
    { url: '/v1/gpts/no-such-gpt/openapi.json', status: 404 },
    { url: '/v1/gpts/bad%20id/openapi.json', status: 422 },
  ])('$url → $status', async ({ url, status }) => {
    const response = await t.app.inject({ url })
    expect(response.statusCode).toBe(status)
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
  })

  it('the operations it describes work as described', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/gpts/diary-gpt/collections/diary/objects',
      headers: bearer(token),
      payload: { date: '2026-11-23', entry: 'Wrote the spec test.', mood: 'good' },
    })
    expect(created.statusCode).toBe(201)
    const id = created.json().id as string
    const read = await t.app.inject({ url: `/v1/gpts/diary-gpt/collections/diary/objects/${id}`, headers: bearer(token) })
    expect(read.json().body).toEqual({ date: '2026-11-23', entry: 'Wrote the spec test.', mood: 'good' })
    const bad = await t.app.inject({
      method: 'POST',
      url: '/v1/gpts/diary-gpt/collections/diary/objects',
      headers: bearer(token),
      payload: { date: '2026-11-23', entry: 'x', mood: 'great' },
    })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().errors).toEqual([expect.objectContaining({ pointer: '/mood' })])
  })
})
