import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashSecret } from '../src/platform/auth/api-key.js'
import { signup, type TestAccount } from './helpers/accounts.js'
import { connectEndUser, REDIRECT, registerApp, type TestOAuthApp } from './helpers/oauth.js'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

let t: TestApp
let admin: string
let readWrite: string
let otherAdmin: string
let owner: TestAccount
let stranger: TestAccount
const UNKNOWN = '01890000-0000-7000-8000-000000000000'

beforeAll(async () => {
  t = await createTestApp()
  admin = (await createGptWithKey(t.services, 'apps-gpt', ['read', 'write', 'admin'])).token
  readWrite = (await createGptWithKey(t.services, 'apps-gpt', ['read', 'write'])).token
  otherAdmin = (await createGptWithKey(t.services, 'apps-other', ['read', 'write', 'admin'])).token
  owner = await signup(t.app)
  stranger = await signup(t.app)
  expect((await injectJson(t.app, 'POST', '/v1/gpts', bearer(owner.key), { id: 'owned-gpt', name: 'Owned' })).statusCode).toBe(201)
})

afterAll(async () => {
  await t?.close()
})

const create = (gptId: string, token: string, body: unknown) => injectJson(t.app, 'POST', `/v1/gpts/${gptId}/apps`, bearer(token), body)

describe('registering an app', () => {
  it('a confidential app: its secret once, with no-store, and only its hash kept', async () => {
    const response = await create('apps-gpt', admin, { name: 'ChatGPT', redirect_uris: [REDIRECT], scopes: ['read'], rate_limit_per_minute: 60 })
    expect(response.statusCode, response.body).toBe(201)
    expect(response.headers['cache-control']).toBe('no-store')
    const body = response.json<TestOAuthApp & Record<string, unknown>>()
    expect(response.headers.location).toBe(`/v1/apps/${body.id}`)
    expect(body).toMatchObject({ gpt_id: 'apps-gpt', name: 'ChatGPT', type: 'confidential', redirect_uris: [REDIRECT], scopes: ['read'], rate_limit_per_minute: 60, last_used_at: null })
    expect(body.client_secret).toMatch(/^as_[\w-]{43}$/)
    expect(body.client_id).toMatch(/^app_[0-9a-f]{32}$/)
    const row = await t.db.database.db.selectFrom('oauth_apps').selectAll().where('id', '=', body.id).executeTakeFirstOrThrow()
    expect(Buffer.from(row.secret_hash!).equals(hashSecret(body.client_secret!))).toBe(true)
    expect(JSON.stringify(row)).not.toContain(body.client_secret!.slice(3))

    const got = await injectJson(t.app, 'GET', `/v1/apps/${body.id}`, bearer(admin))
    expect(got.statusCode).toBe(200)
    expect(got.json()).not.toHaveProperty('client_secret')
    const listed = await injectJson(t.app, 'GET', '/v1/gpts/apps-gpt/apps', bearer(admin))
    expect(listed.statusCode).toBe(200)
    expect(listed.body).not.toContain(body.client_secret!)
    expect(listed.json<{ apps: { id: string }[] }>().apps.map((app) => app.id)).toContain(body.id)
  })

  it('a public app has no secret; defaults are read and write', async () => {
    const response = await create('apps-gpt', admin, { name: 'Native', type: 'public', redirect_uris: ['http://127.0.0.1:9999/cb', 'http://[::1]/cb', 'http://localhost/cb'] })
    expect(response.statusCode, response.body).toBe(201)
    const body = response.json<TestOAuthApp & { scopes: string[] }>()
    expect(body.client_secret).toBeNull()
    expect(body.scopes).toEqual(['read', 'write'])
    const row = await t.db.database.db.selectFrom('oauth_apps').select('secret_hash').where('id', '=', body.id).executeTakeFirstOrThrow()
    expect(row.secret_hash).toBeNull()
  })

  const valid = { name: 'App', redirect_uris: [REDIRECT] }
  it.each([
    ['no name', { redirect_uris: [REDIRECT] }, 422],
    ['an empty name', { ...valid, name: '' }, 422],
    ['a name too long', { ...valid, name: 'n'.repeat(201) }, 422],
    ['an unknown type', { ...valid, type: 'trusted' }, 422],
    ['no redirect URI', { name: 'App' }, 422],
    ['an empty redirect URI list', { ...valid, redirect_uris: [] }, 422],
    ['a repeated redirect URI', { ...valid, redirect_uris: [REDIRECT, REDIRECT] }, 422],
    ['a relative redirect URI', { ...valid, redirect_uris: ['/callback'] }, 422],
    ['a redirect URI with a fragment', { ...valid, redirect_uris: [`${REDIRECT}#x`] }, 422],
    ['an http redirect URI off loopback', { ...valid, redirect_uris: ['http://chat.example.com/cb'] }, 422],
    ['a redirect URI with a user name', { ...valid, redirect_uris: ['https://user:pw@chat.example.com/cb'] }, 422],
    ['a custom scheme', { ...valid, redirect_uris: ['javascript://alert(1)'] }, 422],
    ['an unknown scope', { ...valid, scopes: ['delete'] }, 422],
    ['no scope', { ...valid, scopes: [] }, 422],
    ['a repeated scope', { ...valid, scopes: ['read', 'read'] }, 422],
    ['a rate limit of 0', { ...valid, rate_limit_per_minute: 0 }, 422],
    ['an unknown field', { ...valid, client_secret: 'mine' }, 422],
    ['a body that is not an object', ['App'], 422],
  ])('refuses %s', async (_name, body, status) => {
    const problem = expectProblem(await create('apps-gpt', admin, body), status, '/v1/gpts/apps-gpt/apps')
    expect(problem.errors?.length ?? 0).toBeGreaterThan(0)
  })

  it('names each bad redirect URI by its position', async () => {
    const problem = expectProblem(await create('apps-gpt', admin, { name: 'App', redirect_uris: [REDIRECT, 'http://example.com/cb', 'x#y'] }), 422, '/v1/gpts/apps-gpt/apps', 'validation-failed')
    expect(problem.errors!.map((error) => error.pointer)).toEqual(['/redirect_uris/1', '/redirect_uris/2'])
  })
})

describe('who may manage apps', () => {
  let app: TestOAuthApp
  let ownedApp: TestOAuthApp
  beforeAll(async () => {
    app = await registerApp(t.app, 'apps-gpt', admin)
    ownedApp = await registerApp(t.app, 'owned-gpt', owner.key)
  })

  it.each([
    ['a key without admin scope creates', () => create('apps-gpt', readWrite, { name: 'x', redirect_uris: [REDIRECT] }), 403],
    ['a key without admin scope lists', () => injectJson(t.app, 'GET', '/v1/gpts/apps-gpt/apps', bearer(readWrite)), 403],
    ['a key without admin scope reads one', () => injectJson(t.app, 'GET', `/v1/apps/${app.id}`, bearer(readWrite)), 403],
    ['a key without admin scope deletes', () => injectJson(t.app, 'DELETE', `/v1/apps/${app.id}`, bearer(readWrite)), 403],
    ["another GPT's admin key creates", () => create('apps-gpt', otherAdmin, { name: 'x', redirect_uris: [REDIRECT] }), 403],
    ["another GPT's admin key lists", () => injectJson(t.app, 'GET', '/v1/gpts/apps-gpt/apps', bearer(otherAdmin)), 403],
    ["another GPT's admin key reads one", () => injectJson(t.app, 'GET', `/v1/apps/${app.id}`, bearer(otherAdmin)), 404],
    ["another GPT's admin key deletes", () => injectJson(t.app, 'DELETE', `/v1/apps/${app.id}`, bearer(otherAdmin)), 404],
    ["another GPT's admin key lists grants", () => injectJson(t.app, 'GET', `/v1/apps/${app.id}/grants`, bearer(otherAdmin)), 404],
    ["another account creates on the owner's GPT", () => create('owned-gpt', stranger.key, { name: 'x', redirect_uris: [REDIRECT] }), 404],
    ["another account lists the owner's apps", () => injectJson(t.app, 'GET', '/v1/gpts/owned-gpt/apps', bearer(stranger.key)), 404],
    ["another account reads the owner's app", () => injectJson(t.app, 'GET', `/v1/apps/${ownedApp.id}`, bearer(stranger.key)), 404],
    ["another account deletes the owner's app", () => injectJson(t.app, 'DELETE', `/v1/apps/${ownedApp.id}`, bearer(stranger.key)), 404],
    ['an account reads an app of a GPT it does not own', () => injectJson(t.app, 'GET', `/v1/apps/${app.id}`, bearer(owner.key)), 404],
    ['an unknown app', () => injectJson(t.app, 'GET', `/v1/apps/${UNKNOWN}`, bearer(admin)), 404],
    ['an app id that is not a uuid', () => injectJson(t.app, 'GET', '/v1/apps/nope', bearer(admin)), 422],
    ['a grant id that is not a uuid', () => injectJson(t.app, 'DELETE', `/v1/apps/${app.id}/grants/nope`, bearer(admin)), 422],
    ['an unknown grant', () => injectJson(t.app, 'DELETE', `/v1/apps/${app.id}/grants/${UNKNOWN}`, bearer(admin)), 404],
    ['an unknown GPT', () => injectJson(t.app, 'GET', '/v1/gpts/nobody/apps', bearer(owner.key)), 404],
    ['no credential', () => injectJson(t.app, 'GET', '/v1/gpts/apps-gpt/apps', {}), 401],
  ])('%s', async (_name, send, status) => {
    const response = await send()
    expectProblem(response, status, response.raw.req.url!)
  })

  it('the owning account manages its apps: create, list, get, delete', async () => {
    const created = await create('owned-gpt', owner.key, { name: 'Mine', redirect_uris: [REDIRECT] })
    expect(created.statusCode, created.body).toBe(201)
    const { id } = created.json<{ id: string }>()
    const listed = await injectJson(t.app, 'GET', '/v1/gpts/owned-gpt/apps?limit=1', bearer(owner.key))
    expect(listed.statusCode).toBe(200)
    expect(listed.json()).toMatchObject({ has_more: true, next_cursor: expect.any(String) })
    expect((await injectJson(t.app, 'GET', `/v1/apps/${id}`, bearer(owner.key))).json()).toMatchObject({ id, gpt_id: 'owned-gpt', name: 'Mine' })
    expect((await injectJson(t.app, 'DELETE', `/v1/apps/${id}`, bearer(owner.key))).statusCode).toBe(204)
    expectProblem(await injectJson(t.app, 'GET', `/v1/apps/${id}`, bearer(owner.key)), 404, `/v1/apps/${id}`, 'not-found')
    expectProblem(await injectJson(t.app, 'DELETE', `/v1/apps/${id}`, bearer(owner.key)), 404, `/v1/apps/${id}`, 'not-found')
  })

  it('the admin key of the GPT deletes its app', async () => {
    const doomed = await registerApp(t.app, 'apps-gpt', admin)
    expect((await injectJson(t.app, 'DELETE', `/v1/apps/${doomed.id}`, bearer(admin))).statusCode).toBe(204)
    expectProblem(await injectJson(t.app, 'GET', `/v1/apps/${doomed.id}`, bearer(admin)), 404, `/v1/apps/${doomed.id}`)
  })
})

describe('grants (sessions) of an app', () => {
  it('lists each connected end user, and revoking one ends it', async () => {
    const app = await registerApp(t.app, 'apps-gpt', admin)
    const other = await registerApp(t.app, 'apps-gpt', admin)
    await connectEndUser(t.app, app, { email: 'g1@example.com', password: 'Grant-Pass1!' })
    await connectEndUser(t.app, app, { email: 'g2@example.com', password: 'Grant-Pass2!' })
    const listed = await injectJson(t.app, 'GET', `/v1/apps/${app.id}/grants`, bearer(admin))
    expect(listed.statusCode, listed.body).toBe(200)
    const grants = listed.json<{ grants: { id: string; end_user_id: string; scopes: string[]; resource: string }[] }>().grants
    expect(grants).toHaveLength(2)
    expect(grants[0]).toMatchObject({ end_user_id: expect.any(String), scopes: ['read', 'write'], resource: 'http://agentstore.test/v1' })
    expectProblem(await injectJson(t.app, 'DELETE', `/v1/apps/${other.id}/grants/${grants[0]!.id}`, bearer(admin)), 404, `/v1/apps/${other.id}/grants/${grants[0]!.id}`)
    expect((await injectJson(t.app, 'DELETE', `/v1/apps/${app.id}/grants/${grants[0]!.id}`, bearer(admin))).statusCode).toBe(204)
    const after = (await injectJson(t.app, 'GET', `/v1/apps/${app.id}/grants`, bearer(admin))).json<{ grants: { id: string }[] }>().grants
    expect(after.map((grant) => grant.id)).toEqual([grants[1]!.id])
  })
})
