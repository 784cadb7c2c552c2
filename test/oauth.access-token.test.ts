import type { LightMyRequestResponse } from 'fastify'
import { createLocalJWKSet, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OAuthAccessTokens } from '../src/platform/auth/oauth-access-tokens.js'
import { expectInvalidToken, login, signup } from './helpers/accounts.js'
import { basicOf, connectEndUser, postForm, registerApp, type TestOAuthApp } from './helpers/oauth.js'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

const ISSUER = 'http://agentstore.test'
const API = `${ISSUER}/v1`
let t: TestApp
let admin: string
let client: TestOAuthApp
let readOnly: TestOAuthApp
let userNumber = 0
const connect = (app = client) => connectEndUser(t.app, app, { email: `at-${++userNumber}@example.com`, password: 'Access-Pass123!' })

beforeAll(async () => {
  t = await createTestApp()
  admin = (await createGptWithKey(t.services, 'at-gpt', ['read', 'write', 'admin'])).token
  await createGptWithKey(t.services, 'at-other', ['read'])
  client = await registerApp(t.app, 'at-gpt', admin)
  readOnly = await registerApp(t.app, 'at-gpt', admin, { scopes: ['read'] })
})

afterAll(async () => {
  await t?.close()
})

const me = (token: string) => t.app.inject({ url: '/v1/me', headers: bearer(token) })
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const part = (token: string, index: number) => JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8')) as Record<string, unknown>

/** RFC 6750 §3.1 on the API: 401, a Bearer challenge naming invalid_token, and a problem body. */
function expectRefused(response: LightMyRequestResponse): void {
  expectInvalidToken(response)
  expectProblem(response, 401, '/v1/me', 'unauthorized')
}

/** Signs claims like ours (or changed) with our stored key, under another issuer or TTL when asked. */
async function ourToken(options: { issuer?: string; ttlSeconds?: number; aud?: string } = {}): Promise<string> {
  const tokens = new OAuthAccessTokens(t.services.signingKeys, { issuer: options.issuer ?? ISSUER, ttlSeconds: options.ttlSeconds ?? 900 })
  return (await tokens.issue({ sub: client.client_id, aud: options.aud ?? API, gpt: 'at-gpt', scope: 'read', client_id: client.client_id, sid: null })).token
}

describe('tokens the API refuses', () => {
  it('a token signed by us now passes (the cases below differ by one thing)', async () => {
    expect((await me(await ourToken())).statusCode).toBe(200)
  })

  it.each([
    ['expired', () => ourToken({ ttlSeconds: -120 })],
    ['of another issuer', () => ourToken({ issuer: 'http://evil.test' })],
    ['for the MCP resource (another audience)', async () => {
      const response = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials', resource: `${ISSUER}/mcp` }, basicOf(client))
      return response.json<{ access_token: string }>().access_token
    }],
    ['for the login audience', () => ourToken({ aud: ISSUER })],
    ['alg none', async () => {
      const valid = await ourToken()
      return `${b64({ ...part(valid, 0), alg: 'none' })}.${valid.split('.')[1]}.`
    }],
    ['alg none with the signature kept', async () => {
      const valid = await ourToken()
      const [, payload, signature] = valid.split('.')
      return `${b64({ ...part(valid, 0), alg: 'none' })}.${payload}.${signature}`
    }],
    ['HS256 keyed with the public key', async () => {
      const valid = await ourToken()
      const header = { ...part(valid, 0), alg: 'HS256' }
      const jwks = (await t.app.inject({ url: '/.well-known/jwks.json' })).body
      const body = `${b64(header)}.${valid.split('.')[1]}`
      const { createHmac } = await import('node:crypto')
      return `${body}.${createHmac('sha256', jwks).update(body).digest('base64url')}`
    }],
    ['a tampered payload (wider scope)', async () => {
      const [header, payload, signature] = (await ourToken()).split('.')
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>
      return `${header}.${b64({ ...claims, scope: 'read write admin' })}.${signature}`
    }],
    ['a tampered payload (another GPT)', async () => {
      const [header, payload, signature] = (await ourToken()).split('.')
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>
      return `${header}.${b64({ ...claims, gpt: 'at-other' })}.${signature}`
    }],
    ['signed by an unknown key', async () => sign('unknown-kid')],
    ['signed by another key under our kid', async () => sign(decodeProtectedHeader(await ourToken()).kid!)],
    ['without a kid', async () => sign(undefined)],
    ['a login token\'s typ', async () => sign(decodeProtectedHeader(await ourToken()).kid!, 'JWT', true)],
  ])('%s', async (_name, make) => {
    expectRefused(await me(await make()))
  })

  /** A token with our claims signed by a key of its own (or, with `ours`, by our key under another typ). */
  async function sign(kid: string | undefined, typ = 'at+jwt', ours = false): Promise<string> {
    const key = ours ? (await t.services.signingKeys.signer()).privateKey : (await generateKeyPair('ES256')).privateKey
    const claims = { gpt: 'at-gpt', scope: 'read', client_id: client.client_id }
    return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ, ...(kid === undefined ? {} : { kid }) })
      .setIssuer(ISSUER).setAudience(API).setSubject(client.client_id).setJti(crypto.randomUUID()).setIssuedAt().setExpirationTime('5m').sign(key)
  }

  // The auth hook recognises a valid login token and says why it cannot be used here (a 403, not a 401).
  it('an account\'s login token does not open GPT data without naming an owned GPT', async () => {
    const account = await signup(t.app)
    const { access_token } = await login(t.app, account)
    expect(expectProblem(await me(access_token), 403, '/v1/me', 'forbidden').detail).toMatch(/only for a GPT the account owns, named in the Agentstore-GPT header/)
  })

  it('an app\'s token does not open account routes', async () => {
    const { access_token } = await connect()
    const response = await t.app.inject({ url: '/v1/accounts/me', headers: bearer(access_token) })
    expectProblem(response, 401, '/v1/accounts/me', 'unauthorized')
  })
})

describe('what a valid token may do', () => {
  it('a read-only token reads but cannot write', async () => {
    const { access_token } = await connect(readOnly)
    expect((await injectJson(t.app, 'GET', '/v1/gpts/at-gpt/sessions', bearer(access_token))).statusCode).toBe(200)
    const refused = await injectJson(t.app, 'POST', '/v1/gpts/at-gpt/sessions', bearer(access_token), { name: 'nope' })
    expect(expectProblem(refused, 403, '/v1/gpts/at-gpt/sessions', 'forbidden').detail).toMatch(/"write" scope/)
  })

  it('a read and write token writes', async () => {
    const { access_token } = await connect()
    expect((await injectJson(t.app, 'POST', '/v1/gpts/at-gpt/sessions', bearer(access_token), { name: 'mine' })).statusCode).toBe(201)
  })

  it.each(['GET', 'POST'] as const)('a token of another GPT is refused (%s): 403', async (method) => {
    const { access_token } = await connect()
    const response = await injectJson(t.app, method, '/v1/gpts/at-other/collections', bearer(access_token), method === 'POST' ? { name: 'x' } : undefined)
    expect(expectProblem(response, 403, '/v1/gpts/at-other/collections', 'forbidden').detail).toMatch(/another GPT/)
  })

  it('an end user\'s token never reaches admin routes', async () => {
    const { access_token } = await connect()
    expectProblem(await injectJson(t.app, 'GET', '/v1/gpts/at-gpt/apps', bearer(access_token)), 403, '/v1/gpts/at-gpt/apps', 'forbidden')
  })
})

describe('ending an app or a grant stops its tokens at once', () => {
  it('deleting the app', async () => {
    const doomed = await registerApp(t.app, 'at-gpt', admin)
    const user = await connect(doomed)
    const { access_token: appToken } = (await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, basicOf(doomed))).json<{ access_token: string }>()
    expect((await me(user.access_token)).statusCode).toBe(200)
    expect((await me(appToken)).statusCode).toBe(200)
    expect((await injectJson(t.app, 'DELETE', `/v1/apps/${doomed.id}`, bearer(admin))).statusCode).toBe(204)
    expectRefused(await me(user.access_token))
    expectRefused(await me(appToken))
    const refreshed = await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: user.refresh_token }, basicOf(doomed))
    expect(refreshed.json()).toMatchObject({ error: 'invalid_client' })
  })

  it('revoking its grant', async () => {
    const user = await connect()
    const kept = await connect()
    expect((await me(user.access_token)).statusCode).toBe(200)
    const grantId = part(user.access_token, 1).sid as string
    expect((await injectJson(t.app, 'DELETE', `/v1/apps/${client.id}/grants/${grantId}`, bearer(admin))).statusCode).toBe(204)
    expectRefused(await me(user.access_token))
    expect((await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: user.refresh_token }, basicOf(client))).json()).toMatchObject({ error: 'invalid_grant' })
    expect((await me(kept.access_token)).statusCode).toBe(200)
  })
})

describe('metadata documents', () => {
  it('RFC 8414: the authorization server', async () => {
    const response = await t.app.inject({ url: '/.well-known/oauth-authorization-server' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/oauth/authorize`,
      token_endpoint: `${ISSUER}/oauth/token`,
      revocation_endpoint: `${ISSUER}/oauth/revoke`,
      introspection_endpoint: `${ISSUER}/oauth/introspect`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      response_types_supported: ['code'],
      grant_types_supported: expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']),
      token_endpoint_auth_methods_supported: expect.arrayContaining(['client_secret_basic', 'client_secret_post']),
      code_challenge_methods_supported: ['S256'],
      scopes_supported: expect.arrayContaining(['read', 'write']),
      authorization_response_iss_parameter_supported: true,
    })
  })

  it.each([
    ['/.well-known/oauth-protected-resource', API],
    ['/.well-known/oauth-protected-resource/v1', API],
    ['/.well-known/oauth-protected-resource/mcp', `${ISSUER}/mcp`],
  ])('RFC 9728: %s', async (url, resource) => {
    const response = await t.app.inject({ url })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({ resource, authorization_servers: [ISSUER], bearer_methods_supported: ['header'], scopes_supported: expect.arrayContaining(['read']) })
  })

  it('the JWKS holds the kid of an issued token, verifies it, and has no private part', async () => {
    const { access_token } = await connect()
    const jwks = (await t.app.inject({ url: '/.well-known/jwks.json' })).json<{ keys: Record<string, unknown>[] }>()
    const { kid, typ, alg } = decodeProtectedHeader(access_token)
    expect({ typ, alg }).toEqual({ typ: 'at+jwt', alg: 'ES256' })
    expect(jwks.keys.map((key) => key.kid)).toContain(kid)
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d')
    const { payload } = await jwtVerify(access_token, createLocalJWKSet(jwks as never), { issuer: ISSUER, audience: API })
    expect(payload).toMatchObject({ gpt: 'at-gpt', client_id: client.client_id, scope: 'read write', sid: expect.any(String), jti: expect.any(String) })
  })
})
