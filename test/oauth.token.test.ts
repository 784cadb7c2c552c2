import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectInvalidToken } from './helpers/accounts.js'
import { authorizationCode, basicOf, connectEndUser, pkce, postForm, registerApp, REDIRECT, type TestOAuthApp } from './helpers/oauth.js'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

let t: TestApp
let client: TestOAuthApp
let other: TestOAuthApp
let publicApp: TestOAuthApp
let readOnly: TestOAuthApp
let withAdmin: TestOAuthApp
const user = { email: 'token-user@example.com', password: 'Token-Pass123!' }

beforeAll(async () => {
  t = await createTestApp()
  const { token } = await createGptWithKey(t.services, 'token-gpt', ['read', 'write', 'admin'])
  client = await registerApp(t.app, 'token-gpt', token)
  other = await registerApp(t.app, 'token-gpt', token)
  publicApp = await registerApp(t.app, 'token-gpt', token, { type: 'public' })
  readOnly = await registerApp(t.app, 'token-gpt', token, { scopes: ['read'] })
  withAdmin = await registerApp(t.app, 'token-gpt', token, { scopes: ['read', 'write', 'admin'] })
  await connectEndUser(t.app, client, user)
})

afterAll(async () => {
  await t?.close()
})

const token = (form: Record<string, string>, basic?: { id: string; secret: string }) => postForm(t.app, '/oauth/token', form, basic)
const me = (accessToken: string) => t.app.inject({ url: '/v1/me', headers: bearer(accessToken) })

/** An OAuth error (RFC 6749 §5.2): the protocol's JSON, never cached. */
function expectOAuthError(response: LightMyRequestResponse, status: number, error: string): void {
  expect(response.statusCode, response.body).toBe(status)
  expect(response.json()).toEqual({ error, error_description: expect.any(String) })
  expect(response.headers['cache-control']).toBe('no-store')
  expect(response.headers.pragma).toBe('no-cache')
}

describe('client authentication', () => {
  const cc = { grant_type: 'client_credentials' }
  const basicHeader = (raw: string) => ({ authorization: `Basic ${Buffer.from(raw).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' })

  it.each([
    ['client_secret_basic', () => token(cc, basicOf(client))],
    ['client_secret_post', () => token({ ...cc, client_id: client.client_id, client_secret: client.client_secret! })],
    ['Basic with the same client_id in the form too', () => token({ ...cc, client_id: client.client_id }, basicOf(client))],
    ['Basic with url-encoded characters', () => {
      const encode = (text: string) => [...text].map((char) => `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')
      return t.app.inject({ method: 'POST', url: '/oauth/token', headers: basicHeader(`${encode(client.client_id)}:${encode(client.client_secret!)}`), payload: 'grant_type=client_credentials' })
    }],
    ['a lowercase scheme name', () => t.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...basicHeader(`${client.client_id}:${client.client_secret}`), authorization: `basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}` }, payload: 'grant_type=client_credentials' })],
  ])('%s is accepted', async (_name, send) => {
    const response = await send()
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['cache-control']).toBe('no-store')
  })

  it.each([
    ['both methods at once', () => token({ ...cc, client_secret: client.client_secret! }, basicOf(client)), 400, 'invalid_request', false],
    ['Basic naming another client_id in the form', () => token({ ...cc, client_id: other.client_id }, basicOf(client)), 400, 'invalid_request', false],
    ['a wrong secret (basic)', () => token(cc, { id: client.client_id, secret: other.client_secret! }), 401, 'invalid_client', true],
    ['a wrong secret (post)', () => token({ ...cc, client_id: client.client_id, client_secret: 'as_wrong' }), 401, 'invalid_client', false],
    ['an unknown client (basic)', () => token(cc, { id: 'app_unknown', secret: client.client_secret! }), 401, 'invalid_client', true],
    ['an unknown client (post)', () => token({ ...cc, client_id: 'app_unknown', client_secret: 'x' }), 401, 'invalid_client', false],
    ['an unknown client without secret', () => token({ ...cc, client_id: 'app_unknown' }), 401, 'invalid_client', false],
    ['no client at all', () => token(cc), 401, 'invalid_client', false],
    ['a confidential client without its secret', () => token({ ...cc, client_id: client.client_id }), 401, 'invalid_client', false],
    ['a public client with a secret', () => token({ ...cc, client_id: publicApp.client_id, client_secret: 'as_anything' }), 401, 'invalid_client', false],
    ['Basic without a colon', () => t.app.inject({ method: 'POST', url: '/oauth/token', headers: basicHeader(client.client_id), payload: 'grant_type=client_credentials' }), 401, 'invalid_client', true],
    ['Basic that is not base64', () => t.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...basicHeader(''), authorization: 'Basic !!!' }, payload: 'grant_type=client_credentials' }), 401, 'invalid_client', true],
    ['Basic with a broken escape', () => t.app.inject({ method: 'POST', url: '/oauth/token', headers: basicHeader(`${client.client_id}:%E0%A4%A`), payload: 'grant_type=client_credentials' }), 401, 'invalid_client', true],
    ['Basic with an encoded NUL in the client_id', () => t.app.inject({ method: 'POST', url: '/oauth/token', headers: basicHeader(`app_%00:${client.client_secret}`), payload: 'grant_type=client_credentials' }), 401, 'invalid_client', true],
    ['Basic with a raw NUL in the client_id', () => t.app.inject({ method: 'POST', url: '/oauth/token', headers: basicHeader(`app_\0:${client.client_secret}`), payload: 'grant_type=client_credentials' }), 401, 'invalid_client', true],
    ['a public client asking for client_credentials', () => token({ ...cc, client_id: publicApp.client_id }), 400, 'unauthorized_client', false],
  ])('%s', async (_name, send, status, error, challenge) => {
    const response = await send()
    expectOAuthError(response, status, error)
    if (challenge) expect(response.headers['www-authenticate']).toBe('Basic realm="agentstore", charset="UTF-8"')
    else expect(response.headers['www-authenticate']).toBeUndefined()
  })
})

describe('the request itself', () => {
  it.each([
    ['no grant_type', () => token({}, basicOf(client)), 'invalid_request'],
    ['an empty grant_type (as if omitted)', () => token({ grant_type: '' }, basicOf(client)), 'invalid_request'],
    ['the password grant', () => token({ grant_type: 'password', username: 'a', password: 'b' }, basicOf(client)), 'unsupported_grant_type'],
    ['the implicit grant', () => token({ grant_type: 'implicit' }, basicOf(client)), 'unsupported_grant_type'],
    ['a repeated parameter', () => t.app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `grant_type=client_credentials&client_id=${client.client_id}&client_secret=${client.client_secret}&scope=read&scope=write` }), 'invalid_request'],
    ['a JSON body', () => t.app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret }) }), 'invalid_request'],
    ['a text body', () => t.app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'text/plain' }, payload: 'grant_type=client_credentials' }), 'invalid_request'],
    ['no body', () => t.app.inject({ method: 'POST', url: '/oauth/token' }), 'invalid_request'],
  ])('%s', async (_name, send, error) => {
    expectOAuthError(await send(), 400, error)
  })
})

describe('authorization_code', () => {
  const exchange = (code: string, extra: Record<string, string> = {}, app = client) =>
    token({ grant_type: 'authorization_code', code, ...extra }, basicOf(app))

  it.each([
    ['no code', async () => exchange(''), 400, 'invalid_request'],
    ['an unknown code', async () => exchange('not-a-code'), 400, 'invalid_grant'],
    ['the code of another client', async () => {
      const { verifier, challenge } = pkce()
      const code = await authorizationCode(t.app, client, user, { redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: 'S256' })
      return exchange(code, { redirect_uri: REDIRECT, code_verifier: verifier }, other)
    }, 400, 'invalid_grant'],
    ['a redirect_uri other than the request\'s', async () => {
      const code = await authorizationCode(t.app, client, user, { redirect_uri: REDIRECT })
      return exchange(code, { redirect_uri: `${REDIRECT}/x` })
    }, 400, 'invalid_grant'],
    ['no redirect_uri when the request named one', async () => exchange(await authorizationCode(t.app, client, user, { redirect_uri: REDIRECT })), 400, 'invalid_grant'],
    ['no code_verifier after a code_challenge', async () => {
      const code = await authorizationCode(t.app, client, user, { code_challenge: pkce().challenge, code_challenge_method: 'S256' })
      return exchange(code)
    }, 400, 'invalid_request'],
    ['a wrong code_verifier', async () => {
      const code = await authorizationCode(t.app, client, user, { code_challenge: pkce().challenge, code_challenge_method: 'S256' })
      return exchange(code, { code_verifier: pkce().verifier })
    }, 400, 'invalid_grant'],
    ['a code_verifier too short (even when it hashes right)', async () => {
      const verifier = 'a'.repeat(42)
      const { createHash } = await import('node:crypto')
      const code = await authorizationCode(t.app, client, user, { code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' })
      return exchange(code, { code_verifier: verifier })
    }, 400, 'invalid_grant'],
    ['a code_verifier the request never asked for', async () => exchange(await authorizationCode(t.app, client, user, {}), { code_verifier: pkce().verifier }), 400, 'invalid_grant'],
    ['a resource other than the request\'s', async () => exchange(await authorizationCode(t.app, client, user, {}), { resource: 'http://agentstore.test/mcp' }), 400, 'invalid_target'],
    ['an expired code', async () => {
      const code = await authorizationCode(t.app, client, user, {})
      await t.db.database.db.updateTable('oauth_codes').set({ expires_at: new Date(Date.now() - 1000) }).where('app_id', '=', client.id).where('grant_id', 'is', null).execute()
      return exchange(code)
    }, 400, 'invalid_grant'],
  ])('%s', async (_name, send, status, error) => {
    expectOAuthError(await send(), status, error)
  })

  it('a public client exchanges with its client_id and verifier; no redirect_uri needed when none was named', async () => {
    const { verifier, challenge } = pkce()
    const code = await authorizationCode(t.app, publicApp, user, { code_challenge: challenge, code_challenge_method: 'S256' })
    const response = await token({ grant_type: 'authorization_code', code, client_id: publicApp.client_id, code_verifier: verifier })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json()).toMatchObject({ token_type: 'Bearer', scope: 'read write', refresh_token: expect.any(String) })
  })

  it('a code used twice is refused, and the tokens of its first exchange stop', async () => {
    const code = await authorizationCode(t.app, client, user, {})
    const first = await exchange(code)
    expect(first.statusCode, first.body).toBe(200)
    const tokens = first.json<{ access_token: string; refresh_token: string }>()
    expect((await me(tokens.access_token)).statusCode).toBe(200)
    expectOAuthError(await exchange(code), 400, 'invalid_grant')
    expectInvalidToken(await me(tokens.access_token))
    expectOAuthError(await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, basicOf(client)), 400, 'invalid_grant')
  })

  it('a failed exchange does not spend the code', async () => {
    const { verifier, challenge } = pkce()
    const code = await authorizationCode(t.app, client, user, { code_challenge: challenge, code_challenge_method: 'S256' })
    expectOAuthError(await exchange(code, { code_verifier: pkce().verifier }), 400, 'invalid_grant')
    expect((await exchange(code, { code_verifier: verifier })).statusCode).toBe(200)
  })
})

describe('refresh_token', () => {
  const refresh = (refreshToken: string, extra: Record<string, string> = {}, app = client) => token({ grant_type: 'refresh_token', refresh_token: refreshToken, ...extra }, basicOf(app))

  it('rotates; a reused one revokes the whole family', async () => {
    const first = await connectEndUser(t.app, client, user, 'signin')
    const second = (await refresh(first.refresh_token)).json<{ access_token: string; refresh_token: string }>()
    const third = (await refresh(second.refresh_token)).json<{ access_token: string; refresh_token: string }>()
    expect(new Set([first.refresh_token, second.refresh_token, third.refresh_token]).size).toBe(3)
    expect((await me(third.access_token)).statusCode).toBe(200)
    expectOAuthError(await refresh(first.refresh_token), 400, 'invalid_grant')
    for (const access of [first.access_token, second.access_token, third.access_token]) expectInvalidToken(await me(access))
    expectOAuthError(await refresh(third.refresh_token), 400, 'invalid_grant')
  })

  it('a narrower scope gives a narrower token; the grant keeps its own', async () => {
    const first = await connectEndUser(t.app, client, user, 'signin')
    const narrow = await refresh(first.refresh_token, { scope: 'read' })
    expect(narrow.statusCode, narrow.body).toBe(200)
    const narrowed = narrow.json<{ access_token: string; refresh_token: string; scope: string }>()
    expect(narrowed.scope).toBe('read')
    expect((await me(narrowed.access_token)).json()).toMatchObject({ scopes: ['read'] })
    const wide = (await refresh(narrowed.refresh_token)).json<{ scope: string }>()
    expect(wide.scope).toBe('read write')
  })

  it.each([
    ['a wider scope', async () => (await connectEndUser(t.app, readOnly, user, 'signin')).refresh_token, { scope: 'read write' }, () => readOnly, 'invalid_scope'],
    ['an admin scope', async () => (await connectEndUser(t.app, client, user, 'signin')).refresh_token, { scope: 'admin' }, () => client, 'invalid_scope'],
    ['a blank scope', async () => (await connectEndUser(t.app, client, user, 'signin')).refresh_token, { scope: ' ' }, () => client, 'invalid_scope'],
    ['another client\'s refresh token', async () => (await connectEndUser(t.app, client, user, 'signin')).refresh_token, {}, () => other, 'invalid_grant'],
    ['an unknown refresh token', async () => 'unknown', {}, () => client, 'invalid_grant'],
    ['no refresh token', async () => '', {}, () => client, 'invalid_request'],
  ])('%s', async (_name, make, extra, app, error) => {
    expectOAuthError(await refresh(await make(), extra, app()), 400, error)
  })

  it('a refresh token refused for its scope is not spent', async () => {
    const first = await connectEndUser(t.app, readOnly, user, 'signin')
    expectOAuthError(await refresh(first.refresh_token, { scope: 'write' }, readOnly), 400, 'invalid_scope')
    expect((await refresh(first.refresh_token, {}, readOnly)).statusCode).toBe(200)
  })
})

describe('client_credentials', () => {
  const apps = () => ({ withAdmin, client, readOnly })
  it.each([
    ['no scope: all of the app\'s', 'withAdmin', {}, 'read write admin'],
    ['a subset', 'withAdmin', { scope: 'read' }, 'read'],
    ['admin, for the GPT\'s own app', 'withAdmin', { scope: 'admin' }, 'admin'],
    ['an empty scope (as if omitted)', 'client', { scope: '' }, 'read write'],
    ['the MCP resource', 'client', { resource: 'http://agentstore.test/mcp' }, 'read write'],
  ] as const)('%s', async (_name, app, extra, scope) => {
    const response = await token({ grant_type: 'client_credentials', ...extra }, basicOf(apps()[app]))
    expect(response.statusCode, response.body).toBe(200)
    const body = response.json<Record<string, unknown>>()
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 900, scope })
  })

  it.each([
    ['a scope the app lacks', 'readOnly', { scope: 'read write' }, 'invalid_scope'],
    ['admin the app lacks', 'client', { scope: 'admin' }, 'invalid_scope'],
    ['an unknown scope', 'client', { scope: 'delete' }, 'invalid_scope'],
    ['a blank scope', 'client', { scope: '  ' }, 'invalid_scope'],
    ['an unknown resource', 'client', { resource: 'https://elsewhere.example' }, 'invalid_target'],
  ] as const)('%s → %s', async (_name, app, extra, error) => {
    expectOAuthError(await token({ grant_type: 'client_credentials', ...extra }, basicOf(apps()[app])), 400, error)
  })

  it('the token reaches the API as the app itself', async () => {
    const { access_token } = (await token({ grant_type: 'client_credentials', scope: 'read' }, basicOf(client))).json<{ access_token: string }>()
    expect((await me(access_token)).json()).toMatchObject({ gpt_id: 'token-gpt', scopes: ['read'], client_id: client.client_id, end_user_id: null })
  })
})
