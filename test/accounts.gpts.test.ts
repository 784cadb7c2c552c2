import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { login, signup, type TestAccount } from './helpers/accounts.js'
import { walkPages } from './helpers/pages.js'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type HttpMethod, type TestApp } from './helpers/test-app.js'

let t: TestApp
let alice: TestAccount
let bob: TestAccount
let aliceToken: string

beforeAll(async () => {
  t = await createTestApp()
  alice = await signup(t.app)
  bob = await signup(t.app)
  aliceToken = (await login(t.app, alice)).access_token
})

afterAll(async () => {
  await t.close()
})

const createGpt = (token: string, id: string) => injectJson(t.app, 'POST', '/v1/gpts', bearer(token), { id, name: `GPT ${id}`, description: 'mine' })

describe('an account creates and lists its own GPTs', () => {
  it.each([
    { name: 'its key', token: () => alice.key, id: 'alice-by-key' },
    { name: 'a login access token', token: () => aliceToken, id: 'alice-by-token' },
  ])('POST /v1/gpts with $name: 201 with Location', async ({ token, id }) => {
    const response = await createGpt(token(), id)
    expect(response.statusCode, response.body).toBe(201)
    expect(response.headers.location).toBe(`/v1/gpts/${id}`)
    expect(response.json()).toEqual({ id, name: `GPT ${id}`, description: 'mine', action_exposure: expect.any(Object), session_retention_days: null, mail_retention_days: null, created_at: expect.any(String), updated_at: expect.any(String) })
  })

  it('refuses an id that is taken, by anyone (409)', async () => {
    await t.services.gpts.createGpt({ id: 'operator-gpt', name: 'Operator' })
    expectProblem(await createGpt(bob.key, 'operator-gpt'), 409, '/v1/gpts', 'conflict')
  })

  it('lists only its own GPTs, page by page; the operator\'s GPTs have no owner', async () => {
    const carol = await signup(t.app)
    for (let i = 0; i < 5; i++) expect((await createGpt(carol.key, `carol-${i}`)).statusCode).toBe(201)
    await createGpt(bob.key, 'bob-between')
    const get = (url: string) => t.app.inject({ url, headers: bearer(carol.key) })
    const pages = await walkPages<{ id: string }>(get, '/v1/gpts?limit=2', 'gpts', 'http://agentstore.test/v1/gpts')
    expect(pages.items.map((gpt) => gpt.id)).toEqual(['carol-0', 'carol-1', 'carol-2', 'carol-3', 'carol-4'])
    expect(pages.pages).toBe(3)
    const { rows } = await t.db.database.pool.query(`select owner_account_id from gpts where id = 'operator-gpt'`)
    expect(rows).toEqual([{ owner_account_id: null }])
  })

  it('needs an account credential: a GPT key or the admin token is 401', async () => {
    const gptKey = await createGptWithKey(t.services, 'keyed-gpt', ['read', 'write', 'admin'])
    expectProblem(await t.app.inject({ url: '/v1/gpts', headers: bearer(gptKey.token) }), 401, '/v1/gpts')
    expectProblem(await t.app.inject({ url: '/v1/gpts', headers: bearer(t.adminToken) }), 401, '/v1/gpts')
  })
})

describe('isolation: an account never sees nor manages another account\'s GPTs', () => {
  let bobKeyId: string

  beforeAll(async () => {
    expect((await createGpt(bob.key, 'bob-gpt')).statusCode).toBe(201)
    const made = await injectJson(t.app, 'POST', '/v1/gpts/bob-gpt/keys', bearer(bob.key), { name: 'bob-app', scopes: ['read'] })
    expect(made.statusCode, made.body).toBe(201)
    bobKeyId = made.json().id
  })

  it('the owner manages its GPT\'s keys through the key routes, and the key works', async () => {
    const made = await injectJson(t.app, 'POST', '/v1/gpts/bob-gpt/keys', bearer(bob.key), { scopes: ['read', 'write'] })
    expect(made.statusCode).toBe(201)
    const { key, id } = made.json()
    expect((await t.app.inject({ url: '/v1/me', headers: bearer(key) })).json()).toMatchObject({ key_id: id, gpt_id: 'bob-gpt' })
    const listed = await t.app.inject({ url: '/v1/gpts/bob-gpt/keys', headers: bearer(bob.key) })
    expect(listed.json().keys.map((k: { id: string }) => k.id)).toEqual([bobKeyId, id])
    expect((await t.app.inject({ url: '/v1/gpts/bob-gpt', headers: bearer(bob.key) })).json().id).toBe('bob-gpt')
    expect((await injectJson(t.app, 'DELETE', `/v1/keys/${id}`, bearer(bob.key))).statusCode).toBe(204)
    expect((await t.app.inject({ url: '/v1/me', headers: bearer(key) })).statusCode).toBe(401)
  })

  const foreign: { name: string; method: HttpMethod; url: () => string; body?: unknown }[] = [
    { name: 'read the GPT', method: 'GET', url: () => '/v1/gpts/bob-gpt' },
    { name: 'create a key', method: 'POST', url: () => '/v1/gpts/bob-gpt/keys', body: {} },
    { name: 'list the keys', method: 'GET', url: () => '/v1/gpts/bob-gpt/keys' },
    { name: 'revoke a key', method: 'DELETE', url: () => `/v1/keys/${bobKeyId}` },
    { name: 'create a key of an operator GPT', method: 'POST', url: () => '/v1/gpts/operator-gpt/keys', body: {} },
  ]

  it.each(foreign)('another account cannot $name (404)', async ({ method, url, body }) => {
    for (const token of [alice.key, aliceToken]) {
      const problem = expectProblem(await injectJson(t.app, method, url(), bearer(token), body), 404, url(), 'not-found')
      expect(problem.detail).toMatch(/not found/)
    }
  })

  it('the foreign key is still live and unrevoked after those attempts', async () => {
    const listed = await t.app.inject({ url: '/v1/gpts/bob-gpt/keys', headers: bearer(bob.key) })
    expect(listed.json().keys.find((k: { id: string }) => k.id === bobKeyId)).toMatchObject({ revoked_at: null })
  })

  it('a GPT key with the admin scope still manages its own GPT only', async () => {
    const own = await createGptWithKey(t.services, 'key-admin-gpt', ['read', 'write', 'admin'])
    expect((await t.app.inject({ url: '/v1/gpts/key-admin-gpt/keys', headers: bearer(own.token) })).statusCode).toBe(200)
    expectProblem(await t.app.inject({ url: '/v1/gpts/bob-gpt/keys', headers: bearer(own.token) }), 403, '/v1/gpts/bob-gpt/keys', 'forbidden')
    expectProblem(await injectJson(t.app, 'DELETE', `/v1/keys/${bobKeyId}`, bearer(own.token)), 404, `/v1/keys/${bobKeyId}`)
  })
})
