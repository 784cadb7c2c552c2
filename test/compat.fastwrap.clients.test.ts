// FastWrap's client API (signup, /clients/me) as its document describes it, on the house accounts:
// X-API-Key auth, the password policy, one-field updates, key regeneration, soft delete.
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createTestApp, injectJson, type HttpMethod, type TestApp } from './helpers/test-app.js'

const PASSWORD = 'Correct-Horse1'
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

interface Client {
  id: string
  email: string
  api_key: string
}

let t: TestApp
let counter = 0

beforeAll(async () => {
  t = await createTestApp()
})

afterAll(async () => {
  await t?.close()
})

function call(method: HttpMethod, url: string, payload?: unknown, apiKey: string | null = null): Promise<LightMyRequestResponse> {
  return injectJson(t.app, method, url, apiKey === null ? {} : { 'x-api-key': apiKey }, payload)
}

const freshEmail = () => `client${++counter}-${Date.now()}@example.com`

async function signup(email = freshEmail()): Promise<Client> {
  const response = await call('POST', '/auth/signup', { email, password: PASSWORD })
  expect(response.statusCode, response.body).toBe(201)
  return response.json<{ data: Client }>().data
}

/** FastAPI's error shape: `{"detail": …}` as plain JSON. */
function expectDetail(response: LightMyRequestResponse, status: number, detail?: unknown) {
  expect(response.statusCode, response.body).toBe(status)
  expect(response.headers['content-type']).toMatch(/^application\/json/)
  const body = response.json<{ detail: unknown }>()
  expect(Object.keys(body)).toEqual(['detail'])
  if (detail !== undefined) expect(body.detail).toEqual(detail)
  return body.detail
}

describe('FastWrap: POST /auth/signup', () => {
  it('201 {message, data} with the client and its key; the client owns a GPT of its own', async () => {
    const email = freshEmail()
    const response = await call('POST', '/auth/signup', { email, password: PASSWORD })
    expect(response.statusCode, response.body).toBe(201)
    expect(response.headers['cache-control']).toBe('no-store')
    const body = response.json<{ message: string; data: Client & Record<string, unknown> }>()
    expect(body.message).toBe('Signup request received')
    expect(body.data).toEqual({ id: expect.any(String), email, api_key: expect.stringMatching(/^ak_/), created_at: expect.stringMatching(ISO), deleted_at: null, is_active: true })
    const gpt = await t.services.gpts.getGpt(`fastwrap-${body.data.id}`, body.data.id)
    expect(gpt.name).toBe('FastWrap')
  })

  it('a taken email (any letter case) → 400 "Failed to create account"', async () => {
    const email = freshEmail()
    await signup(email)
    expectDetail(await call('POST', '/auth/signup', { email: email.toUpperCase(), password: PASSWORD }), 400, 'Failed to create account')
  })

  const policy: [string, string, RegExp][] = [
    ['shorter than 10', 'Sh0rt-pw', /at least 10/],
    ['no lowercase letter', 'CORRECT-HORSE1', /lowercase/],
    ['no uppercase letter', 'correct-horse1', /uppercase/],
    ['no digit', 'Correct-Horse', /digit/],
    ['no special character', 'CorrectHorse1', /special/],
    ['whitespace', 'Correct Horse-1', /whitespace/],
  ]
  it.each(policy)('a password with %s → 422 naming the rule at body.password', async (_name, password, message) => {
    const detail = expectDetail(await call('POST', '/auth/signup', { email: freshEmail(), password }), 422) as { loc: string[]; msg: string }[]
    expect(detail).toContainEqual(expect.objectContaining({ type: 'value_error', loc: ['body', 'password'], msg: expect.stringMatching(message) }))
  })

  const invalid: [string, unknown][] = [
    ['no email', { password: PASSWORD }],
    ['no password', { email: 'a@example.com' }],
    ['an email that is not one', { email: 'not-an-email', password: PASSWORD }],
    ['an unknown field', { email: 'a@example.com', password: PASSWORD, is_admin: true }],
    ['a body that is not an object', []],
  ]
  it.each(invalid)('%s → 422 with a detail list', async (_name, payload) => {
    const detail = expectDetail(await call('POST', '/auth/signup', payload), 422)
    expect(Array.isArray(detail)).toBe(true)
  })

  it('a body that is not JSON → 422 json_invalid', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/auth/signup', headers: { 'content-type': 'application/json' }, payload: '{"email":' })
    expectDetail(response, 422, [{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error' }])
  })
})

describe('FastWrap: X-API-Key', () => {
  let client: Client
  beforeAll(async () => {
    client = await signup()
  })

  it('no X-API-Key → 422 naming the missing header', async () => {
    expectDetail(await call('POST', '/clients/me/regenerate-key'), 422, [{ type: 'missing', loc: ['header', 'x-api-key'], msg: 'Field required' }])
  })

  const refused: [string, () => string][] = [
    ['an unknown key', () => 'fn_not-a-key'],
    ['a well-formed key that does not exist', () => `ak_${'0'.repeat(32)}_secret`],
    ['a wrong secret for the key id', () => `${client.api_key.slice(0, 36)}_wrong`],
    ['an empty header', () => ''],
  ]
  it.each(refused)('%s → 401 "Invalid API key"', async (_name, key) => {
    expectDetail(await call('GET', '/api/characters', undefined, key()), 401, 'Invalid API key')
  })

  it('a GPT key and a login access token are not account keys → 401', async () => {
    const gptKey = await t.services.keys.createKey(`fastwrap-${client.id}`, { scopes: ['read', 'write'] })
    expectDetail(await call('GET', '/api/characters', undefined, gptKey.key), 401, 'Invalid API key')
    const login = await injectJson(t.app, 'POST', '/v1/auth/login', {}, { email: client.email, password: PASSWORD })
    expectDetail(await call('GET', '/api/characters', undefined, login.json<{ access_token: string }>().access_token), 401, 'Invalid API key')
  })

  it('the FastWrap key is the house account key: it works as Bearer on the house account routes', async () => {
    const me = await injectJson(t.app, 'GET', '/v1/accounts/me', bearer(client.api_key))
    expect(me.json()).toMatchObject({ id: client.id, email: client.email })
  })
})

describe('FastWrap: /clients/me', () => {
  it('PATCH one field: the email → 201 {message, data} with the client (no key)', async () => {
    const client = await signup()
    const email = freshEmail()
    const response = await call('PATCH', '/clients/me', { email }, client.api_key)
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json()).toEqual({ message: 'Resource updated', data: { id: client.id, email, created_at: expect.stringMatching(ISO), deleted_at: null, is_active: true } })
  })

  it('PATCH the password with current_password → 201; the new password logs in, the old one not', async () => {
    const client = await signup()
    const response = await call('PATCH', '/clients/me', { password: 'Better-Horse2', current_password: PASSWORD }, client.api_key)
    expect(response.statusCode, response.body).toBe(201)
    const login = (password: string) => injectJson(t.app, 'POST', '/v1/auth/login', {}, { email: client.email, password })
    expect((await login('Better-Horse2')).statusCode).toBe(200)
    expect((await login(PASSWORD)).statusCode).toBe(401)
  })

  const failures: [string, () => Promise<unknown>, number, unknown][] = [
    ['neither field → 404', async () => ({}), 404, 'No maching credentials'],
    ['both fields → 422 "Malformed JSON"', async () => ({ email: freshEmail(), password: 'Better-Horse2' }), 422, 'Malformed JSON'],
    ['an email another client has → 404', async () => ({ email: (await signup()).email }), 404, 'No maching credentials'],
    ['a password without current_password → 422', async () => ({ password: 'Better-Horse2' }), 422, [expect.objectContaining({ loc: ['body', 'current_password'] })]],
    ['a wrong current_password → 403', async () => ({ password: 'Better-Horse2', current_password: 'Wrong-Horse1' }), 403, expect.any(String)],
    ['a new password against the policy → 422', async () => ({ password: 'short', current_password: PASSWORD }), 422, expect.arrayContaining([expect.objectContaining({ loc: ['body', 'password'] })])],
    ['an email that is not one → 422', async () => ({ email: 'nope' }), 422, [expect.objectContaining({ loc: ['body', 'email'] })]],
    ['an unknown field → 422', async () => ({ phone: '123' }), 422, expect.any(Array)],
  ]
  it.each(failures)('PATCH %s', async (_name, payload, status, detail) => {
    const client = await signup()
    expectDetail(await call('PATCH', '/clients/me', await payload(), client.api_key), status, detail)
    // Nothing changed.
    const me = await injectJson(t.app, 'GET', '/v1/accounts/me', bearer(client.api_key))
    expect(me.json()).toMatchObject({ email: client.email })
  })

  it('POST /clients/me/regenerate-key → 201 with the new key; the old one is refused at once', async () => {
    const client = await signup()
    const response = await call('POST', '/clients/me/regenerate-key', undefined, client.api_key)
    expect(response.statusCode, response.body).toBe(201)
    expect(response.headers['cache-control']).toBe('no-store')
    const body = response.json<{ message: string; api_key: string }>()
    expect(body).toEqual({ message: 'New key generated', api_key: expect.stringMatching(/^ak_/) })
    expect(body.api_key).not.toBe(client.api_key)
    expectDetail(await call('GET', '/api/characters', undefined, client.api_key), 401, 'Invalid API key')
    expect((await call('GET', '/api/characters', undefined, body.api_key)).statusCode).toBe(200)
  })

  it('DELETE /clients/me → 204; the key stops, the email stays taken, the operator can restore it', async () => {
    const client = await signup()
    expect((await call('POST', '/api/characters', { agent_role: 'Kept role' }, client.api_key)).statusCode).toBe(201)
    const response = await call('DELETE', '/clients/me', undefined, client.api_key)
    expect(response.statusCode).toBe(204)
    expect(response.body).toBe('')
    expectDetail(await call('GET', '/api/characters', undefined, client.api_key), 401, 'Invalid API key')
    expectDetail(await call('DELETE', '/clients/me', undefined, client.api_key), 401, 'Invalid API key')
    expectDetail(await call('POST', '/auth/signup', { email: client.email, password: PASSWORD }), 400, 'Failed to create account')
    await t.services.accounts.restoreAccount(client.id)
    const characters = await call('GET', '/api/characters', undefined, client.api_key)
    expect(characters.json<{ data: { agent_role: string }[] }>().data.map((c) => c.agent_role)).toEqual(['Kept role'])
  })
})

describe('FastWrap: an account made through the house API', () => {
  it('uses its account key as X-API-Key; its FastWrap GPT is made on first use', async () => {
    const signed = await injectJson(t.app, 'POST', '/v1/auth/signup', {}, { email: freshEmail(), password: PASSWORD })
    const { account, key } = signed.json<{ account: { id: string }; key: string }>()
    await expect(t.services.gpts.getGpt(`fastwrap-${account.id}`, account.id)).rejects.toThrow()
    const [first, second] = await Promise.all([call('GET', '/api/characters', undefined, key), call('GET', '/api/characters', undefined, key)])
    expect([first.statusCode, second.statusCode]).toEqual([200, 200])
    expect(first.json()).toEqual({ message: 'Characters fetched', data: [] })
    expect((await t.services.gpts.getGpt(`fastwrap-${account.id}`, account.id)).id).toBe(`fastwrap-${account.id}`)
  })
})

describe('FastWrap: the audit log', () => {
  it('records the client\'s requests and identity events in its account\'s log, without secrets', async () => {
    const client = await signup()
    expect((await call('POST', '/api/characters', { agent_role: 'Audited role' }, client.api_key)).statusCode).toBe(201)
    const fresh = (await call('POST', '/clients/me/regenerate-key', undefined, client.api_key)).json<{ api_key: string }>().api_key
    await t.services.auditWriter!.flush()
    const log = await injectJson(t.app, 'GET', '/v1/accounts/me/audit?limit=200', bearer(fresh))
    expect(log.statusCode, log.body).toBe(200)
    const rows = log.json<{ audit: { action: string; principal: { kind: string } }[] }>().audit
    const actions = rows.map((row) => row.action)
    expect(actions).toEqual(expect.arrayContaining(['signup', 'fastWrapCreateCharacter', 'account.key_rotated', 'fastWrapRegenerateKey']))
    expect(rows.find((row) => row.action === 'fastWrapCreateCharacter')!.principal.kind).toBe('account')
    expect(log.body).not.toContain(PASSWORD)
    expect(log.body).not.toContain(client.api_key)
    expect(log.body).not.toContain(fresh)
  })
})

describe('FastWrap: GET / and /health', () => {
  it('add FastWrap\'s fields beside the house\'s', async () => {
    expect((await t.app.inject({ url: '/health' })).json()).toMatchObject({ status: 'ok', Health: 'OK' })
    expect((await t.app.inject({ url: '/' })).json()).toMatchObject({ Title: 'Agentstore', Status: 'ok' })
  })
})

describe('FastWrap: the house settings apply', () => {
  const apps: TestApp[] = []
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()))
  })

  it('SIGNUP=closed → 403, and no account is made', async () => {
    const closed = await createTestApp({ env: { SIGNUP: 'closed' } })
    apps.push(closed)
    const email = freshEmail()
    const response = await injectJson(closed.app, 'POST', '/auth/signup', {}, { email, password: PASSWORD })
    expect(response.statusCode, response.body).toBe(403)
    expect(Object.keys(response.json())).toEqual(['detail'])
    const login = await injectJson(closed.app, 'POST', '/v1/auth/login', {}, { email, password: PASSWORD })
    expect(login.statusCode).toBe(401)
  })

  it('the account\'s key budget runs out → 429 {detail} with Retry-After', async () => {
    const limited = await createTestApp({ env: { RATE_LIMITS: 'key:2/m' } })
    apps.push(limited)
    const signed = await injectJson(limited.app, 'POST', '/auth/signup', {}, { email: freshEmail(), password: PASSWORD })
    const apiKey = signed.json<{ data: Client }>().data.api_key
    for (let i = 0; i < 2; i++) expect((await limited.app.inject({ url: '/api/characters', headers: { 'x-api-key': apiKey } })).statusCode).toBe(200)
    const response = await limited.app.inject({ url: '/api/characters', headers: { 'x-api-key': apiKey } })
    expect(response.statusCode, response.body).toBe(429)
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0)
    expect(Object.keys(response.json())).toEqual(['detail'])
  })
})

describe('COMPAT without fastwrap', () => {
  let plain: TestApp
  beforeAll(async () => {
    plain = await createTestApp({ env: { COMPAT: 'chatstore' } })
  })
  afterAll(async () => {
    await plain?.close()
  })

  it('its routes and fields are gone', async () => {
    expect((await injectJson(plain.app, 'POST', '/auth/signup', {}, { email: freshEmail(), password: PASSWORD })).statusCode).toBe(404)
    expect((await plain.app.inject({ url: '/api/characters', headers: { 'x-api-key': 'x' } })).statusCode).toBe(404)
    expect((await plain.app.inject({ url: '/health' })).json()).not.toHaveProperty('Health')
  })
})
