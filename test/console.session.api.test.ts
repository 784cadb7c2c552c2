import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PASSWORD, signup, type TestAccount } from './helpers/accounts.js'
import { consoleCall, consoleCookie, consoleSignIn } from './helpers/console.js'
import { bearer, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

// The console's sign-in, session and sign-out (docs/admin.md), for both kinds of principal.
describe('admin console sessions', () => {
  let t: TestApp
  let owner: TestAccount

  beforeAll(async () => {
    t = await createTestApp()
    owner = await signup(t.app)
  })
  afterAll(async () => t?.close())

  const signIn = (body: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/admin/api/session', headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) })

  it('signs the operator in with ADMIN_TOKEN: a strict, HttpOnly cookie under /admin and a CSRF token', async () => {
    const response = await signIn({ admin_token: t.adminToken })
    expect(response.statusCode, response.body).toBe(201)
    expect(response.headers['cache-control']).toBe('no-store')
    const { line, pair } = consoleCookie(response)
    expect(line).toMatch(/; Path=\/admin; Max-Age=28800; HttpOnly; SameSite=Strict$/)
    const body = response.json()
    expect(body).toMatchObject({ kind: 'operator', account_id: null })
    expect(body.csrf_token).toMatch(/^[\w-]{43}$/)
    // Only the SHA-256 of the cookie token is stored.
    const token = pair.split('=')[1]!
    const stored = await sql<{ n: number }>`SELECT count(*)::int AS n FROM console_sessions WHERE token_hash = sha256(convert_to(${token}, 'UTF8'))`.execute(t.db.database.db)
    expect(stored.rows[0]!.n).toBe(1)
  })

  it('signs an account in with its email and password', async () => {
    const login = await consoleSignIn(t.app, { email: owner.email, password: PASSWORD })
    expect(login).toMatchObject({ kind: 'account', accountId: owner.id })
    const session = await consoleCall(t.app, login, 'GET', '/admin/api/session')
    expect(session.statusCode).toBe(200)
    expect(session.json()).toMatchObject({ kind: 'account', account_id: owner.id, csrf_token: login.csrf })
  })

  it.each([
    ['a wrong admin token', { admin_token: 'x'.repeat(48) }, {}, 401],
    ['a wrong password', { email: 'nobody@example.com', password: 'Wrong-Password1' }, {}, 401],
    ['an unknown email', { email: 'unknown@example.com', password: PASSWORD }, {}, 401],
    ['an empty object', {}, {}, 422],
    ['both kinds at once', { email: 'a@example.com', password: PASSWORD, admin_token: 'x' }, {}, 422],
    ['an unknown member', { admin_token: 'x', remember: true }, {}, 422],
    ['an empty admin token', { admin_token: '' }, {}, 422],
    ['a page of another origin', { admin_token: 'x' }, { origin: 'https://evil.example' }, 403],
  ])('refuses a sign-in with %s (%#)', async (_name, body, headers, status) => {
    const response = await signIn(body, headers)
    expect(response.statusCode, response.body).toBe(status)
    expect(response.headers['content-type']).toBe('application/problem+json')
    expect(response.headers['set-cookie']).toBeUndefined()
  })

  it('audits the operator\'s sign-ins, refused ones too (an account\'s is its login)', async () => {
    const since = new Date(Date.now() - 1000)
    expect((await signIn({ admin_token: 'y'.repeat(48) }, { 'user-agent': 'audit-probe' })).statusCode).toBe(401)
    expect((await signIn({ admin_token: t.adminToken }, { 'user-agent': 'audit-probe' })).statusCode).toBe(201)
    await t.services.auditWriter!.flush()
    const rows = await sql<{ action: string; status: number; principal_kind: string }>`
      SELECT action, status, principal_kind FROM audit_log
      WHERE user_agent = 'audit-probe' AND created_at >= ${since} ORDER BY created_at, id`.execute(t.db.database.db)
    expect(rows.rows).toEqual([
      { action: 'console.signIn', status: 401, principal_kind: 'anonymous' },
      { action: 'console.signIn', status: 201, principal_kind: 'admin' },
    ])
  })

  it('refuses a sign-in that is not JSON (415) or has no body (400)', async () => {
    const form = await t.app.inject({ method: 'POST', url: '/admin/api/session', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'admin_token=x' })
    expect(form.statusCode).toBe(415)
    const empty = await t.app.inject({ method: 'POST', url: '/admin/api/session' })
    expect(empty.statusCode).toBe(400)
  })

  it.each([
    ['no cookie', ''],
    ['an unknown token', 'agentstore_console=not-a-session'],
    ['an empty cookie', 'agentstore_console='],
  ])('answers 401 to GET /admin/api/session with %s', async (_name, cookie) => {
    const response = await t.app.inject({ url: '/admin/api/session', headers: cookie ? { cookie } : {} })
    expect(response.statusCode).toBe(401)
    expect(response.headers['content-type']).toBe('application/problem+json')
  })

  it('ends a session when it expires', async () => {
    const login = await consoleSignIn(t.app, { admin_token: t.adminToken })
    await sql`UPDATE console_sessions SET expires_at = now() - interval '1 second' WHERE csrf_token = ${login.csrf}`.execute(t.db.database.db)
    expect((await consoleCall(t.app, login, 'GET', '/admin/api/session')).statusCode).toBe(401)
    expect((await consoleCall(t.app, login, 'GET', '/admin/api/v1/admin/gpts')).statusCode).toBe(401)
  })

  it.each([
    ['no CSRF token', { 'x-csrf-token': '' }, 403],
    ['a wrong CSRF token', { 'x-csrf-token': 'x'.repeat(43) }, 403],
    ['another origin', { origin: 'https://evil.example' }, 403],
  ])('refuses a sign-out with %s', async (_name, headers, status) => {
    const login = await consoleSignIn(t.app, { admin_token: t.adminToken })
    const response = await consoleCall(t.app, login, 'DELETE', '/admin/api/session', undefined, headers)
    expect(response.statusCode).toBe(status)
    expect((await consoleCall(t.app, login, 'GET', '/admin/api/session')).statusCode).toBe(200)
  })

  it('refuses a sign-out without a session (401)', async () => {
    const response = await t.app.inject({ method: 'DELETE', url: '/admin/api/session', headers: { 'x-csrf-token': 'x' } })
    expect(response.statusCode).toBe(401)
  })

  it('signs out: the cookie is cleared, the session and the account login behind it end', async () => {
    const login = await consoleSignIn(t.app, { email: owner.email, password: PASSWORD })
    const { rows } = await sql<{ account_session_id: string }>`SELECT account_session_id FROM console_sessions WHERE csrf_token = ${login.csrf}`.execute(t.db.database.db)
    const out = await consoleCall(t.app, login, 'DELETE', '/admin/api/session', undefined, { origin: 'http://agentstore.test' })
    expect(out.statusCode).toBe(204)
    expect(consoleCookie(out).line).toMatch(/^agentstore_console=; Path=\/admin; Max-Age=0; HttpOnly; SameSite=Strict$/)
    expect((await consoleCall(t.app, login, 'GET', '/admin/api/session')).statusCode).toBe(401)
    expect((await consoleCall(t.app, login, 'GET', '/admin/api/v1/gpts')).statusCode).toBe(401)
    const ended = await sql<{ revoked: boolean }>`SELECT revoked_at IS NOT NULL AS revoked FROM account_sessions WHERE id = ${rows[0]!.account_session_id}`.execute(t.db.database.db)
    expect(ended.rows[0]!.revoked).toBe(true)
  })

  it('ends an account\'s console session when a new password ends its login sessions', async () => {
    const account = await signup(t.app)
    const login = await consoleSignIn(t.app, { email: account.email, password: PASSWORD })
    const changed = await injectJson(t.app, 'PATCH', '/v1/accounts/me', bearer(account.key), { password: 'Another-Secret2', current_password: PASSWORD })
    expect(changed.statusCode, changed.body).toBe(200)
    expect((await consoleCall(t.app, login, 'GET', '/admin/api/session')).statusCode).toBe(401)
    expect((await consoleCall(t.app, login, 'GET', '/admin/api/v1/gpts')).statusCode).toBe(401)
  })

  it('refuses the operator once ADMIN_TOKEN is unset, and sets Secure cookies under https', async () => {
    const other = await createTestApp({ db: t.db, env: { ADMIN_TOKEN: '', PUBLIC_URL: 'https://store.example' } })
    try {
      const operator = await injectJson(other.app, 'POST', '/admin/api/session', {}, { admin_token: t.adminToken })
      expect(operator.statusCode).toBe(401)
      const account = await injectJson(other.app, 'POST', '/admin/api/session', {}, { email: owner.email, password: PASSWORD })
      expect(account.statusCode).toBe(201)
      expect(consoleCookie(account).line).toMatch(/; HttpOnly; SameSite=Strict; Secure$/)
      // The account's key still works beside the console: the console takes nothing away from the API.
      expect((await other.app.inject({ url: '/v1/accounts/me', headers: bearer(owner.key) })).statusCode).toBe(200)
    } finally {
      await other.close()
    }
  })
})
