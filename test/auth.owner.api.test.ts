import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { login, signup, type TestAccount } from './helpers/accounts.js'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type HttpMethod, type TestApp } from './helpers/test-app.js'

// An account (or the operator) reaches the data of a GPT it owns by naming it in the Agentstore-GPT
// header, with every scope, under the same routes and checks a GPT key goes through.
let t: TestApp
let alice: TestAccount
let bob: TestAccount
let aliceToken: string
let gptKey: string

const as = (token: string, gpt?: string | string[]) => ({ ...bearer(token), ...(gpt === undefined ? {} : { 'agentstore-gpt': gpt }) }) as Record<string, string>
const call = (method: HttpMethod, url: string, headers: Record<string, string>, body?: unknown) => injectJson(t.app, method, url, headers, body)

beforeAll(async () => {
  t = await createTestApp()
  alice = await signup(t.app)
  bob = await signup(t.app)
  aliceToken = (await login(t.app, alice)).access_token
  for (const [account, id] of [[alice, 'alice-gpt'], [alice, 'alice-other'], [bob, 'bob-gpt']] as const) {
    expect((await call('POST', '/v1/gpts', bearer(account.key), { id, name: id })).statusCode).toBe(201)
  }
  await t.services.gpts.createGpt({ id: 'operator-gpt', name: 'No owner' })
  gptKey = (await createGptWithKey(t.services, 'alice-gpt', ['read', 'write', 'admin'])).token
})

afterAll(async () => {
  await t?.close()
})

describe('an owner naming its GPT works like the GPT\'s admin key', () => {
  it.each([
    { name: 'account key', token: () => alice.key, collection: 'by-key' },
    { name: 'login access token', token: () => aliceToken, collection: 'by-token' },
  ])('with its $name: collections, documents, memories', async ({ token, collection }) => {
    const headers = as(token(), 'alice-gpt')
    const created = await call('POST', '/v1/gpts/alice-gpt/collections', headers, { name: collection, schema: { type: 'object' } })
    expect(created.statusCode, created.body).toBe(201)
    const document = await call('POST', `/v1/gpts/alice-gpt/collections/${collection}/objects`, headers, { note: 'hi' })
    expect(document.statusCode, document.body).toBe(201)
    const id = document.json<{ id: string }>().id
    // The document is the GPT's: its own key reads it too.
    expect((await call('GET', `/v1/objects/${id}`, bearer(gptKey))).json()).toMatchObject({ id, body: { note: 'hi' } })
    expect((await call('GET', `/v1/objects/${id}`, headers)).statusCode).toBe(200)
    const memory = await call('POST', '/v1/gpts/alice-gpt/memories', headers, { user_id: 'u1', content: `a memory ${collection}` })
    expect(memory.statusCode, memory.body).toBe(201)
  })

  it('GET /v1/me names the GPT, every scope and the owner', async () => {
    expect((await call('GET', '/v1/me', as(alice.key, 'alice-gpt'))).json()).toEqual({
      key_id: null,
      gpt_id: 'alice-gpt',
      scopes: ['read', 'write', 'admin'],
      agent_id: null,
      owner_account_id: alice.id,
    })
  })

  it('the operator names any GPT with the admin token', async () => {
    for (const gpt of ['operator-gpt', 'bob-gpt']) {
      const me = await call('GET', '/v1/me', as(t.adminToken, gpt))
      expect(me.json()).toMatchObject({ gpt_id: gpt, owner_account_id: null })
    }
  })

  it('records the account (or the operator) and the GPT in the audit log', async () => {
    await call('GET', '/v1/me', as(alice.key, 'alice-other'))
    await call('GET', '/v1/me', as(t.adminToken, 'alice-other'))
    await t.services.auditWriter!.flush()
    const rows = await call('GET', '/v1/gpts/alice-other/audit?action=getMe&order=asc', bearer(alice.key))
    expect(rows.json<{ audit: { gpt_id: string; principal: unknown }[] }>().audit.map((row) => [row.gpt_id, row.principal])).toEqual([
      ['alice-other', { kind: 'account', id: alice.id }],
      ['alice-other', { kind: 'admin', id: null }],
    ])
  })
})

describe('what the header does not open', () => {
  it.each([
    { name: 'another account\'s GPT', gpt: 'bob-gpt' },
    { name: 'a GPT without an owner', gpt: 'operator-gpt' },
    { name: 'a GPT that does not exist', gpt: 'nobody-gpt' },
    { name: 'a malformed GPT id', gpt: '../x y' },
  ])('$name is 404, as if it did not exist', async ({ gpt }) => {
    expectProblem(await call('GET', '/v1/me', as(alice.key, gpt)), 404, '/v1/me', 'not-found')
  })

  it('a path naming another GPT than the header is 403, even one the account owns', async () => {
    expectProblem(await call('GET', '/v1/gpts/alice-other/collections', as(alice.key, 'alice-gpt')), 403, '/v1/gpts/alice-other/collections', 'forbidden')
  })

  it.each([
    { name: 'a GPT key (it already names its GPT)', token: () => gptKey, status: 401 },
    { name: 'an unknown account key', token: () => `${alice.key.slice(0, -4)}zzzz`, status: 401 },
    { name: 'a random token', token: () => 'not-a-credential', status: 401 },
  ])('$name with the header is $status', async ({ token, status }) => {
    expectProblem(await call('GET', '/v1/me', as(token(), 'alice-gpt')), status, '/v1/me')
  })

  it.each([
    { name: 'empty', gpt: '' },
    { name: 'sent twice', gpt: ['alice-gpt', 'alice-other'] },
  ])('a header $name is 400', async ({ gpt }) => {
    const response = await t.app.inject({ url: '/v1/me', headers: { ...bearer(alice.key), 'agentstore-gpt': gpt } })
    expectProblem(response, 400, '/v1/me', 'bad-request')
  })

  it('without the header an account credential still gets no GPT data', async () => {
    expectProblem(await call('GET', '/v1/gpts/alice-gpt/collections', bearer(aliceToken)), 403, '/v1/gpts/alice-gpt/collections', 'forbidden')
    expectProblem(await call('GET', '/v1/me', bearer(alice.key)), 401, '/v1/me')
  })

  it('a deleted account\'s credential stops at once', async () => {
    const carol = await signup(t.app)
    expect((await call('POST', '/v1/gpts', bearer(carol.key), { id: 'carol-gpt', name: 'c' })).statusCode).toBe(201)
    expect((await call('GET', '/v1/me', as(carol.key, 'carol-gpt'))).statusCode).toBe(200)
    expect((await call('DELETE', '/v1/accounts/me', bearer(carol.key))).statusCode).toBe(204)
    expectProblem(await call('GET', '/v1/me', as(carol.key, 'carol-gpt')), 401, '/v1/me')
    expectProblem(await call('GET', '/v1/me', as(t.adminToken, 'carol-gpt')), 404, '/v1/me', 'not-found')
  })
})
