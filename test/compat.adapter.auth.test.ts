// The Custom GPT adapter's OAuth endpoints (/auth/token, /api/v1/auth/token, /api/v1/auth/refresh) as
// its code and design describe them, on the house OAuth server: every way in, every refusal, rotation
// and reuse detection, and the audit events they leave.
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basicOf, connectEndUser, postForm, registerApp, type TestOAuthApp } from './helpers/oauth.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

const GPT = 'adapter-auth'
let t: TestApp
let client: TestOAuthApp
let readOnly: TestOAuthApp
let adminKey: string

interface Tokens {
  access_token: string
  token_type: string
  expires_in: number
  refresh_token: string
  scope: string
}

beforeAll(async () => {
  t = await createTestApp()
  adminKey = (await createGptWithKey(t.services, GPT, ['read', 'write', 'admin'])).token
  client = await registerApp(t.app, GPT, adminKey)
  readOnly = await registerApp(t.app, GPT, adminKey, { scopes: ['read'] })
})

afterAll(async () => {
  await t?.close()
})

const secretOf = (app: TestOAuthApp) => app.client_secret!
const json = (url: string, body: unknown, headers: Record<string, string> = {}) => injectJson(t.app, 'POST', url, headers, body)
const refresh = (token: string) => t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', headers: bearer(token) })
const me = (token: string) => t.app.inject({ url: '/api/v1/users/me', headers: bearer(token) })

function expectTokens(response: LightMyRequestResponse, scope = 'read write'): Tokens {
  expect(response.statusCode, response.body).toBe(200)
  expect(response.headers['cache-control']).toBe('no-store')
  const body = response.json<Tokens>()
  expect(body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: expect.any(Number), refresh_token: expect.any(String), scope })
  return body
}

/** The adapter's `detail` beside the OAuth protocol's own fields. */
function expectRefusal(response: LightMyRequestResponse, status: number, detail: string, error?: string) {
  expect(response.statusCode, response.body).toBe(status)
  expect(response.headers['content-type']).toMatch(/^application\/json/)
  const body = response.json<{ detail: string; error?: string }>()
  expect(body.detail).toBe(detail)
  if (error !== undefined) expect(body.error).toBe(error)
}

describe('adapter token endpoint', () => {
  it.each([
    ['/auth/token, client_credentials form', () => postForm(t.app, '/auth/token', { grant_type: 'client_credentials', client_id: client.client_id, client_secret: secretOf(client) })],
    ['/api/v1/auth/token, the password form of its code', () => postForm(t.app, '/api/v1/auth/token', { username: client.client_id, password: secretOf(client) })],
    ['/api/v1/auth/token, grant_type=password', () => postForm(t.app, '/api/v1/auth/token', { grant_type: 'password', username: client.client_id, password: secretOf(client) })],
    ['/auth/token, JSON as its design showed it, memory scopes', () => json('/auth/token', { grant_type: 'client_credentials', client_id: client.client_id, client_secret: secretOf(client), scope: 'memory:read memory:write' })],
    ['/auth/token, HTTP Basic', () => postForm(t.app, '/auth/token', { grant_type: 'client_credentials' }, basicOf(client))],
    ['/api/v1/auth/token/, a trailing slash', () => postForm(t.app, '/api/v1/auth/token/', { username: client.client_id, password: secretOf(client) })],
  ])('%s → 200 with an access and a refresh token that work', async (_name, send) => {
    const tokens = expectTokens(await send())
    const answer = await me(tokens.access_token)
    expect(answer.statusCode, answer.body).toBe(200)
    expect(answer.json()).toMatchObject({ id: client.id, client_id: client.client_id, name: 'Test app' })
  })

  it('a narrower scope is kept (memory:read is read)', async () => {
    const tokens = expectTokens(await json('/auth/token', { client_id: client.client_id, client_secret: secretOf(client), scope: 'memory:read' }), 'read')
    // A read token may search but not create.
    expect((await json('/api/v1/search', { query: 'x' }, bearer(tokens.access_token))).statusCode).toBe(200)
    expect((await json('/api/v1/memories', { content: 'x' }, bearer(tokens.access_token))).statusCode).toBe(403)
  })

  it.each([
    ['a wrong secret', () => postForm(t.app, '/auth/token', { client_id: client.client_id, client_secret: 'wrong' }), 401, 'Incorrect client_id or client_secret', 'invalid_client'],
    ['an unknown client', () => postForm(t.app, '/api/v1/auth/token', { username: 'cgpt_nobody', password: 'x' }), 401, 'Incorrect client_id or client_secret', 'invalid_client'],
    ['no credentials', () => postForm(t.app, '/auth/token', { grant_type: 'client_credentials' }), 401, 'Incorrect client_id or client_secret', 'invalid_client'],
    ['a grant it never had', () => postForm(t.app, '/auth/token', { grant_type: 'implicit', client_id: client.client_id, client_secret: secretOf(client) }), 400, 'grant_type must be authorization_code, refresh_token or client_credentials.', 'unsupported_grant_type'],
    ['a scope the app lacks', () => postForm(t.app, '/auth/token', { client_id: readOnly.client_id, client_secret: secretOf(readOnly), scope: 'memory:write' }), 400, 'Not available to this app: write.', 'invalid_scope'],
    ['a JSON value that is not a string', () => json('/auth/token', { client_id: client.client_id, client_secret: 42 }), 400, 'The parameter client_secret must be a string.', 'invalid_request'],
    ['a JSON array', () => json('/auth/token', [client.client_id]), 400, 'The body must be a JSON object.', 'invalid_request'],
  ])('%s → %i', async (_name, send, status, detail, error) => {
    const response = await send()
    expectRefusal(response, status, detail, error)
    expect(response.headers['cache-control']).toBe('no-store')
    if (status === 401) expect(response.headers['www-authenticate']).toBe('Bearer')
  })

  it('a JSON body that does not parse → 422 json_invalid', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/json' }, payload: '{"client_id":' })
    expect(response.statusCode).toBe(422)
    expect(response.json()).toEqual({ detail: [{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error' }] })
  })

  it('the house token endpoint keeps its own rule: client credentials alone get no refresh token', async () => {
    const response = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, basicOf(client))
    expect(response.statusCode).toBe(200)
    expect(response.json()).not.toHaveProperty('refresh_token')
  })
})

describe('adapter refresh endpoint', () => {
  it('the refresh token as Bearer → a new access token and the next refresh token; the old one reused ends the grant', async () => {
    const first = expectTokens(await postForm(t.app, '/auth/token', { client_id: client.client_id, client_secret: secretOf(client) }))
    const second = expectTokens(await refresh(first.refresh_token))
    expect(second.refresh_token).not.toBe(first.refresh_token)
    expect((await me(second.access_token)).statusCode).toBe(200)
    // Two holders of one refresh token: neither may go on.
    expectRefusal(await refresh(first.refresh_token), 403, 'Could not validate credentials', 'invalid_grant')
    expectRefusal(await refresh(second.refresh_token), 403, 'Could not validate credentials', 'invalid_grant')
    expectRefusal(await me(second.access_token), 403, 'Could not validate credentials')
  })

  it.each([
    ['JSON', (token: string) => json('/api/v1/auth/refresh', { refresh_token: token })],
    ['a form', (token: string) => postForm(t.app, '/api/v1/auth/refresh', { refresh_token: token })],
    ['the house token endpoint with the client\'s credentials', (token: string) => postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: token }, basicOf(client))],
    ['its own token endpoint with grant_type=refresh_token', (token: string) => postForm(t.app, '/auth/token', { grant_type: 'refresh_token', refresh_token: token, client_id: client.client_id, client_secret: secretOf(client) })],
  ])('the refresh token in %s is taken too', async (_name, send) => {
    const first = expectTokens(await postForm(t.app, '/auth/token', { client_id: client.client_id, client_secret: secretOf(client) }))
    const next = expectTokens(await send(first.refresh_token))
    expect((await me(next.access_token)).statusCode).toBe(200)
  })

  it.each([
    ['no token', () => t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh' }), 401, 'Not authenticated'],
    ['an unknown token', () => refresh('rt_not-a-token'), 403, 'Could not validate credentials'],
    ['an access token', async () => refresh(expectTokens(await postForm(t.app, '/auth/token', { client_id: client.client_id, client_secret: secretOf(client) })).access_token), 403, 'Invalid token type'],
    ['a GPT key', () => refresh(adminKey), 403, 'Could not validate credentials'],
  ])('%s → %i', async (_name, send, status, detail) => {
    const response = await send()
    expectRefusal(response, status, detail)
    if (status === 401) expect(response.headers['www-authenticate']).toBe('Bearer')
  })

  it('an end user\'s refresh token needs its client\'s credentials (the house token endpoint), not this path', async () => {
    const user = await connectEndUser(t.app, client, { email: 'adapter-user@example.com', password: 'Adapter-Pass123!' })
    expectRefusal(await refresh(user.refresh_token), 403, 'Could not validate credentials', 'invalid_grant')
    expect((await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: user.refresh_token }, basicOf(client))).statusCode).toBe(200)
  })
})

describe('adapter audit: authenticate', () => {
  it('token and refresh requests are identity events of the app, with no secret in them', async () => {
    const first = expectTokens(await postForm(t.app, '/auth/token', { client_id: client.client_id, client_secret: secretOf(client) }))
    expectTokens(await refresh(first.refresh_token))
    expect((await refresh(first.refresh_token)).statusCode).toBe(403)
    await t.services.auditWriter!.flush()
    const list = async (action: string) => {
      const response = await t.app.inject({ url: `/v1/gpts/${GPT}/audit?action=${action}&limit=200`, headers: bearer(adminKey) })
      expect(response.statusCode, response.body).toBe(200)
      return response.json<{ audit: { principal: { kind: string; id: string }; status: number; request: unknown; request_id: string | null; targets: Record<string, string> }[] }>().audit
    }
    const issued = await list('token.issued')
    expect(issued.length).toBeGreaterThan(0)
    expect(issued[0]).toMatchObject({ principal: { kind: 'app', id: client.client_id }, status: 200, request: { grant_type: 'client_credentials' }, request_id: expect.any(String) })
    expect(issued[0]!.targets.grant_id).toMatch(/^[0-9a-f-]{36}$/)
    expect((await list('token.refreshed')).length).toBeGreaterThan(0)
    expect((await list('refreshToken.reused')).length).toBeGreaterThan(0)
    const rows = JSON.stringify(await t.db.database.db.selectFrom('audit_log').selectAll().execute())
    expect(rows).not.toContain(secretOf(client))
    expect(rows).not.toContain(first.refresh_token)
  })
})
