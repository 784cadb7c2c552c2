import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { answerConsent, authorizationCode, basicOf, connectEndUser, openConsent, pkce, postForm, redirectParams, registerApp, type TestOAuthApp } from './helpers/oauth.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

let t: TestApp
let client: TestOAuthApp
let doomed: TestOAuthApp
const secrets: string[] = []
const user = { email: 'audit-user@example.com', password: 'Audit-Pass123!' }
const WRONG = 'Wrong-Audit-Pass1!'
const WEAK = 'weakpassword'

interface Row {
  gpt_id: string | null
  action: string
  status: number
  principal_kind: string
  principal_id: string | null
  targets: Record<string, string>
}

/** Every OAuth event once, keeping each secret it used. */
beforeAll(async () => {
  t = await createTestApp()
  const { token } = await createGptWithKey(t.services, 'audit-oauth', ['read', 'write', 'admin'])
  client = await registerApp(t.app, 'audit-oauth', token)
  doomed = await registerApp(t.app, 'audit-oauth', token)
  secrets.push(client.client_secret!, doomed.client_secret!, user.password, WRONG, WEAK)

  const first = await connectEndUser(t.app, client, user)
  const refreshed = (await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token }, basicOf(client))).json<{ access_token: string; refresh_token: string }>()
  expect((await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token }, basicOf(client))).statusCode).toBe(400)
  secrets.push(first.access_token, first.refresh_token, refreshed.access_token, refreshed.refresh_token)

  const code = await authorizationCode(t.app, client, user, {})
  const exchanged = (await postForm(t.app, '/oauth/token', { grant_type: 'authorization_code', code }, basicOf(client))).json<{ access_token: string; refresh_token: string }>()
  expect((await postForm(t.app, '/oauth/token', { grant_type: 'authorization_code', code }, basicOf(client))).statusCode).toBe(400)
  secrets.push(code, exchanged.access_token, exchanged.refresh_token)

  const third = await connectEndUser(t.app, client, user, 'signin')
  expect((await postForm(t.app, '/oauth/revoke', { token: third.access_token }, basicOf(client))).statusCode).toBe(200)
  const grantId = JSON.parse(Buffer.from(third.access_token.split('.')[1]!, 'base64url').toString('utf8')).sid as string
  expect((await injectJson(t.app, 'DELETE', `/v1/apps/${client.id}/grants/${grantId}`, bearer(token))).statusCode).toBe(204)
  const cc = (await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, basicOf(client))).json<{ access_token: string }>()
  secrets.push(third.access_token, third.refresh_token, cc.access_token)

  const form = await openConsent(t.app, { response_type: 'code', client_id: client.client_id, code_challenge: pkce().challenge, code_challenge_method: 'S256' })
  secrets.push(form.csrf)
  expect((await answerConsent(t.app, form, { decision: 'signin', email: user.email, password: WRONG })).statusCode).toBe(401)
  expect((await answerConsent(t.app, form, { decision: 'signup', email: 'weak@example.com', password: WEAK })).statusCode).toBe(422)
  expect(redirectParams(await answerConsent(t.app, form, { decision: 'deny' })).get('error')).toBe('access_denied')
  expect((await injectJson(t.app, 'DELETE', `/v1/apps/${doomed.id}`, bearer(token))).statusCode).toBe(204)
  await t.services.auditWriter!.flush()
}, 120_000)

afterAll(async () => {
  await t?.close()
})

const rows = async () => (await t.db.database.db.selectFrom('audit_log').selectAll().execute()) as unknown as (Row & Record<string, unknown>)[]

describe('every event of the OAuth server is audited', () => {
  it.each([
    ['app.created', 201, 'key'],
    ['app.deleted', 204, 'key'],
    ['consent.approved', 302, 'end_user'],
    ['consent.denied', 302, 'anonymous'],
    ['token.issued', 200, 'app'],
    ['token.refreshed', 200, 'app'],
    ['token.revoked', 200, 'app'],
    ['refreshToken.reused', 400, 'app'],
    ['code.reused', 400, 'app'],
    ['grant.revoked', 204, 'key'],
    ['endUser.signin', 401, 'anonymous'],
    ['endUser.signup', 422, 'anonymous'],
  ])('%s (%i, by %s)', async (action, status, kind) => {
    const found = (await rows()).filter((row) => row.action === action)
    expect(found.length, JSON.stringify((await rows()).map((row) => row.action))).toBeGreaterThan(0)
    expect(found[0]).toMatchObject({ gpt_id: 'audit-oauth', status, principal_kind: kind })
  })

  it('names the app in every app event', async () => {
    for (const row of (await rows()).filter((entry) => /^(app|token|refreshToken|code|grant|consent)\./.test(entry.action))) {
      expect(row.targets.app_id, row.action).toMatch(/^[0-9a-f-]{36}$/)
    }
  })
})

describe('no secret in any row', () => {
  it('holds none of the passwords, client secrets, codes, CSRF tokens, refresh or access tokens used', async () => {
    const all = await rows()
    expect(all.length).toBeGreaterThan(15)
    const text = JSON.stringify(all)
    expect(secrets.length).toBeGreaterThan(15)
    for (const secret of secrets) expect(text.includes(secret), secret.slice(0, 8)).toBe(false)
    // An access token's signature alone is as good as the token to whoever holds the rest of it.
    for (const secret of secrets.filter((value) => value.split('.').length === 3)) expect(text.includes(secret.split('.')[2]!)).toBe(false)
  })
})
