import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, SignJWT, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { email, expectInvalidToken, login, me, PASSWORD, signup, type TestAccount } from './helpers/accounts.js'
import { expectProblem } from './helpers/problem.js'
import { DEFAULT_LOGIN_THROTTLE } from '../src/modules/accounts/login-throttle.js'
import { createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

let t: TestApp
let account: TestAccount

beforeAll(async () => {
  // A first lock of a minute: no test depends on being quicker than the lock.
  t = await createTestApp({ loginThrottle: { ...DEFAULT_LOGIN_THROTTLE, baseLockMs: 60_000 } })
  account = await signup(t.app)
})

afterAll(async () => {
  await t.close()
})

const postLogin = (body: unknown, ip = '127.0.0.1') => t.app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: ip, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) })
const refresh = (token: string) => injectJson(t.app, 'POST', '/v1/auth/refresh', {}, { refresh_token: token })

describe('POST /v1/auth/login', () => {
  it('answers an ES256 access token with the house claims and a refresh token, not cached', async () => {
    const response = await postLogin({ email: account.email.toUpperCase(), password: PASSWORD })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['cache-control']).toBe('no-store')
    const body = response.json()
    expect(body).toEqual({ access_token: expect.any(String), refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), token_type: 'Bearer', expires_in: 900 })
    const header = decodeProtectedHeader(body.access_token)
    expect(header).toEqual({ alg: 'ES256', kid: expect.any(String), typ: 'at+jwt' })
    const claims = decodeJwt(body.access_token)
    expect(claims).toEqual({
      iss: 'http://agentstore.test',
      aud: 'http://agentstore.test',
      sub: account.id,
      sid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      jti: expect.any(String),
      iat: expect.any(Number),
      exp: claims.iat! + 900,
    })
    // Verifiable by anyone with the published key set.
    const jwks = (await t.app.inject({ url: '/.well-known/jwks.json' })).json<{ keys: JWK[] }>()
    const jwk = jwks.keys.find((key) => key.kid === header.kid)!
    await expect(jwtVerify(body.access_token, await importJWK(jwk, 'ES256'))).resolves.toBeTruthy()
    expect((await me(t.app, body.access_token)).json()).toMatchObject({ id: account.id, email: account.email })
  })

  it.each([
    { name: 'a wrong password', body: () => ({ email: account.email, password: 'Wrong-Horse1' }) },
    { name: 'an unknown email', body: () => ({ email: email('nobody'), password: PASSWORD }) },
  ])('refuses $name with the same 401', async ({ body }) => {
    const response = await postLogin(body(), '10.0.0.1')
    const problem = expectProblem(response, 401, '/v1/auth/login', 'invalid-credentials')
    expect(problem.detail).toBe('The email or password is not correct.')
    expect(response.headers['www-authenticate']).toBeUndefined()
  })

  it('locks an email after 5 failures with a growing Retry-After, and a success clears it', async () => {
    const victim = await signup(t.app)
    const wrong = { email: victim.email, password: 'Wrong-Horse1' }
    for (let i = 0; i < 5; i++) expect((await postLogin(wrong, `10.1.0.${i}`)).statusCode).toBe(401)
    // Locked for the first period: even the right password waits.
    const locked = await postLogin({ email: victim.email, password: PASSWORD }, '10.1.1.1')
    expectProblem(locked, 429, '/v1/auth/login', 'rate-limited')
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(55)
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(60)
    // The lock runs out; the next failure doubles it.
    await t.db.database.pool.query(`update login_failures set locked_until = now() - interval '1 second' where subject = $1`, [`email:${victim.email}`])
    expect((await postLogin(wrong, '10.1.2.1')).statusCode).toBe(401)
    const doubled = await postLogin(wrong, '10.1.2.2')
    expect(doubled.statusCode).toBe(429)
    expect(Number(doubled.headers['retry-after'])).toBeGreaterThan(115)
    expect(Number(doubled.headers['retry-after'])).toBeLessThanOrEqual(120)
    await t.db.database.pool.query(`update login_failures set locked_until = null where subject = $1`, [`email:${victim.email}`])
    await login(t.app, victim)
    const { rows } = await t.db.database.pool.query('select 1 from login_failures where subject = $1', [`email:${victim.email}`])
    expect(rows).toEqual([])
  })

  it('locks an IP address after 20 failures, whichever emails it tries', async () => {
    for (let i = 0; i < 20; i++) expect((await postLogin({ email: email('guess'), password: PASSWORD }, '10.2.0.1')).statusCode).toBe(401)
    const response = await postLogin({ email: account.email, password: PASSWORD }, '10.2.0.1')
    expectProblem(response, 429, '/v1/auth/login', 'rate-limited')
    expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect((await postLogin({ email: account.email, password: PASSWORD }, '10.2.0.2')).statusCode).toBe(200)
  })

  it('refuses a deleted account like an unknown one', async () => {
    const gone = await signup(t.app)
    expect((await injectJson(t.app, 'DELETE', '/v1/accounts/me', { authorization: `Bearer ${gone.key}` })).statusCode).toBe(204)
    expectProblem(await postLogin({ email: gone.email, password: PASSWORD }, '10.3.0.1'), 401, '/v1/auth/login', 'invalid-credentials')
  })
})

describe('POST /v1/auth/refresh', () => {
  it('rotates: a new pair, not cached, in the same session; the old refresh token is spent', async () => {
    const first = await login(t.app, account)
    const response = await refresh(first.refresh_token)
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['cache-control']).toBe('no-store')
    const second = response.json()
    expect(second).toEqual({ access_token: expect.any(String), refresh_token: expect.any(String), token_type: 'Bearer', expires_in: 900 })
    expect(second.refresh_token).not.toBe(first.refresh_token)
    expect(decodeJwt(second.access_token).sid).toBe(decodeJwt(first.access_token).sid)
    expect((await me(t.app, second.access_token)).statusCode).toBe(200)
    expect((await refresh(second.refresh_token)).statusCode).toBe(200)
  })

  it('reusing a rotated refresh token ends the whole family (401), its access tokens with it', async () => {
    const first = await login(t.app, account)
    const other = await login(t.app, account)
    const second = (await refresh(first.refresh_token)).json()
    const reused = await refresh(first.refresh_token)
    expect(expectProblem(reused, 401, '/v1/auth/refresh', 'invalid-credentials').detail).toMatch(/already used/)
    // The thief's and the owner's tokens of that family are all dead now.
    expectProblem(await refresh(second.refresh_token), 401, '/v1/auth/refresh', 'invalid-credentials')
    expectInvalidToken(await me(t.app, second.access_token))
    expectInvalidToken(await me(t.app, first.access_token))
    // Another login's family lives on.
    expect((await me(t.app, other.access_token)).statusCode).toBe(200)
    expect((await refresh(other.refresh_token)).statusCode).toBe(200)
  })

  it.each([
    { name: 'an unknown token', body: { refresh_token: 'x'.repeat(43) }, status: 401 },
    { name: 'an empty token', body: { refresh_token: '' }, status: 422 },
    { name: 'no token', body: {}, status: 422 },
  ])('refuses $name ($status)', async ({ body, status }) => {
    expectProblem(await injectJson(t.app, 'POST', '/v1/auth/refresh', {}, body), status, '/v1/auth/refresh')
  })
})

describe('access token checks (RFC 6750 invalid_token)', () => {
  let valid: string

  beforeAll(async () => {
    valid = (await login(t.app, account)).access_token
  })

  /** Signs claims with the service's own current key, changed as the case needs. */
  async function forge(change: { claims?: Record<string, unknown>; exp?: number; iss?: string; aud?: string }): Promise<string> {
    const { kid, privateKey } = await t.services.signingKeys.signer()
    const claims = decodeJwt(valid)
    return new SignJWT({ sid: claims.sid, ...change.claims })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .setIssuer(change.iss ?? claims.iss!)
      .setAudience(change.aud ?? (claims.aud as string))
      .setSubject(claims.sub!)
      .setJti('forged')
      .setIssuedAt()
      .setExpirationTime(change.exp ?? claims.exp!)
      .sign(privateKey)
  }

  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

  it('accepts a token the service signed with the right claims (the forging helper is sound)', async () => {
    expect((await me(t.app, await forge({}))).statusCode).toBe(200)
  })

  it.each([
    { name: 'a tampered signature', token: async () => `${valid.slice(0, -6)}${valid.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`, detail: 'The access token is not valid.' },
    { name: 'a tampered payload', token: async () => { const [h, , s] = valid.split('.'); return `${h}.${b64({ ...decodeJwt(valid), sub: '00000000-0000-7000-8000-000000000000' })}.${s}` }, detail: 'The access token is not valid.' },
    { name: 'an expired token', token: () => forge({ exp: Math.floor(Date.now() / 1000) - 60 }), detail: 'The access token has expired.' },
    { name: 'a wrong issuer', token: () => forge({ iss: 'http://evil.test' }), detail: 'The access token is not valid.' },
    { name: 'a wrong audience', token: () => forge({ aud: 'http://other.test' }), detail: 'The access token is not valid.' },
    { name: 'alg none', token: async () => `${b64({ ...decodeProtectedHeader(valid), alg: 'none' })}.${valid.split('.')[1]}.`, detail: 'The access token is not valid.' },
    { name: 'an unknown kid', token: async () => { const [, p, s] = valid.split('.'); return `${b64({ ...decodeProtectedHeader(valid), kid: 'unknown' })}.${p}.${s}` }, detail: 'The access token is not valid.' },
    { name: 'a token without sid', token: () => forge({ claims: { sid: undefined } }), detail: 'The access token is not valid.' },
    { name: 'a session that does not exist', token: () => forge({ claims: { sid: '00000000-0000-7000-8000-000000000000' } }), detail: 'The session of this access token has ended.' },
  ])('refuses $name', async ({ token, detail }) => {
    const response = await me(t.app, await token())
    expectInvalidToken(response)
    expect(expectProblem(response, 401, '/v1/accounts/me', 'unauthorized').detail).toBe(detail)
  })

  it('a forged token on a GPT data route is 401 invalid_token, not a 403', async () => {
    const forged = `${valid.slice(0, -6)}${valid.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`
    const response = await t.app.inject({ url: '/v1/gpts/any-gpt/collections', headers: { authorization: `Bearer ${forged}` } })
    expectInvalidToken(response)
  })

  it('an access token does not reach GPT data routes (403)', async () => {
    await t.services.gpts.createGpt({ id: 'login-gpt', name: 'Login' }, account.id)
    const response = await t.app.inject({ url: '/v1/gpts/login-gpt/collections', headers: { authorization: `Bearer ${valid}` } })
    expect(expectProblem(response, 403, '/v1/gpts/login-gpt/collections', 'forbidden').detail).toMatch(/GPT's keys/)
  })
})

describe('GET /.well-known/jwks.json', () => {
  it('is public and holds only public EC P-256 keys', async () => {
    const response = await t.app.inject({ url: '/.well-known/jwks.json' })
    expect(response.statusCode).toBe(200)
    const { keys } = response.json<{ keys: JWK[] }>()
    expect(keys.length).toBeGreaterThanOrEqual(1)
    for (const key of keys) {
      expect(key).toEqual({ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: expect.any(String), alg: 'ES256', use: 'sig' })
    }
  })

  it('is the same key for every process over one database', async () => {
    const second = await createTestApp({ db: t.db })
    try {
      const [a, b] = await Promise.all([t.app.inject({ url: '/.well-known/jwks.json' }), second.app.inject({ url: '/.well-known/jwks.json' })])
      expect(b.json()).toEqual(a.json())
      // And a token of one process is good in the other.
      const tokens = await login(second.app, account)
      expect((await me(t.app, tokens.access_token)).statusCode).toBe(200)
    } finally {
      await second.close()
    }
  })
})
