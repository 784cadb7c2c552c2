import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { email, expectInvalidToken, login, me, PASSWORD, signup } from './helpers/accounts.js'
import { expectProblem } from './helpers/problem.js'
import { bearer, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

let t: TestApp

beforeAll(async () => {
  t = await createTestApp()
})

afterAll(async () => {
  await t.close()
})

const patch = (token: string, body: unknown) => injectJson(t.app, 'PATCH', '/v1/accounts/me', bearer(token), body)

describe('PATCH /v1/accounts/me: exactly one of email or password', () => {
  const NEW = 'Brand-New-Pass2'
  it.each([
    { name: 'neither', body: {}, pointers: ['/email', '/password'] },
    { name: 'only current_password', body: { current_password: PASSWORD }, pointers: ['/email', '/password'] },
    { name: 'both', body: { email: 'both@example.com', password: NEW, current_password: PASSWORD }, pointers: ['/email', '/password'] },
    { name: 'a password without current_password', body: { password: NEW }, pointers: ['/current_password'] },
    { name: 'a password that breaks the policy', body: { password: 'short', current_password: PASSWORD }, pointers: ['/password', '/password', '/password', '/password'] },
    { name: 'an email that is not one', body: { email: 'nope' }, pointers: ['/email'] },
  ])('$name → 422', async ({ body, pointers }) => {
    const account = await signup(t.app)
    const problem = expectProblem(await patch(account.key, body), 422, '/v1/accounts/me', 'validation-failed')
    expect(problem.errors?.map((error) => error.pointer)).toEqual(pointers)
  })

  it('changes the email; a taken one (in any case) is 409', async () => {
    const [account, other] = [await signup(t.app), await signup(t.app)]
    const address = email('renamed')
    const response = await patch(account.key, { email: address })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json()).toMatchObject({ id: account.id, email: address })
    expect((await me(t.app, account.key)).json().email).toBe(address)
    expectProblem(await patch(account.key, { email: other.email.toUpperCase() }), 409, '/v1/accounts/me', 'conflict')
    await login(t.app, { email: address, password: PASSWORD })
  })

  it('refuses a wrong current_password (403) and keeps the old password', async () => {
    const account = await signup(t.app)
    const problem = expectProblem(await patch(account.key, { password: NEW, current_password: 'Wrong-Horse1' }), 403, '/v1/accounts/me', 'forbidden')
    expect(problem.detail).toBe('current_password is not the password of this account.')
    await login(t.app, account)
  })

  it('a new password ends every other session at once; the calling one goes on', async () => {
    const account = await signup(t.app)
    const [mine, other] = [await login(t.app, account), await login(t.app, account)]
    expect((await me(t.app, other.access_token)).statusCode).toBe(200)
    const response = await patch(mine.access_token, { password: NEW, current_password: PASSWORD })
    expect(response.statusCode, response.body).toBe(200)
    // The other session's access token is refused at once, though it has not expired.
    const refused = await me(t.app, other.access_token)
    expectInvalidToken(refused)
    expect(refused.json().detail).toBe('The session of this access token has ended.')
    expectProblem(await injectJson(t.app, 'POST', '/v1/auth/refresh', {}, { refresh_token: other.refresh_token }), 401, '/v1/auth/refresh')
    expect((await me(t.app, mine.access_token)).statusCode).toBe(200)
    // The account key is no session: it still works; the old password does not.
    expect((await me(t.app, account.key)).statusCode).toBe(200)
    expectProblem(await injectJson(t.app, 'POST', '/v1/auth/login', {}, { email: account.email, password: PASSWORD }), 401, '/v1/auth/login')
    await login(t.app, { email: account.email, password: NEW })
  })

  it('changed with the account key, it ends every session', async () => {
    const account = await signup(t.app)
    const session = await login(t.app, account)
    expect((await patch(account.key, { password: NEW, current_password: PASSWORD })).statusCode).toBe(200)
    expectInvalidToken(await me(t.app, session.access_token))
  })
})

describe('POST /v1/accounts/me/keys/rotate', () => {
  it('answers a new key, not cached; the old one stops at once', async () => {
    const account = await signup(t.app)
    expect((await me(t.app, account.key)).statusCode).toBe(200)
    const response = await t.app.inject({ method: 'POST', url: '/v1/accounts/me/keys/rotate', headers: bearer(account.key) })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['cache-control']).toBe('no-store')
    const { key } = response.json<{ key: string }>()
    expect(key).toMatch(/^ak_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/)
    expect(key).not.toBe(account.key)
    expect(expectProblem(await me(t.app, account.key), 401, '/v1/accounts/me').detail).toBe('The account key is not valid.')
    expect((await me(t.app, key)).json().id).toBe(account.id)
  })

  it('the old key stops at once in another process too', async () => {
    const { PostgresEventBus } = await import('../src/platform/events/postgres.bus.js')
    const { LocalEventBus } = await import('../src/platform/events/event-bus.js')
    const shared = new LocalEventBus()
    const busFor = () => (t.db.url ? new PostgresEventBus(t.db.url, t.db.database.pool, { warn: () => {} }) : shared)
    const [busA, busB] = [busFor(), busFor()]
    const a = await createTestApp({ db: t.db, events: busA, env: { KEY_CACHE_TTL_MS: '60000' } })
    const b = await createTestApp({ db: t.db, events: busB, env: { KEY_CACHE_TTL_MS: '60000' } })
    try {
      if (busA instanceof PostgresEventBus && busB instanceof PostgresEventBus) await Promise.all([busA.ready(5000), busB.ready(5000)])
      const account = await signup(a.app)
      const session = await login(a.app, account)
      // Both processes have the key and the session cached now.
      for (const app of [a.app, b.app]) {
        expect((await me(app, account.key)).statusCode).toBe(200)
        expect((await me(app, session.access_token)).statusCode).toBe(200)
      }
      expect((await b.app.inject({ method: 'POST', url: '/v1/accounts/me/keys/rotate', headers: bearer(account.key) })).statusCode).toBe(200)
      expect((await me(b.app, account.key)).statusCode).toBe(401)
      let status = 200
      for (let attempt = 0; attempt < 40 && status === 200; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 25))
        status = (await me(a.app, account.key)).statusCode
      }
      expect(status).toBe(401)
      // A session ended in one process (account deleted) is refused by the other as well.
      expect((await injectJson(b.app, 'DELETE', '/v1/accounts/me', bearer(session.access_token))).statusCode).toBe(204)
      status = 200
      for (let attempt = 0; attempt < 40 && status === 200; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 25))
        status = (await me(a.app, session.access_token)).statusCode
      }
      expect(status).toBe(401)
    } finally {
      await a.close()
      await b.close()
      if (busA !== shared) await busA.close()
      if (busB !== shared) await busB.close()
    }
  })
})
