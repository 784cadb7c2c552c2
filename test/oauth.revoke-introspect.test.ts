import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OAuthAccessTokens } from '../src/platform/auth/oauth-access-tokens.js'
import { expectInvalidToken } from './helpers/accounts.js'
import { basicOf, connectEndUser, postForm, registerApp, type TestOAuthApp } from './helpers/oauth.js'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

let t: TestApp
let client: TestOAuthApp
let sibling: TestOAuthApp
let foreign: TestOAuthApp
let publicApp: TestOAuthApp
let userNumber = 0
const connect = (app = client) => connectEndUser(t.app, app, { email: `rv-${++userNumber}@example.com`, password: 'Revoke-Pass123!' })

beforeAll(async () => {
  t = await createTestApp()
  const { token } = await createGptWithKey(t.services, 'rv-gpt', ['read', 'write', 'admin'])
  const other = await createGptWithKey(t.services, 'rv-other', ['read', 'write', 'admin'])
  client = await registerApp(t.app, 'rv-gpt', token)
  sibling = await registerApp(t.app, 'rv-gpt', token)
  publicApp = await registerApp(t.app, 'rv-gpt', token, { type: 'public' })
  foreign = await registerApp(t.app, 'rv-other', other.token)
})

afterAll(async () => {
  await t?.close()
})

const revoke = (form: Record<string, string>, app: TestOAuthApp | null = client) => postForm(t.app, '/oauth/revoke', form, app ? basicOf(app) : undefined)
const introspect = (tokenValue: string, app = client) => postForm(t.app, '/oauth/introspect', { token: tokenValue }, basicOf(app))
const me = (accessToken: string) => t.app.inject({ url: '/v1/me', headers: bearer(accessToken) })
const refresh = (refreshToken: string, app = client) => postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshToken }, basicOf(app))

describe('revocation (RFC 7009)', () => {
  it.each([
    ['an unknown token', 'not-a-token'],
    ['something shaped like a JWT', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'],
    ['a very long token', 'x'.repeat(10_000)],
  ])('%s: 200, and nothing to tell', async (_name, value) => {
    const response = await revoke({ token: value })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json()).toEqual({})
    expect(response.headers['cache-control']).toBe('no-store')
  })

  it.each([
    ['no token', () => revoke({}), 400, 'invalid_request'],
    ['no client authentication', () => revoke({ token: 'x' }, null), 401, 'invalid_client'],
    ['a wrong secret', () => postForm(t.app, '/oauth/revoke', { token: 'x' }, { id: client.client_id, secret: 'as_wrong' }), 401, 'invalid_client'],
  ])('%s', async (_name, send, status, error) => {
    const response = await send()
    expect(response.statusCode, response.body).toBe(status)
    expect(response.json()).toMatchObject({ error })
  })

  it('an access token stops at once; its refresh token still works', async () => {
    const tokens = await connect()
    expect((await me(tokens.access_token)).statusCode).toBe(200)
    expect((await revoke({ token: tokens.access_token, token_type_hint: 'refresh_token' })).statusCode).toBe(200)
    expectInvalidToken(await me(tokens.access_token))
    expect((await refresh(tokens.refresh_token)).statusCode).toBe(200)
    expect((await revoke({ token: tokens.access_token })).statusCode).toBe(200)
  })

  it('a refresh token ends its grant: the access tokens of the grant stop too', async () => {
    const tokens = await connect()
    expect((await revoke({ token: tokens.refresh_token, token_type_hint: 'access_token' })).statusCode).toBe(200)
    expectInvalidToken(await me(tokens.access_token))
    expect((await refresh(tokens.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' })
  })

  it('a public client revokes its own token with its client_id alone', async () => {
    const tokens = await connectEndUser(t.app, publicApp, { email: 'rv-public@example.com', password: 'Revoke-Pass123!' })
    const response = await postForm(t.app, '/oauth/revoke', { token: tokens.access_token, client_id: publicApp.client_id })
    expect(response.statusCode).toBe(200)
    expectInvalidToken(await me(tokens.access_token))
  })

  it('a client_credentials token stops at once', async () => {
    const { access_token } = (await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, basicOf(client))).json<{ access_token: string }>()
    expect((await me(access_token)).statusCode).toBe(200)
    expect((await revoke({ token: access_token })).statusCode).toBe(200)
    expectInvalidToken(await me(access_token))
  })

  it.each([
    ['of a sibling app of the same GPT', () => sibling],
    ['of another GPT\'s app', () => foreign],
  ])('the tokens of another app are left alone (%s)', async (_name, revoker) => {
    const tokens = await connect()
    expect((await revoke({ token: tokens.access_token }, revoker())).statusCode).toBe(200)
    expect((await revoke({ token: tokens.refresh_token }, revoker())).statusCode).toBe(200)
    expect((await me(tokens.access_token)).statusCode).toBe(200)
    expect((await refresh(tokens.refresh_token)).statusCode).toBe(200)
  })
})

describe('introspection (RFC 7662)', () => {
  it('an access token: active, with its claims', async () => {
    const tokens = await connect()
    const response = await introspect(tokens.access_token)
    expect(response.statusCode).toBe(200)
    expect(response.headers['cache-control']).toBe('no-store')
    const body = response.json<Record<string, unknown>>()
    expect(body).toEqual({
      active: true,
      token_type: 'Bearer',
      iss: 'http://agentstore.test',
      sub: expect.any(String),
      aud: 'http://agentstore.test/v1',
      gpt: 'rv-gpt',
      scope: 'read write',
      client_id: client.client_id,
      jti: expect.any(String),
      exp: expect.any(Number),
      iat: expect.any(Number),
    })
    expect((body.exp as number) - (body.iat as number)).toBe(900)
  })

  it('a refresh token: active until used', async () => {
    const tokens = await connect()
    const body = (await introspect(tokens.refresh_token)).json<Record<string, unknown>>()
    expect(body).toEqual({
      active: true,
      token_type: 'refresh_token',
      client_id: client.client_id,
      scope: 'read write',
      sub: expect.any(String),
      gpt: 'rv-gpt',
      aud: 'http://agentstore.test/v1',
      iss: 'http://agentstore.test',
      exp: expect.any(Number),
    })
    expect(await refresh(tokens.refresh_token)).toMatchObject({ statusCode: 200 })
    expect((await introspect(tokens.refresh_token)).json()).toEqual({ active: false })
  })

  it('another app of the same GPT may introspect', async () => {
    const tokens = await connect()
    expect((await introspect(tokens.access_token, sibling)).json()).toMatchObject({ active: true, client_id: client.client_id })
  })

  it.each([
    ['an unknown token', async () => 'nothing'],
    ['a revoked access token', async () => {
      const tokens = await connect()
      await revoke({ token: tokens.access_token })
      return tokens.access_token
    }],
    ['the access token of a revoked grant', async () => {
      const tokens = await connect()
      await revoke({ token: tokens.refresh_token })
      return tokens.access_token
    }],
    ['a revoked refresh token', async () => {
      const tokens = await connect()
      await revoke({ token: tokens.refresh_token })
      return tokens.refresh_token
    }],
    ['an expired access token', async () => {
      const expired = new OAuthAccessTokens(t.services.signingKeys, { issuer: 'http://agentstore.test', ttlSeconds: -60 })
      return (await expired.issue({ sub: 'u', aud: 'http://agentstore.test/v1', gpt: 'rv-gpt', scope: 'read', client_id: client.client_id, sid: null })).token
    }],
    ['another GPT\'s access token', async () => (await connect(foreign)).access_token],
    ['another GPT\'s refresh token', async () => (await connect(foreign)).refresh_token],
  ])('%s: inactive', async (_name, make) => {
    const response = await introspect(await make())
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ active: false })
  })

  it.each([
    ['no token', () => postForm(t.app, '/oauth/introspect', {}, basicOf(client)), 400, 'invalid_request'],
    ['no client authentication', () => postForm(t.app, '/oauth/introspect', { token: 'x' }), 401, 'invalid_client'],
    ['a wrong secret', () => postForm(t.app, '/oauth/introspect', { token: 'x' }, { id: client.client_id, secret: 'as_wrong' }), 401, 'invalid_client'],
  ])('%s', async (_name, send, status, error) => {
    const response = await send()
    expect(response.statusCode, response.body).toBe(status)
    expect(response.json()).toMatchObject({ error })
  })
})
