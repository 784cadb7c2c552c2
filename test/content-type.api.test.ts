import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createGptWithKey, createTestApp, injectJson, type HttpMethod, type TestApp } from './helpers/test-app.js'

// JSON media types define no charset parameter: answers say exactly `application/json` or
// `application/problem+json`. Other types (NDJSON, HTML, metrics, event streams) keep their own.

const GPT = 'ct-gpt'
const UUID = '0190a1b2-0000-7000-8000-000000000000'

let t: TestApp
let token: string

beforeAll(async () => {
  t = await createTestApp()
  ;({ token } = await createGptWithKey(t.services, GPT, ['read', 'write', 'admin']))
  await injectJson(t.app, 'POST', `/v1/gpts/${GPT}/collections`, bearer(token), { name: 'notes' })
  await injectJson(t.app, 'POST', `/v1/gpts/${GPT}/collections/notes/objects`, bearer(token), { title: 'one' })
})

afterAll(async () => {
  await t?.close()
})

interface Case {
  method?: HttpMethod
  url: string
  headers?: () => Record<string, string>
  payload?: unknown
  raw?: { type: string; body: string }
  status: number
  type: string
}

const key = () => bearer(token)
const admin = () => bearer(t.adminToken)

const cases: Case[] = [
  // Success answers.
  { url: '/health', status: 200, type: 'application/json' },
  { url: '/openapi.json', status: 200, type: 'application/json' },
  { url: '/docs/json', status: 200, type: 'application/json' },
  { url: `/v1/gpts/${GPT}/openapi.json`, status: 200, type: 'application/json' },
  { url: '/problems/not-found', status: 200, type: 'application/json' },
  { url: '/v1/me', headers: key, status: 200, type: 'application/json' },
  { url: `/v1/gpts/${GPT}/collections/notes/objects?limit=1`, headers: key, status: 200, type: 'application/json' },
  { method: 'POST', url: `/v1/gpts/${GPT}/agents`, headers: key, payload: { name: 'ct-agent' }, status: 201, type: 'application/json' },
  { method: 'POST', url: `/v1/gpts/${GPT}/keys`, headers: key, payload: {}, status: 201, type: 'application/json' },
  { method: 'POST', url: '/v1/admin/gpts', headers: admin, payload: { id: 'ct-made', name: 'Made' }, status: 201, type: 'application/json' },
  // Problems, from every layer that writes one.
  { url: '/nope', status: 404, type: 'application/problem+json' },
  { method: 'PUT', url: '/health', status: 405, type: 'application/problem+json' },
  { url: `/v1/gpts/${GPT}`, status: 401, type: 'application/problem+json' },
  { url: `/v1/agents/${UUID}`, headers: key, status: 404, type: 'application/problem+json' },
  { url: '/v1/admin/gpts?limit=0', headers: admin, status: 422, type: 'application/problem+json' },
  { method: 'POST', url: '/v1/admin/gpts', headers: admin, raw: { type: 'application/json', body: '{"id":' }, status: 400, type: 'application/problem+json' },
  { method: 'POST', url: '/v1/admin/gpts', headers: admin, raw: { type: 'text/plain', body: 'x' }, status: 415, type: 'application/problem+json' },
  { url: '/v1/objects/%C0%AF', status: 400, type: 'application/problem+json' },
  { url: `/v1/objects/${'a'.repeat(2000)}`, status: 414, type: 'application/problem+json' },
  // Their own types.
  { url: `/v1/gpts/${GPT}/collections/notes/export`, headers: key, status: 200, type: 'application/x-ndjson' },
  { url: '/docs/', status: 200, type: 'text/html; charset=utf-8' },
  { url: '/metrics', status: 200, type: 'text/plain; version=0.0.4; charset=utf-8' },
]

describe('Content-Type of answers', () => {
  it.each(cases.map((c) => ({ ...c, method: c.method ?? 'GET' })))('$method $url → $status $type', async ({ method, url, headers, payload, raw, status, type }) => {
    const response = raw
      ? await t.app.inject({ method, url, headers: { ...headers?.(), 'content-type': raw.type }, payload: raw.body })
      : await injectJson(t.app, method, url, headers?.() ?? {}, payload)
    expect(response.statusCode, response.body.slice(0, 300)).toBe(status)
    expect(response.headers['content-type']).toBe(type)
    if (type.includes('json') && !type.includes('ndjson')) expect(() => response.json()).not.toThrow()
  })
})
