import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { login, PASSWORD, signup, type TestAccount } from './helpers/accounts.js'
import { consoleCall, consoleSignIn, type ConsoleLogin } from './helpers/console.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

// The console reaches the API through /admin/api/v1/..., with the API's own rules: what a signed-in
// principal may do there is exactly what its credential may do on /v1.
describe('the admin console calls the API as its principal', () => {
  let t: TestApp
  let alice: TestAccount
  let bob: TestAccount
  let aliceConsole: ConsoleLogin
  let operator: ConsoleLogin
  let aliceAccess: string

  beforeAll(async () => {
    t = await createTestApp()
    ;[alice, bob] = [await signup(t.app), await signup(t.app)]
    for (const [account, id] of [[alice, 'alice-gpt'], [bob, 'bob-gpt']] as const) {
      const created = await injectJson(t.app, 'POST', '/v1/gpts', bearer(account.key), { id, name: id })
      expect(created.statusCode, created.body).toBe(201)
    }
    await createGptWithKey(t.services, 'operator-gpt', ['read'])
    aliceConsole = await consoleSignIn(t.app, { email: alice.email, password: PASSWORD })
    operator = await consoleSignIn(t.app, { admin_token: t.adminToken })
    aliceAccess = (await login(t.app, alice)).access_token
  })
  afterAll(async () => t?.close())

  const ids = (body: { gpts: { id: string }[] }) => body.gpts.map((gpt) => gpt.id).sort()

  it('shows an account its own GPTs only, and the operator every GPT', async () => {
    const own = await consoleCall(t.app, aliceConsole, 'GET', '/admin/api/v1/gpts')
    expect(own.statusCode, own.body).toBe(200)
    expect(ids(own.json())).toEqual(['alice-gpt'])
    const all = await consoleCall(t.app, operator, 'GET', '/admin/api/v1/admin/gpts')
    expect(all.statusCode, all.body).toBe(200)
    expect(ids(all.json())).toEqual(['alice-gpt', 'bob-gpt', 'operator-gpt'])
  })

  it.each([
    ['another account\'s GPT keys', 'GET', '/admin/api/v1/gpts/bob-gpt/keys', 404],
    ['a key for another account\'s GPT', 'POST', '/admin/api/v1/gpts/bob-gpt/keys', 404],
    ['the operator\'s API', 'GET', '/admin/api/v1/admin/gpts', 401],
    ['a GPT\'s data without naming the GPT (Agentstore-GPT)', 'GET', '/admin/api/v1/gpts/alice-gpt/collections', 403],
  ] as const)('refuses an account %s as the API does', async (_name, method, url, status) => {
    const response = await consoleCall(t.app, aliceConsole, method, url, method === 'POST' ? {} : undefined)
    expect(response.statusCode, response.body).toBe(status)
    expect(response.headers['content-type']).toBe('application/problem+json')
    // The same request with an access token of the account's own login gets the same answer.
    const direct = await injectJson(t.app, method, url.replace('/admin/api', ''), bearer(aliceAccess), method === 'POST' ? {} : undefined)
    expect(direct.statusCode).toBe(status)
  })

  it('refuses the operator a GPT\'s data without naming the GPT: the admin token is not a GPT key', async () => {
    const response = await consoleCall(t.app, operator, 'GET', '/admin/api/v1/gpts/operator-gpt/collections')
    expect(response.statusCode).toBe(401)
  })

  it.each([
    ['an account, its own GPT', () => aliceConsole, 'alice-gpt', 200],
    ['the operator, any GPT', () => operator, 'bob-gpt', 200],
    ['an account, another account\'s GPT', () => aliceConsole, 'bob-gpt', 404],
  ] as const)('reaches GPT data with the Agentstore-GPT header: %s', async (_name, who, gpt, status) => {
    const response = await consoleCall(t.app, who(), 'GET', `/admin/api/v1/gpts/${gpt}/collections`, undefined, { 'agentstore-gpt': gpt })
    expect(response.statusCode, response.body).toBe(status)
  })

  it('creates a key (its secret once), lists it without the secret, revokes it', async () => {
    const created = await consoleCall(t.app, aliceConsole, 'POST', '/admin/api/v1/gpts/alice-gpt/keys', { name: 'console', scopes: ['read'] })
    expect(created.statusCode, created.body).toBe(201)
    expect(created.headers['cache-control']).toBe('no-store')
    const key = created.json<{ id: string; key: string }>()
    expect((await t.app.inject({ url: '/v1/me', headers: bearer(key.key) })).statusCode).toBe(200)
    const listed = await consoleCall(t.app, aliceConsole, 'GET', '/admin/api/v1/gpts/alice-gpt/keys')
    expect(listed.body).not.toContain(key.key)
    expect(listed.json<{ keys: { id: string }[] }>().keys.map((k) => k.id)).toContain(key.id)
    const revoked = await consoleCall(t.app, aliceConsole, 'DELETE', `/admin/api/v1/keys/${key.id}`)
    expect(revoked.statusCode).toBe(204)
    expect((await t.app.inject({ url: '/v1/me', headers: bearer(key.key) })).statusCode).toBe(401)
  })

  it.each([
    ['without its CSRF token', { 'x-csrf-token': '' }, 403],
    ['with another session\'s CSRF token', () => ({ 'x-csrf-token': operator.csrf }), 403],
    ['from another origin', { origin: 'https://evil.example' }, 403],
  ])('refuses a write %s before the API sees it', async (_name, headers, status) => {
    const given = typeof headers === 'function' ? headers() : headers
    const response = await consoleCall(t.app, aliceConsole, 'POST', '/admin/api/v1/gpts/alice-gpt/keys', { name: 'forged' }, given)
    expect(response.statusCode).toBe(status)
    const listed = await consoleCall(t.app, aliceConsole, 'GET', '/admin/api/v1/gpts/alice-gpt/keys')
    expect(listed.body).not.toContain('forged')
  })

  it('refuses a path with dot segments sent as they are over a socket (it never leaves /v1)', async () => {
    // light-my-request resolves dot segments itself; a raw HTTP request does not.
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = new URL(address)
    for (const path of ['/admin/api/v1/../oauth/introspect', '/admin/api/v1/%2e%2e/admin/gpts', '/admin/api/v1/./gpts']) {
      const status = await new Promise<number>((resolve, reject) => {
        const sent = request({ host: '127.0.0.1', port, path, headers: { cookie: operator.cookie } }, (response) => {
          response.resume()
          resolve(response.statusCode ?? 0)
        })
        sent.on('error', reject)
        sent.end()
      })
      expect(status, path).toBe(400)
    }
  })

  it('answers 401 without a session and never takes a bearer token instead', async () => {
    const response = await t.app.inject({ url: '/admin/api/v1/gpts', headers: bearer(alice.key) })
    expect(response.statusCode).toBe(401)
  })

  it('passes the API\'s validation errors through unchanged', async () => {
    const response = await consoleCall(t.app, operator, 'POST', '/admin/api/v1/admin/gpts/operator-gpt/keys', { scopes: ['root'] })
    expect(response.statusCode).toBe(422)
    expect(response.json()).toMatchObject({ status: 422, errors: expect.any(Array) })
  })

  it('serves the console page under a strict Content-Security-Policy, and only its own assets', async () => {
    const page = await t.app.inject({ url: '/admin' })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    const csp = String(page.headers['content-security-policy'])
    expect(csp).toContain("script-src 'self';")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain('unsafe')
    expect(page.body).not.toMatch(/<script>|style=/)
    const script = await t.app.inject({ url: '/admin/assets/app.js' })
    expect([script.statusCode, script.headers['content-type']]).toEqual([200, 'text/javascript; charset=utf-8'])
    for (const url of ['/admin/assets/index.html', '/admin/assets/..%2Fpackage.json', '/admin/assets/app.js.map']) {
      expect((await t.app.inject({ url })).statusCode, url).toBe(404)
    }
  })
})
