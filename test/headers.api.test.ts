import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SECRET } from '../src/platform/http/headers.plugin.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type HttpMethod, type TestApp } from './helpers/test-app.js'
import { openSseStream } from './helpers/sse.js'

let t: TestApp
let token: string

beforeAll(async () => {
  t = await createTestApp({
    extend: (app) => {
      // A route added later that shows a secret gets the same header, from its schema alone.
      app.get(
        '/test/token',
        { config: { access: 'public' }, schema: { hide: true, response: { 200: Type.Object({ nested: Type.Object({ token: Type.String({ [SECRET]: true }) }) }) } } },
        async () => ({ nested: { token: 'tok' } }),
      )
      app.get('/test/plain', { config: { access: 'public' }, schema: { hide: true, response: { 200: Type.Object({ token: Type.String() }) } } }, async () => ({ token: 'x' }))
    },
  })
  ;({ token } = await createGptWithKey(t.services, 'hdr-gpt', ['read', 'write', 'admin']))
})

afterAll(async () => {
  await t?.close()
})

const admin = () => bearer(t.adminToken)

describe('Cache-Control: no-store on answers that show a secret', () => {
  it.each([
    { name: 'tenant key create', url: '/v1/gpts/hdr-gpt/keys', headers: () => bearer(token) },
    { name: 'admin key create', url: '/v1/admin/gpts/hdr-gpt/keys', headers: admin },
  ])('$name', async ({ url, headers }) => {
    const response = await injectJson(t.app, 'POST', url, headers(), { scopes: ['read'] })
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json().key).toMatch(/^ak_/)
    expect(response.headers['cache-control']).toBe('no-store')
  })

  it('a route whose response schema marks a member secret', async () => {
    const response = await t.app.inject({ url: '/test/token' })
    expect(response.json()).toEqual({ nested: { token: 'tok' } })
    expect(response.headers['cache-control']).toBe('no-store')
  })

  it.each([
    { method: 'GET' as const, url: '/test/plain', headers: () => ({}) },
    { method: 'GET' as const, url: '/v1/gpts/hdr-gpt/keys', headers: () => bearer(token) },
    { method: 'GET' as const, url: '/v1/me', headers: () => bearer(token) },
    { method: 'POST' as const, url: '/v1/admin/gpts', headers: admin, payload: { id: 'hdr-other', name: 'Other' } },
  ])('not on $method $url (no secret)', async ({ method, url, headers, payload }) => {
    const response = await injectJson(t.app, method, url, headers(), payload)
    expect(response.statusCode, response.body).toBeLessThan(300)
    expect(response.headers['cache-control']).toBeUndefined()
  })

  it('the OpenAPI document marks the secret member of key and app creation', async () => {
    const document = (await t.app.inject({ url: '/openapi.json' })).json<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>()
    const marked = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, operation]) => JSON.stringify(operation.responses).includes(`"${SECRET}":true`))
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    )
    expect(marked.sort()).toEqual(['POST /v1/admin/gpts/{gpt_id}/keys', 'POST /v1/gpts/{gpt_id}/apps', 'POST /v1/gpts/{gpt_id}/keys'])
  })
})

describe('X-Content-Type-Options: nosniff on every answer', () => {
  const cases: { method: HttpMethod; url: string; headers?: () => Record<string, string>; status: number }[] = [
    { method: 'GET', url: '/health', status: 200 },
    { method: 'GET', url: '/metrics', status: 200 },
    { method: 'GET', url: '/openapi.json', status: 200 },
    { method: 'GET', url: '/docs/', status: 200 },
    { method: 'GET', url: '/docs/static/swagger-ui.css', status: 200 },
    { method: 'GET', url: '/v1/me', headers: () => bearer(token), status: 200 },
    { method: 'GET', url: '/v1/gpts/hdr-gpt/keys?limit=2', headers: () => bearer(token), status: 200 },
    { method: 'DELETE', url: '/v1/admin/keys/0190a1b2-0000-7000-8000-000000000000', headers: admin, status: 404 },
    { method: 'GET', url: '/nope', status: 404 },
    { method: 'PUT', url: '/health', status: 405 },
    { method: 'GET', url: '/v1/gpts/hdr-gpt', status: 401 },
    { method: 'GET', url: '/v1/admin/gpts?limit=0', headers: admin, status: 422 },
    { method: 'GET', url: '/v1/objects/%FF', status: 400 },
    { method: 'GET', url: `/v1/objects/${'a'.repeat(2000)}`, status: 414 },
  ]

  it.each(cases)('$method $url → $status', async ({ method, url, headers, status }) => {
    const response = await t.app.inject({ method, url, headers: headers?.() ?? {} })
    expect(response.statusCode, response.body.slice(0, 200)).toBe(status)
    expect(response.headers['x-content-type-options']).toBe('nosniff')
  })
})

describe('a Server-Sent Events stream (written by hand, past Fastify)', () => {
  it('carries the request id and nosniff like every other answer', async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    const address = t.app.server.address()
    const port = typeof address === 'object' && address ? address.port : 0
    const agent = await t.services.agents.createAgent('hdr-gpt', { name: 'listener' })
    const key = await t.services.keys.createKey('hdr-gpt', { scopes: ['read'], agent_id: agent.id })
    const stream = await openSseStream(`http://127.0.0.1:${port}/v1/agents/${agent.id}/inbox/stream`, { ...bearer(key.key), 'x-request-id': 'sse-hdr-1' })
    try {
      expect(stream.status).toBe(200)
      expect(stream.response.headers['content-type']).toBe('text/event-stream; charset=utf-8')
      expect(stream.response.headers['x-content-type-options']).toBe('nosniff')
      expect(stream.response.headers['x-request-id']).toBe('sse-hdr-1')
    } finally {
      stream.close()
    }
  })
})

describe('/docs on a plain-http host', () => {
  it('has a policy that loads only its own assets and does not upgrade them to https', async () => {
    const response = await t.app.inject({ url: '/docs/', headers: { host: 'agentstore-box:8080' } })
    expect(response.statusCode).toBe(200)
    const csp = String(response.headers['content-security-policy'])
    expect(csp).not.toMatch(/upgrade-insecure-requests/)
    expect(csp).not.toMatch(/https:/)
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim()).filter(Boolean).map((d) => [d.split(' ')[0], d.split(' ').slice(1)]))
    expect(directives).toMatchObject({ 'default-src': ["'self'"], 'script-src': ["'self'"], 'style-src': ["'self'"], 'font-src': ["'self'", 'data:'], 'img-src': ["'self'", 'data:'] })
  })

  it('serves each asset with its own type (nosniff makes browsers enforce it) and pulls in nothing from outside', async () => {
    const html = (await t.app.inject({ url: '/docs/' })).body
    const assets = [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/gi)].map((m) => new URL(m[1]!, 'http://agentstore-box:8080/docs/').pathname)
    expect(assets.filter((a) => a.endsWith('.js')).length).toBeGreaterThanOrEqual(3)
    expect(assets.filter((a) => a.endsWith('.css')).length).toBeGreaterThanOrEqual(2)
    for (const asset of assets) {
      const response = await t.app.inject({ url: asset })
      expect(response.statusCode, asset).toBe(200)
      const type = String(response.headers['content-type'])
      if (asset.endsWith('.js')) expect(type, asset).toMatch(/^(application|text)\/javascript/)
      if (asset.endsWith('.css')) {
        expect(type, asset).toMatch(/^text\/css/)
        // Styles may only refer to inline data (allowed by img-src/font-src data:), never to another host.
        const references = [...response.body.matchAll(/url\(\s*["']?([^"')]*)/g)].map((m) => m[1]!)
        expect(references.filter((ref) => !ref.startsWith('data:')), asset).toEqual([])
        expect(response.body).not.toMatch(/@import/)
      }
    }
  })
})
