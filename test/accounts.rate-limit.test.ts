import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { email, login, me, PASSWORD, signup } from './helpers/accounts.js'
import { expectProblem } from './helpers/problem.js'
import { createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

let t: TestApp

beforeAll(async () => {
  t = await createTestApp({ env: { RATE_LIMITS: 'key:3/m,ip:6/m' } })
})

afterAll(async () => {
  await t.close()
})

describe('rate limits of accounts', () => {
  it('an account\'s key and its access tokens share one budget', async () => {
    const account = await signup(t.app)
    const { access_token } = await login(t.app, account)
    expect((await me(t.app, account.key)).statusCode).toBe(200)
    expect((await me(t.app, access_token)).statusCode).toBe(200)
    const third = await me(t.app, account.key)
    expect(third.statusCode).toBe(200)
    expect(third.headers['ratelimit-remaining']).toBe('0')
    const refused = await me(t.app, access_token)
    expectProblem(refused, 429, '/v1/accounts/me', 'rate-limited')
    expect(refused.headers['retry-after']).toBeDefined()
  })

  it.each([
    // Each login names another email, so that the per-email lockout does not answer first.
    { n: 1, path: '/v1/auth/login', body: () => ({ email: email('nobody'), password: PASSWORD }) },
    { n: 2, path: '/v1/auth/signup', body: () => ({ email: 'x', password: 'weak' }) },
    { n: 3, path: '/v1/auth/refresh', body: () => ({ refresh_token: 'unknown' }) },
  ])('$path spends the client IP\'s budget though it is public', async ({ n, path, body }) => {
    const send = () => t.app.inject({ method: 'POST', url: path, remoteAddress: `10.9.0.${n}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body()) })
    for (let i = 0; i < 6; i++) expect((await send()).statusCode).not.toBe(429)
    const refused = await send()
    expectProblem(refused, 429, path, 'rate-limited')
    expect(refused.headers['ratelimit-limit']).toBe('6')
  })

  it('the JWKS stays outside the IP budget', async () => {
    for (let i = 0; i < 8; i++) {
      const response = await t.app.inject({ url: '/.well-known/jwks.json', remoteAddress: '10.8.0.1' })
      expect(response.statusCode).toBe(200)
    }
    expect((await injectJson(t.app, 'GET', '/.well-known/jwks.json', {})).headers['ratelimit-limit']).toBeUndefined()
  })
})
