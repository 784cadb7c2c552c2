import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signup, type TestAccount } from './helpers/accounts.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

// GET …/gpts/{gpt_id}/stats: the counts of the console's overview, for whoever may see the GPT.
describe('GPT stats', () => {
  let t: TestApp
  let owner: TestAccount
  let stranger: TestAccount
  const tokens: Record<string, string> = {}

  beforeAll(async () => {
    t = await createTestApp()
    ;[owner, stranger] = [await signup(t.app), await signup(t.app)]
    expect((await injectJson(t.app, 'POST', '/v1/gpts', bearer(owner.key), { id: 'owned-gpt', name: 'Owned' })).statusCode).toBe(201)
    tokens.full = (await createGptWithKey(t.services, 'counted-gpt', ['read', 'write', 'admin'])).token
    tokens.writeOnly = (await createGptWithKey(t.services, 'write-only-gpt', ['write'])).token
    const call = async (url: string, body: unknown) => {
      const response = await injectJson(t.app, 'POST', url, bearer(tokens.full!), body)
      expect(response.statusCode, response.body).toBe(201)
      return response.json<{ id: string }>()
    }
    await call('/v1/gpts/counted-gpt/collections', { name: 'notes' })
    for (const title of ['a', 'b', 'c']) await call('/v1/gpts/counted-gpt/collections/notes/objects', { data: { title } })
    await call('/v1/gpts/counted-gpt/memories', { entity_type: 'user', entity_id: 'u1', content: 'likes tea' })
    await call('/v1/gpts/counted-gpt/sessions', { user_id: 'u1' })
    const [alice, bob, carol] = [await call('/v1/gpts/counted-gpt/agents', { name: 'alice' }), await call('/v1/gpts/counted-gpt/agents', { name: 'bob' }), await call('/v1/gpts/counted-gpt/agents', { name: 'carol' })]
    await call('/v1/gpts/counted-gpt/mail', { from: alice.id, to: [bob.id, carol.id], content: 'hello both' })
    await call('/v1/gpts/counted-gpt/mail', { from: bob.id, to: [alice.id], content: 'hi' })
    const read = await injectJson(t.app, 'POST', `/v1/agents/${alice.id}/inbox/read`, bearer(tokens.full!), { up_to: new Date(Date.now() + 60_000).toISOString() })
    expect(read.statusCode, read.body).toBeLessThan(300)
  })
  afterAll(async () => t?.close())

  it('counts documents, memories, sessions, agents and unread deliveries', async () => {
    const response = await t.app.inject({ url: '/v1/gpts/counted-gpt/stats', headers: bearer(tokens.full!) })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json()).toEqual({ gpt_id: 'counted-gpt', documents: 3, memories: 1, sessions: 1, agents: 3, unread_mail: 2 })
    const operator = await t.app.inject({ url: '/v1/admin/gpts/counted-gpt/stats', headers: bearer(t.adminToken) })
    expect(operator.json()).toEqual(response.json())
  })

  it.each([
    ['the owner account', '/v1/gpts/owned-gpt/stats', () => owner.key, 200],
    ['the operator, any GPT', '/v1/admin/gpts/owned-gpt/stats', () => t.adminToken, 200],
    ['another account', '/v1/gpts/owned-gpt/stats', () => stranger.key, 404],
    ['a key of another GPT', '/v1/gpts/owned-gpt/stats', () => tokens.full!, 403],
    ['a key without the read scope', '/v1/gpts/write-only-gpt/stats', () => tokens.writeOnly!, 403],
    ['no credential', '/v1/gpts/owned-gpt/stats', () => '', 401],
    ['a GPT key on the operator route', '/v1/admin/gpts/counted-gpt/stats', () => tokens.full!, 401],
    ['the operator, an unknown GPT', '/v1/admin/gpts/no-such-gpt/stats', () => t.adminToken, 404],
    ['a malformed GPT id', '/v1/admin/gpts/Not%20An%20Id/stats', () => t.adminToken, 422],
  ])('answers %s (%#)', async (_name, url, token, status) => {
    const credential = token()
    const response = await t.app.inject({ url, headers: credential ? bearer(credential) : {} })
    expect(response.statusCode, response.body).toBe(status)
    if (status === 200) expect(response.json()).toEqual({ gpt_id: 'owned-gpt', documents: 0, memories: 0, sessions: 0, agents: 0, unread_mail: 0 })
    else expect(response.headers['content-type']).toBe('application/problem+json')
  })
})
