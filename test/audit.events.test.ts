import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { email, login, PASSWORD, signup, type TestAccount, type Tokens } from './helpers/accounts.js'
import { bearer, createTestApp, injectJson, keySecret, type TestApp } from './helpers/test-app.js'

let t: TestApp
let account: TestAccount
let tokens: Tokens
let secondTokens: Tokens
let gptKey: { id: string; key: string }
let rotatedKey: string
const NEW_PASSWORD = 'Second-Horse2!'
const BODY_PASSWORD = 'Body-Secret-9876'
const QUERY_TOKEN = 'query-token-5432'
const LONG = 'x'.repeat(3000)
// Rows travel to the database as array literals: quotes, backslashes, braces and commas must survive.
const ODD = 'a "quoted" \\ back\\slash, {braces}, NULL, ünïcødé 🎉'

interface Row {
  gpt_id: string | null
  account_id: string | null
  principal: { kind: string; id: string | null }
  action: string
  status: number
  targets: Record<string, string>
  request: unknown
  request_id: string | null
  duration_ms: number | null
}

beforeAll(async () => {
  t = await createTestApp()
  account = await signup(t.app)
  tokens = await login(t.app, account)
  const wrong = await injectJson(t.app, 'POST', '/v1/auth/login', { 'user-agent': 'audit-test/1' }, { email: account.email, password: 'Wrong-Horse1!' })
  expect(wrong.statusCode).toBe(401)
  const access = bearer(tokens.access_token)
  expect((await injectJson(t.app, 'PATCH', '/v1/accounts/me', access, { password: NEW_PASSWORD, current_password: PASSWORD })).statusCode).toBe(200)
  expect((await injectJson(t.app, 'PATCH', '/v1/accounts/me', access, { email: email('moved') })).statusCode).toBe(200)
  expect((await injectJson(t.app, 'POST', '/v1/gpts', bearer(account.key), { id: 'audit-gpt', name: 'Audit' })).statusCode).toBe(201)
  const created = await injectJson(t.app, 'POST', '/v1/gpts/audit-gpt/keys', bearer(account.key), { scopes: ['read', 'write', 'admin'] })
  expect(created.statusCode).toBe(201)
  gptKey = created.json<{ id: string; key: string }>()
  const doomed = (await injectJson(t.app, 'POST', '/v1/gpts/audit-gpt/keys', bearer(gptKey.key), { scopes: ['read'] })).json<{ id: string }>()
  expect((await injectJson(t.app, 'DELETE', `/v1/keys/${doomed.id}`, bearer(account.key))).statusCode).toBe(204)
  expect((await injectJson(t.app, 'POST', '/v1/gpts/audit-gpt/collections', bearer(gptKey.key), { name: 'notes' })).statusCode).toBe(201)
  const document = { password: BODY_PASSWORD, nested: { api_key: BODY_PASSWORD, list: [{ refresh_token: BODY_PASSWORD }] }, text: LONG, odd: ODD }
  expect((await injectJson(t.app, 'POST', '/v1/gpts/audit-gpt/collections/notes/objects', bearer(gptKey.key), document)).statusCode).toBe(201)
  expect((await t.app.inject({ url: `/v1/gpts/audit-gpt/collections?token=${QUERY_TOKEN}`, headers: bearer(gptKey.key) })).statusCode).toBe(422)
  const rotated = await injectJson(t.app, 'POST', '/v1/accounts/me/keys/rotate', bearer(account.key))
  rotatedKey = rotated.json<{ key: string }>().key
  secondTokens = (await injectJson(t.app, 'POST', '/v1/auth/refresh', {}, { refresh_token: tokens.refresh_token })).json<Tokens>()
  expect((await injectJson(t.app, 'POST', '/v1/auth/refresh', {}, { refresh_token: tokens.refresh_token })).statusCode).toBe(401)
  await t.services.auditWriter!.flush()
}, 60_000)

afterAll(async () => {
  await t?.close()
})

async function accountLog(): Promise<Row[]> {
  const response = await t.app.inject({ url: '/v1/accounts/me/audit?limit=200', headers: bearer(rotatedKey) })
  expect(response.statusCode, response.body).toBe(200)
  return response.json<{ audit: Row[] }>().audit
}

describe('the audit log records', () => {
  it.each([
    ['signup', 'signup', 201, 'anonymous', null],
    ['a login', 'login', 200, 'account', null],
    ['a failed login', 'login', 401, 'anonymous', null],
    ['a password change', 'account.password_changed', 200, 'account', null],
    ['an email change', 'account.email_changed', 200, 'account', null],
    ['an account request', 'createGpt', 201, 'account', null],
    ['a GPT key made by an account', 'key.created', 201, 'account', 'audit-gpt'],
    ['a GPT key made by a GPT key', 'createKey', 201, 'key', 'audit-gpt'],
    ['a key revoke', 'key.revoked', 204, 'account', 'audit-gpt'],
    ['a GPT-key request', 'createObject', 201, 'key', 'audit-gpt'],
    ['a refused GPT-key request', 'listCollections', 422, 'key', 'audit-gpt'],
    ['an account key rotation', 'account.key_rotated', 200, 'account', null],
    ['a refresh', 'refreshToken', 200, 'account', null],
    ['a refresh token reuse', 'refreshToken.reused', 401, 'anonymous', null],
  ])('%s', async (_name, action, status, kind, gptId) => {
    const rows = (await accountLog()).filter((row) => row.action === action && row.status === status && row.principal.kind === kind)
    expect(rows.length, JSON.stringify(rows)).toBeGreaterThan(0)
    expect(rows[0]!.gpt_id).toBe(gptId)
  })

  it('the caller and the ids the action was about', async () => {
    const rows = await accountLog()
    const loginRow = rows.find((row) => row.action === 'login' && row.status === 200)!
    expect(loginRow).toMatchObject({ account_id: account.id, principal: { kind: 'account', id: account.id }, request: { email: account.email } })
    const failed = rows.find((row) => row.action === 'login' && row.status === 401)!
    expect(failed).toMatchObject({ account_id: account.id, user_agent: 'audit-test/1' })
    expect(failed.request_id).toEqual(expect.any(String))
    const created = rows.find((row) => row.action === 'createKey' && row.principal.kind === 'account')!
    expect(created).toMatchObject({ gpt_id: 'audit-gpt', account_id: account.id, principal: { kind: 'account', id: account.id } })
    expect(created.duration_ms).toEqual(expect.any(Number))
    const revoked = rows.find((row) => row.action === 'revokeKey')!
    expect(revoked.targets).toEqual({ key_id: expect.any(String) })
    const objectRow = rows.find((row) => row.action === 'createObject')!
    expect(objectRow.principal).toEqual({ kind: 'key', id: gptKey.id })
    expect(objectRow.targets).toEqual({ name: 'notes' })
  })

  it('a password change tells which field changed, never its value', async () => {
    const rows = (await accountLog()).filter((entry) => entry.action === 'updateAccount' && entry.status === 200)
    expect(rows.map((row) => row.request)).toEqual([
      { body: { email: expect.stringMatching(/^moved-/) } },
      { body: { password: '[redacted]', current_password: '[redacted]' } },
    ])
  })

  it('long text cut, secrets redacted at any depth', async () => {
    const row = (await accountLog()).find((entry) => entry.action === 'createObject')!
    const body = (row.request as { body: Record<string, unknown> }).body
    expect(body.password).toBe('[redacted]')
    expect(body.nested).toEqual({ api_key: '[redacted]', list: [{ refresh_token: '[redacted]' }] })
    expect(body.text).toBe(`${'x'.repeat(512)}…`)
    expect(body.odd).toBe(ODD)
  })
})

describe('no secret in any row', () => {
  it('holds none of the passwords, keys and tokens used', async () => {
    const rows = await t.db.database.db.selectFrom('audit_log').selectAll().execute()
    expect(rows.length).toBeGreaterThan(15)
    const text = JSON.stringify(rows)
    const secrets = [
      PASSWORD,
      NEW_PASSWORD,
      'Wrong-Horse1!',
      BODY_PASSWORD,
      QUERY_TOKEN,
      account.key,
      keySecret(account.key),
      rotatedKey,
      keySecret(rotatedKey),
      gptKey.key,
      keySecret(gptKey.key),
      tokens.access_token,
      tokens.refresh_token,
      secondTokens.access_token,
      secondTokens.refresh_token,
    ]
    for (const secret of secrets) expect(text.includes(secret), secret.slice(0, 8)).toBe(false)
  })
})
