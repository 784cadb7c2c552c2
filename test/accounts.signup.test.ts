import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { email, me, PASSWORD, signup } from './helpers/accounts.js'
import { expectProblem } from './helpers/problem.js'
import { bearer, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

let t: TestApp

beforeAll(async () => {
  t = await createTestApp()
})

afterAll(async () => {
  await t.close()
})

const post = (body: unknown) => injectJson(t.app, 'POST', '/v1/auth/signup', {}, body)

describe('POST /v1/auth/signup', () => {
  it('creates the account and its first key, shown once and not cached', async () => {
    const address = email()
    const response = await post({ email: address, password: PASSWORD })
    expect(response.statusCode).toBe(201)
    expect(response.headers['cache-control']).toBe('no-store')
    expect(response.headers.location).toBe('/v1/accounts/me')
    const body = response.json()
    expect(body).toEqual({
      account: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), email: address, created_at: expect.any(String), updated_at: expect.any(String), deleted_at: null },
      key: expect.stringMatching(/^ak_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/),
    })
    // The key is the account's credential.
    const read = await me(t.app, body.key)
    expect(read.statusCode).toBe(200)
    expect(read.json()).toEqual(body.account)
  })

  it('stores the key as SHA-256 and the password as argon2id, never as given', async () => {
    const account = await signup(t.app)
    const { rows } = await t.db.database.pool.query('select a.password_hash, k.secret_hash from accounts a join account_keys k on k.account_id = a.id where a.id = $1', [account.id])
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$/)
    expect((rows[0].secret_hash as Buffer).length).toBe(32)
    expect(JSON.stringify(rows)).not.toContain(account.key.slice(36))
  })

  it.each([
    ['the same case', (address: string) => address],
    ['another case', (address: string) => address.toUpperCase()],
  ])('refuses an email that is taken, in %s (409)', async (_name, variant) => {
    const account = await signup(t.app)
    const response = await post({ email: variant(account.email), password: PASSWORD })
    const problem = expectProblem(response, 409, '/v1/auth/signup', 'conflict')
    expect(problem.detail).toBe('An account with this email already exists.')
  })

  it('names each broken password rule in the 422', async () => {
    const response = await post({ email: email(), password: 'abc def' })
    const problem = expectProblem(response, 422, '/v1/auth/signup', 'validation-failed')
    expect(problem.errors).toEqual([
      { pointer: '/password', message: 'must be at least 10 characters long' },
      { pointer: '/password', message: 'must contain an uppercase letter' },
      { pointer: '/password', message: 'must contain a digit' },
      { pointer: '/password', message: 'must contain a special character (neither a letter, a digit nor a space)' },
      { pointer: '/password', message: 'must not contain whitespace' },
    ])
  })

  it.each([
    { name: 'no email', body: { password: PASSWORD }, pointer: '/email' },
    { name: 'not an email', body: { email: 'nope', password: PASSWORD }, pointer: '/email' },
    { name: 'an unknown member', body: { email: 'x@example.com', password: PASSWORD, admin: true }, pointer: '/admin' },
    { name: 'a password of another type', body: { email: 'x@example.com', password: 1234567890 }, pointer: '/password' },
    { name: 'an overlong password', body: { email: 'x@example.com', password: `Aa1!${'x'.repeat(1100)}` }, pointer: '/password' },
  ])('rejects $name (422)', async ({ body, pointer }) => {
    const problem = expectProblem(await post(body), 422, '/v1/auth/signup', 'validation-failed')
    expect(problem.errors?.map((error) => error.pointer)).toContain(pointer)
  })
})

describe('SIGNUP=closed', () => {
  let closed: TestApp

  beforeAll(async () => {
    closed = await createTestApp({ env: { SIGNUP: 'closed' } })
  })

  afterAll(async () => {
    await closed.close()
  })

  it('refuses signup with 403, and the operator still creates accounts', async () => {
    const response = await injectJson(closed.app, 'POST', '/v1/auth/signup', {}, { email: email(), password: PASSWORD })
    const problem = expectProblem(response, 403, '/v1/auth/signup', 'forbidden')
    expect(problem.detail).toBe('Signup is closed: the operator creates accounts.')
    const made = await closed.services.accounts.signup({ email: email('operator-made'), password: PASSWORD }, true)
    expect((await me(closed.app, made.key)).statusCode).toBe(200)
  })
})

describe('account credentials', () => {
  it.each([
    { name: 'no credential', headers: {}, detail: /Bearer/ },
    { name: 'a GPT key', headers: 'gpt-key', detail: /account key or access token/ },
    { name: 'an unknown key id', headers: bearer(`ak_${'0'.repeat(32)}_${'A'.repeat(43)}`), detail: /account key or access token/ },
    { name: 'garbage', headers: bearer('nope'), detail: /account key or access token/ },
  ])('/v1/accounts/me refuses $name (401)', async ({ headers, detail }) => {
    let sent = headers as Record<string, string>
    if (headers === 'gpt-key') {
      await t.services.gpts.createGpt({ id: 'plain-gpt', name: 'Plain' }).catch(() => {})
      sent = bearer((await t.services.keys.createKey('plain-gpt', { scopes: ['read', 'write', 'admin'] })).key)
    }
    const response = await t.app.inject({ url: '/v1/accounts/me', headers: sent })
    const problem = expectProblem(response, 401, '/v1/accounts/me', 'unauthorized')
    expect(problem.detail).toMatch(detail)
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/)
  })

  it('refuses an account key with a wrong secret (401)', async () => {
    const account = await signup(t.app)
    const wrong = account.key.slice(0, -4) + (account.key.endsWith('AAAA') ? 'BBBB' : 'AAAA')
    const problem = expectProblem(await me(t.app, wrong), 401, '/v1/accounts/me', 'unauthorized')
    expect(problem.detail).toBe('The account key is not valid.')
  })

  it('an account key does not reach GPT data routes (401 as an unknown API key)', async () => {
    const account = await signup(t.app)
    const response = await t.app.inject({ url: '/v1/me', headers: bearer(account.key) })
    expect(expectProblem(response, 401, '/v1/me').detail).toBe('The API key is not valid.')
  })
})
