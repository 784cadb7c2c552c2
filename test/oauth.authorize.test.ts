import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_LOGIN_THROTTLE } from '../src/modules/accounts/login-throttle.js'
import { answerConsent, openConsent, pkce, redirectParams, registerApp, REDIRECT, type TestOAuthApp } from './helpers/oauth.js'
import { createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

let t: TestApp
let confidential: TestOAuthApp
let publicApp: TestOAuthApp
let twoUris: TestOAuthApp
let readOnly: TestOAuthApp
let adminOnly: TestOAuthApp
const SECOND = 'https://other.example.com/cb'
const { challenge } = pkce()

beforeAll(async () => {
  // A lock that outlasts the test: the throttling case must not depend on how fast the machine is.
  t = await createTestApp({ loginThrottle: { ...DEFAULT_LOGIN_THROTTLE, emailThreshold: 3, baseLockMs: 600_000 } })
  const { token } = await createGptWithKey(t.services, 'authz-gpt', ['read', 'write', 'admin'])
  confidential = await registerApp(t.app, 'authz-gpt', token, { name: '<b>Evil & Co</b>', scopes: ['read', 'write', 'admin'] })
  publicApp = await registerApp(t.app, 'authz-gpt', token, { type: 'public' })
  twoUris = await registerApp(t.app, 'authz-gpt', token, { redirect_uris: [REDIRECT, SECOND] })
  readOnly = await registerApp(t.app, 'authz-gpt', token, { scopes: ['read'] })
  adminOnly = await registerApp(t.app, 'authz-gpt', token, { scopes: ['admin'] })
})

afterAll(async () => {
  await t?.close()
})

const authorize = (query: string) => t.app.inject({ url: `/oauth/authorize?${query}` })
const query = (params: Record<string, string>) => new URLSearchParams(params).toString()
const base = () => ({ response_type: 'code', client_id: confidential.client_id, redirect_uri: REDIRECT, state: 's-1', code_challenge: challenge, code_challenge_method: 'S256' })

/** An error shown to the person, never sent to a redirect URI nobody vouched for. */
function expectShown(response: LightMyRequestResponse, status: number, text: RegExp): void {
  expect(response.statusCode, response.body).toBe(status)
  expect(response.headers.location).toBeUndefined()
  expect(response.headers['content-type']).toBe('text/html; charset=utf-8')
  expect(response.headers['cache-control']).toBe('no-store')
  expect(response.body).toMatch(text)
}

describe('errors shown on the page, never redirected (RFC 6749 §4.1.2.1)', () => {
  it.each([
    ['no client_id', () => query({ response_type: 'code', redirect_uri: REDIRECT }), /client_id is missing/],
    ['an empty client_id', () => query({ ...base(), client_id: '' }), /client_id is missing/],
    ['a repeated client_id', () => `${query(base())}&client_id=${confidential.client_id}`, /client_id is missing or repeated/],
    ['an unknown client_id', () => query({ ...base(), client_id: 'app_00000000000000000000000000000000' }), /No app has this client_id/],
    ['an unregistered redirect_uri', () => query({ ...base(), redirect_uri: 'https://attacker.example/cb' }), /not one this app registered/],
    ['a redirect_uri differing only by a trailing slash', () => query({ ...base(), redirect_uri: `${REDIRECT}/` }), /not one this app registered/],
    ['a repeated redirect_uri', () => `${query(base())}&redirect_uri=${encodeURIComponent(REDIRECT)}`, /redirect_uri is repeated/],
    ['no redirect_uri for an app with two', () => query({ response_type: 'code', client_id: twoUris.client_id }), /must name one/],
  ])('%s', async (_name, make, text) => {
    expectShown(await authorize(make()), 400, text)
  })

  it('without redirect_uri, an app with one registered URI is sent there', async () => {
    const { redirect_uri: _ignored, ...params } = base()
    const response = await authorize(query({ ...params, response_type: 'token' }))
    expect(String(response.headers.location).startsWith(`${REDIRECT}?`)).toBe(true)
  })
})

describe('errors redirected to the client with state and iss', () => {
  it.each([
    ['no response_type', { response_type: undefined }, 'invalid_request', () => confidential],
    ['response_type=token', { response_type: 'token' }, 'unsupported_response_type', () => confidential],
    ['the admin scope, never grantable to end users', { scope: 'read admin' }, 'invalid_scope', () => confidential],
    ['an unknown scope', { scope: 'read delete' }, 'invalid_scope', () => confidential],
    ['a scope the app may not ask for', { scope: 'write' }, 'invalid_scope', () => readOnly],
    ['an app with no end-user scope', {}, 'invalid_scope', () => adminOnly],
    ['a public app without PKCE', { code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request', () => publicApp],
    ['PKCE plain', { code_challenge_method: 'plain' }, 'invalid_request', () => confidential],
    ['a challenge without its method (plain, RFC 7636 §4.3)', { code_challenge_method: undefined }, 'invalid_request', () => confidential],
    ['a method without a challenge', { code_challenge: undefined }, 'invalid_request', () => confidential],
    ['a challenge too short', { code_challenge: challenge.slice(1) }, 'invalid_request', () => confidential],
    ['a challenge with padding', { code_challenge: `${challenge.slice(1)}=` }, 'invalid_request', () => confidential],
    ['a challenge that is not base64url', { code_challenge: `${challenge.slice(1)}+` }, 'invalid_request', () => confidential],
    ['an unknown resource', { resource: 'https://elsewhere.example/api' }, 'invalid_target', () => confidential],
    ['the issuer itself as resource', { resource: 'http://agentstore.test' }, 'invalid_target', () => confidential],
  ])('%s', async (_name, changes, error, client) => {
    const params: Record<string, string> = {}
    for (const [name, value] of Object.entries({ ...base(), client_id: client().client_id, ...changes })) if (value !== undefined) params[name] = value
    const answer = Object.fromEntries(redirectParams(await authorize(query(params))))
    expect(answer).toMatchObject({ error, state: 's-1', iss: 'http://agentstore.test', error_description: expect.any(String) })
    expect(answer).not.toHaveProperty('code')
  })

  it.each(['scope', 'response_type', 'code_challenge', 'resource'])('a repeated %s → invalid_request', async (name) => {
    const params = { ...base(), scope: 'read', resource: 'http://agentstore.test/v1' }
    const answer = Object.fromEntries(redirectParams(await authorize(`${query(params)}&${name}=${encodeURIComponent(params[name as keyof typeof params])}`)))
    expect(answer).toMatchObject({ error: 'invalid_request', state: 's-1', iss: 'http://agentstore.test' })
    expect(answer.error_description).toContain(name)
  })

  it('keeps the redirect URI\'s own query and adds no state when none was sent', async () => {
    const { state: _state, ...params } = base()
    const response = await authorize(query({ ...params, response_type: 'token' }))
    const answer = Object.fromEntries(redirectParams(response))
    expect(answer).toEqual({ error: 'unsupported_response_type', error_description: expect.any(String), iss: 'http://agentstore.test' })
  })
})

describe('the consent page', () => {
  it('escapes the app name, is not framable and loads nothing', async () => {
    const response = await authorize(query(base()))
    expect(response.statusCode).toBe(200)
    expect(response.body).toContain('&lt;b&gt;Evil &amp; Co&lt;/b&gt;')
    expect(response.body).not.toContain('<b>Evil')
    expect(response.body).not.toMatch(/<script|src=|href=/)
    expect(response.headers['x-frame-options']).toBe('DENY')
    expect(response.headers['content-security-policy']).toMatch(/default-src 'none'.*frame-ancestors 'none'/)
    const cookie = String(response.headers['set-cookie'])
    expect(cookie).toMatch(/^agentstore_consent_[0-9a-f-]{36}=[\w-]+; Path=\/oauth\/authorize; Max-Age=600; HttpOnly; SameSite=Lax$/)
  })
})

describe('CSRF and the life of a consent request', () => {
  const user = () => ({ decision: 'signup', email: `csrf-${Math.random().toString(36).slice(2)}@example.com`, password: 'Csrf-Pass123!' })
  const post = (action: string, cookie: string | null, fields: Record<string, string>) =>
    t.app.inject({ method: 'POST', url: action, headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie === null ? {} : { cookie }) }, payload: query(fields) })

  it.each([
    ['no cookie', async () => { const form = await openConsent(t.app, base()); return post(form.action, null, { csrf: form.csrf, ...user() }) }, 403],
    ['a wrong form token', async () => { const form = await openConsent(t.app, base()); return post(form.action, form.cookie, { csrf: 'x'.repeat(43), ...user() }) }, 403],
    ['a cookie that differs from the form', async () => { const form = await openConsent(t.app, base()); return post(form.action, `${form.cookie.split('=')[0]}=${'y'.repeat(43)}`, { csrf: form.csrf, ...user() }) }, 403],
    ['the token and cookie of another consent', async () => {
      const mine = await openConsent(t.app, base())
      const theirs = await openConsent(t.app, base())
      return post(mine.action, `${mine.cookie.split('=')[0]}=${theirs.csrf}`, { csrf: theirs.csrf, ...user() })
    }, 403],
    ['no csrf field', async () => { const form = await openConsent(t.app, base()); return post(form.action, form.cookie, user()) }, 400],
    ['no decision', async () => { const form = await openConsent(t.app, base()); return post(form.action, form.cookie, { csrf: form.csrf, email: 'a@b.co', password: 'x' }) }, 400],
    ['a consent id that is not a uuid', async () => { const form = await openConsent(t.app, base()); return post('/oauth/authorize/nope', form.cookie, { csrf: form.csrf, ...user() }) }, 400],
    ['an unknown consent', async () => { const form = await openConsent(t.app, base()); return post('/oauth/authorize/01890000-0000-7000-8000-000000000000', form.cookie, { csrf: form.csrf, ...user() }) }, 400],
  ])('%s: shown, no code', async (_name, send, status) => {
    expectShown(await send(), status, /cannot continue/)
  })

  it('an unknown decision shows the page again', async () => {
    const form = await openConsent(t.app, base())
    expectShown(await post(form.action, form.cookie, { csrf: form.csrf, decision: 'maybe' }), 400, /Choose to sign in, sign up or deny/)
  })

  it('a consent answered once cannot be replayed', async () => {
    const form = await openConsent(t.app, base())
    const fields = user()
    expect(redirectParams(await answerConsent(t.app, form, fields)).get('code')).toBeTruthy()
    expectShown(await answerConsent(t.app, form, fields), 400, /expired/)
    expectShown(await answerConsent(t.app, form, { decision: 'deny' }), 400, /expired/)
  })

  it('an expired consent is refused', async () => {
    const form = await openConsent(t.app, base())
    const id = form.action.split('/').pop()!
    await t.db.database.db.updateTable('oauth_consents').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', id).execute()
    expectShown(await answerConsent(t.app, form, user()), 400, /expired/)
  })
})

describe('signing up and in on the page', () => {
  const signupWith = async (email: string, password: string) => answerConsent(t.app, await openConsent(t.app, base()), { decision: 'signup', email, password })

  it.each([
    ['too short', 'Aa1!aaaaa', /at least 10/],
    ['no lowercase letter', 'AAAAAAAA1!', /lowercase/],
    ['no uppercase letter', 'aaaaaaaa1!', /uppercase/],
    ['no digit', 'Aaaaaaaaa!', /digit/],
    ['no special character', 'Aaaaaaaaa1', /special/],
    ['whitespace', 'Aaaa aaaa1!', /whitespace/],
  ])('a password with %s is refused on the page, naming the rule', async (_name, password, rule) => {
    const response = await signupWith(`weak-${Math.random().toString(36).slice(2)}@example.com`, password)
    expectShown(response, 422, rule)
    expect(response.body).toContain('name="csrf"')
  })

  it.each(['not-an-email', 'a@b', 'a b@example.com', ''])('the email %j is refused on the page', async (email) => {
    expectShown(await signupWith(email, 'Valid-Pass123!'), 422, /email must be an email address/)
  })

  it('the same email twice (in another case) is refused: sign in instead', async () => {
    expect(redirectParams(await signupWith('dup@example.com', 'Valid-Pass123!')).get('code')).toBeTruthy()
    expectShown(await signupWith('DUP@example.com', 'Other-Pass123!'), 409, /already signed up here/)
  })

  it('a failed page can be answered again with the same form', async () => {
    const form = await openConsent(t.app, base())
    expectShown(await answerConsent(t.app, form, { decision: 'signup', email: 'retry@example.com', password: 'short' }), 422, /password/)
    expect(redirectParams(await answerConsent(t.app, form, { decision: 'signup', email: 'retry@example.com', password: 'Retry-Pass123!' })).get('code')).toBeTruthy()
  })

  it.each([
    ['a wrong password', 'dup@example.com', 'Wrong-Pass123!'],
    ['an unknown email', 'nobody-here@example.com', 'Valid-Pass123!'],
  ])('signing in with %s is refused alike', async (_name, email, password) => {
    const response = await answerConsent(t.app, await openConsent(t.app, base()), { decision: 'signin', email, password })
    expectShown(response, 401, /email or password is not correct/)
  })

  it('repeated failures lock the email: 429 on the page, even with the right password', async () => {
    expect(redirectParams(await signupWith('locked@example.com', 'Locked-Pass123!')).get('code')).toBeTruthy()
    const signin = async (password: string) => answerConsent(t.app, await openConsent(t.app, base()), { decision: 'signin', email: 'locked@example.com', password })
    for (let i = 0; i < 3; i++) expectShown(await signin('Wrong-Pass123!'), 401, /not correct/)
    expectShown(await signin('Locked-Pass123!'), 429, /.+/)
  })
})

describe('served over https', () => {
  it('the consent cookie is Secure', async () => {
    const https = await createTestApp({ env: { PUBLIC_URL: 'https://agentstore.example' } })
    try {
      const { token } = await createGptWithKey(https.services, 'https-gpt', ['read', 'write', 'admin'])
      const app = await registerApp(https.app, 'https-gpt', token)
      const response = await https.app.inject({ url: `/oauth/authorize?${query({ response_type: 'code', client_id: app.client_id, code_challenge: challenge, code_challenge_method: 'S256' })}` })
      expect(response.statusCode, response.body).toBe(200)
      expect(String(response.headers['set-cookie'])).toMatch(/; HttpOnly; SameSite=Lax; Secure$/)
    } finally {
      await https.close()
    }
  })
})
