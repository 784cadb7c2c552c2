import { Validator } from '@seriousme/openapi-schema-validator'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'
import { onPostgres } from './helpers/test-database.js'

let t: TestApp
let token: string
/** What the extra readiness checks of this app do on the next /ready. */
const checkState = { disk: 'ok' as 'ok' | 'fail' | 'hang', cache: 'ok' as 'ok' | 'fail' }

beforeAll(async () => {
  // The house's own health fields, without those the compatibility surfaces add (test/compat.*).
  t = await createTestApp({
    env: { COMPAT: 'none' },
    readinessChecks: (defaults) => [
      ...defaults,
      {
        name: 'disk',
        critical: true,
        async run() {
          if (checkState.disk === 'fail') throw new Error('disk full')
          if (checkState.disk === 'hang') await new Promise((resolve) => setTimeout(resolve, 5000))
          return 'ok'
        },
      },
      {
        name: 'cache',
        critical: false,
        async run() {
          if (checkState.cache === 'fail') throw new Error('connection refused')
          return 'ok'
        },
      },
    ],
  })
  ;({ token } = await createGptWithKey(t.services, 'ops-gpt'))
})

afterAll(async () => {
  await t?.close()
})

function expectProblem(response: LightMyRequestResponse, status: number) {
  expect(response.statusCode, response.body).toBe(status)
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
  const body = response.json()
  expect(body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String), instance: expect.any(String) })
  return body as { detail: string; checks?: Record<string, { ok: boolean; state: string }> }
}

describe('health endpoints (public)', () => {
  it('GET / → what the service is and where to read on, every link answering without a key', async () => {
    const response = await t.app.inject({ url: '/' })
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    expect(response.json()).toEqual({
      name: 'agentstore',
      version: '0.0.0-test',
      description: expect.stringMatching(/^Persistence for Custom GPTs and AI agents\./),
      links: { docs: 'http://agentstore.test/docs', openapi: 'http://agentstore.test/openapi.json', health: 'http://agentstore.test/health' },
    })
    for (const link of Object.values(response.json().links as Record<string, string>)) {
      const target = await t.app.inject({ url: new URL(link).pathname })
      expect(target.statusCode, link).toBe(200)
    }
  })

  it('GET /health → status and version', async () => {
    const response = await t.app.inject({ url: '/health' })
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    expect(response.json()).toEqual({ status: 'ok', version: '0.0.0-test' })
  })

  it('GET /live → ok', async () => {
    const response = await t.app.inject({ url: '/live' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ status: 'ok' })
  })

  it('HEAD /health answers without a body', async () => {
    const response = await t.app.inject({ method: 'HEAD', url: '/health' })
    expect(response.statusCode).toBe(200)
    expect(response.body).toBe('')
  })

  it('GET /ready → ready with every check', async () => {
    const response = await t.app.inject({ url: '/ready' })
    expect(response.statusCode).toBe(200)
    const body = response.json()
    expect(body.status).toBe('ready')
    expect(body.checks).toEqual({
      database: { ok: true, state: onPostgres() ? 'postgres' : 'pglite' },
      migrations: { ok: true, state: 'current' },
      vector: { ok: true, state: onPostgres() ? expect.stringMatching(/^(pgvector|exact)$/) : 'pgvector' },
      // The test app builds the index before it answers (when the database has pgvector).
      search: { ok: true, state: onPostgres() ? expect.stringMatching(/^(hnsw|exact)$/) : 'hnsw' },
      disk: { ok: true, state: 'ok' },
      cache: { ok: true, state: 'ok' },
    })
  })

  it('a failing critical check → 503 problem with the reason', async () => {
    checkState.disk = 'fail'
    try {
      const body = expectProblem(await t.app.inject({ url: '/ready' }), 503)
      expect(body.detail).toMatch(/disk: disk full/)
      expect(body.detail).not.toMatch(/database|cache/)
      expect(body.checks).toMatchObject({ disk: { ok: false, state: 'disk full' }, database: { ok: true } })
    } finally {
      checkState.disk = 'ok'
    }
    // Liveness does not depend on readiness.
    expect((await t.app.inject({ url: '/live' })).statusCode).toBe(200)
  })

  it('a critical check that does not answer → 503 after its timeout', async () => {
    checkState.disk = 'hang'
    try {
      const started = Date.now()
      const body = expectProblem(await t.app.inject({ url: '/ready' }), 503)
      expect(Date.now() - started).toBeLessThan(4500)
      expect(body.detail).toMatch(/disk: no answer within/)
    } finally {
      checkState.disk = 'ok'
    }
  })

  it('a failing non-critical check → 200 degraded', async () => {
    checkState.cache = 'fail'
    try {
      const response = await t.app.inject({ url: '/ready' })
      expect(response.statusCode).toBe(200)
      const body = response.json()
      expect(body.status).toBe('degraded')
      expect(body.checks.cache).toEqual({ ok: false, state: 'connection refused' })
      expect(body.checks.database.ok).toBe(true)
    } finally {
      checkState.cache = 'ok'
    }
    expect((await t.app.inject({ url: '/ready' })).json().status).toBe('ready')
  })

  it('a critical failure wins over a non-critical one', async () => {
    checkState.disk = 'fail'
    checkState.cache = 'fail'
    try {
      const body = expectProblem(await t.app.inject({ url: '/ready' }), 503)
      expect(body.detail).toMatch(/disk: disk full/)
    } finally {
      checkState.disk = 'ok'
      checkState.cache = 'ok'
    }
  })
})

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** Parses the Prometheus text exposition format into samples. */
function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    expect(match, `not a sample line: ${line}`).not.toBeNull()
    const labels: Record<string, string> = {}
    for (const [, key, value] of match![2]?.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g) ?? []) labels[key!] = value!
    samples.push({ name: match![1]!, labels, value: Number(match![3]) })
  }
  return samples
}

describe('GET /metrics', () => {
  let samples: Sample[]
  let text: string

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) expect((await t.app.inject({ url: '/v1/gpts/ops-gpt', headers: bearer(token) })).statusCode).toBe(200)
    expect((await t.app.inject({ url: '/v1/gpts/ops-gpt' })).statusCode).toBe(401)
    expect((await t.app.inject({ url: '/v1/gpts/another-gpt', headers: bearer(token) })).statusCode).toBe(403)
    expect((await t.app.inject({ url: '/no/such/route/12345' })).statusCode).toBe(404)
    const response = await t.app.inject({ url: '/metrics' })
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    text = response.body
    samples = parsePrometheus(text)
  })

  const find = (name: string, labels: Record<string, string>) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))

  it('is public and in Prometheus text format', () => {
    expect(text).toMatch(/^# HELP http_requests_total /m)
    expect(text).toMatch(/^# TYPE http_requests_total counter$/m)
    expect(text).toMatch(/^# TYPE http_request_duration_seconds histogram$/m)
    expect(samples.length).toBeGreaterThan(20)
    for (const sample of samples) expect(Number.isNaN(sample.value), `${sample.name}`).toBe(false)
  })

  it('counts requests by route template and status', () => {
    const ok = find('http_requests_total', { method: 'GET', route: '/v1/gpts/:gpt_id', status: '200' })
    expect(ok).toHaveLength(1)
    expect(ok[0]!.value).toBe(3)
    expect(find('http_requests_total', { route: '/v1/gpts/:gpt_id', status: '401' })[0]?.value).toBe(1)
    expect(find('http_requests_total', { route: '/v1/gpts/:gpt_id', status: '403' })[0]?.value).toBe(1)
  })

  it('never uses the raw URL as a label', () => {
    expect(text).not.toContain('ops-gpt')
    expect(text).not.toContain('another-gpt')
    expect(text).not.toContain('12345')
    const routes = new Set(samples.filter((s) => s.name === 'http_requests_total').map((s) => s.labels.route))
    for (const route of routes) expect(route === 'unmatched' || !/\/ops-gpt|\/no\/such/.test(route!)).toBe(true)
    expect(find('http_requests_total', { status: '404' }).every((s) => s.labels.route === 'unmatched')).toBe(true)
  })

  it('has latency histograms by route and status', () => {
    const buckets = find('http_request_duration_seconds_bucket', { method: 'GET', route: '/v1/gpts/:gpt_id', status: '200' })
    expect(buckets.length).toBeGreaterThan(5)
    const inf = buckets.find((b) => b.labels.le === '+Inf')
    expect(inf?.value).toBe(3)
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value)
    expect(find('http_request_duration_seconds_count', { route: '/v1/gpts/:gpt_id', status: '200' })[0]?.value).toBe(3)
    expect(find('http_request_duration_seconds_sum', { route: '/v1/gpts/:gpt_id', status: '200' })[0]?.value).toBeGreaterThan(0)
  })

  it('reports the database pool', () => {
    const open = find('db_pool_connections', {})
    expect(open).toHaveLength(1)
    expect(open[0]!.value).toBeGreaterThanOrEqual(1)
    expect(find('db_pool_idle_connections', {})).toHaveLength(1)
    expect(find('db_pool_waiting_clients', {})[0]?.value).toBe(0)
  })

  it('counts its own scrape on the next one', async () => {
    const next = parsePrometheus((await t.app.inject({ url: '/metrics' })).body)
    const scrapes = next.find((s) => s.name === 'http_requests_total' && s.labels.route === '/metrics' && s.labels.status === '200')
    expect(scrapes?.value).toBeGreaterThanOrEqual(1)
  })
})

describe('GET /openapi.json', () => {
  let doc: {
    openapi: string
    info: { version: string }
    paths: Record<string, Record<string, { operationId?: string; security?: unknown[]; responses?: Record<string, unknown> }>>
    components: { securitySchemes: Record<string, unknown> }
  }

  beforeAll(async () => {
    const response = await t.app.inject({ url: '/openapi.json' })
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    doc = response.json()
  })

  it('is OpenAPI 3.1 with the bearer security scheme', () => {
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.info.version).toBe('0.0.0-test')
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
  })

  it('validates against the OpenAPI 3.1 schema', async () => {
    const result = await new Validator().validate(structuredClone(doc) as Record<string, unknown>)
    if (!result.valid) console.error(JSON.stringify(result.errors, null, 2))
    expect(result.valid).toBe(true)
  })

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'].includes(method))
        .map(([method, operation]) => ({ path, method, operation })),
    )

  it('gives every operation a unique operationId', () => {
    const ops = operations()
    expect(ops.length).toBeGreaterThanOrEqual(8)
    const ids = ops.map(({ path, method, operation }) => {
      expect(operation.operationId, `${method.toUpperCase()} ${path}`).toMatch(/^[A-Za-z][A-Za-z0-9]*$/)
      return operation.operationId
    })
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('documents the routes with OpenAPI path templates and security', () => {
    expect(doc.paths['/v1/gpts/{gpt_id}']?.get?.security).toEqual([{ bearerAuth: [] }])
    expect(Object.keys(doc.paths['/v1/admin/gpts'] ?? {}).sort()).toEqual(['get', 'post'])
    expect(doc.paths['/v1/admin/keys/{key_id}']?.delete).toBeDefined()
    expect(doc.paths['/health']?.get?.security).toBeUndefined()
    expect(Object.keys(doc.paths).some((path) => path.includes(':'))).toBe(false)
    expect(doc.paths['/v1/admin/gpts']?.post?.responses).toHaveProperty('422')
  })

  it('needs no credentials', async () => {
    expect((await t.app.inject({ url: '/openapi.json', headers: bearer('nonsense') })).statusCode).toBe(200)
  })
})

describe('GET /docs', () => {
  let html: string
  let base: string

  beforeAll(async () => {
    let response = await t.app.inject({ url: '/docs' })
    base = '/docs'
    if (response.statusCode >= 300 && response.statusCode < 400) {
      base = new URL(String(response.headers.location), 'http://agentstore.test/docs').pathname
      response = await t.app.inject({ url: base })
    }
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toMatch(/^text\/html/)
    html = response.body
  })

  const assets = () => [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/gi)].map((m) => m[1]!)

  it('is the Swagger UI page', () => {
    expect(html).toMatch(/swagger-ui/i)
    expect(assets().length).toBeGreaterThanOrEqual(3)
  })

  it('references only local assets (no CDN)', () => {
    for (const src of assets()) {
      expect(src, src).not.toMatch(/^(https?:)?\/\//i)
      expect(src, src).not.toMatch(/^data:/i)
    }
    expect(html).not.toMatch(/https?:\/\/(?:cdn|unpkg|cdnjs|jsdelivr)/i)
  })

  it('serves every asset it references', async () => {
    const baseUrl = new URL(base.endsWith('/') ? base : `${base}/`, 'http://agentstore.test')
    for (const src of assets()) {
      const url = new URL(src, baseUrl)
      const response = await t.app.inject({ url: url.pathname + url.search })
      expect(response.statusCode, `${src} → ${url.pathname}`).toBe(200)
      expect(response.body.length, src).toBeGreaterThan(0)
    }
  })

  it('points the UI at the service’s own document', async () => {
    const src = assets().find((asset) => asset.includes('swagger-initializer'))
    expect(src).toBeDefined()
    const url = new URL(src!, new URL(base.endsWith('/') ? base : `${base}/`, 'http://agentstore.test'))
    const initializer = await t.app.inject({ url: url.pathname })
    expect(initializer.statusCode).toBe(200)
    expect(initializer.body).toMatch(/\bjson\b/)
    // No badge from the public swagger.io validator either (it would send the document's URL away).
    expect(initializer.body).toMatch(/validatorUrl: null/)
    expect(initializer.body).not.toMatch(/https?:\/\/(?:petstore|cdn|unpkg)/i)
    const json = await t.app.inject({ url: '/docs/json' })
    expect(json.statusCode).toBe(200)
    expect(json.json().openapi).toBe('3.1.0')
  })
})
