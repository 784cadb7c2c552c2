import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runOperation } from '../src/cli/operations.js'
import { purgeDeletedAccountsJob } from '../src/modules/accounts/accounts.purge-deleted.job.js'
import { expectInvalidToken, login, me, PASSWORD, signup, type TestAccount } from './helpers/accounts.js'
import { connectEndUser, postForm, registerApp } from './helpers/oauth.js'
import { expectProblem } from './helpers/problem.js'
import { bearer, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

let t: TestApp

beforeAll(async () => {
  t = await createTestApp()
})

afterAll(async () => {
  await t.close()
})

const silent = { info: () => {}, warn: () => {}, error: () => {} }

/** An account with a GPT, a key of that GPT (cached by a first use), a document in it, and a login. */
async function owner(gptId: string) {
  const account = await signup(t.app)
  const session = await login(t.app, account)
  expect((await injectJson(t.app, 'POST', '/v1/gpts', bearer(account.key), { id: gptId, name: gptId })).statusCode).toBe(201)
  const gptKey = (await injectJson(t.app, 'POST', `/v1/gpts/${gptId}/keys`, bearer(account.key), { scopes: ['read', 'write', 'admin'] })).json().key as string
  expect((await injectJson(t.app, 'POST', `/v1/gpts/${gptId}/collections`, bearer(gptKey), { name: 'notes' })).statusCode).toBe(201)
  expect((await t.app.inject({ url: `/v1/gpts/${gptId}`, headers: bearer(gptKey) })).statusCode).toBe(200)
  return { account, session, gptKey, gptId }
}

const deleteMe = (token: string) => injectJson(t.app, 'DELETE', '/v1/accounts/me', bearer(token))

async function expectHidden(setup: { account: TestAccount; session: { access_token: string }; gptKey: string; gptId: string }) {
  const { account, session, gptKey, gptId } = setup
  expectProblem(await me(t.app, account.key), 401, '/v1/accounts/me')
  expectInvalidToken(await me(t.app, session.access_token))
  // The GPT's own keys answer like unknown ones; the operator does not see the GPT either.
  expectProblem(await t.app.inject({ url: `/v1/gpts/${gptId}`, headers: bearer(gptKey) }), 401, `/v1/gpts/${gptId}`)
  expectProblem(await t.app.inject({ url: `/v1/gpts/${gptId}/collections`, headers: bearer(gptKey) }), 401, `/v1/gpts/${gptId}/collections`)
  expectProblem(await t.app.inject({ url: `/v1/admin/gpts/${gptId}`, headers: bearer(t.adminToken) }), 404, `/v1/admin/gpts/${gptId}`, 'not-found')
  expectProblem(await t.app.inject({ url: `/v1/admin/gpts/${gptId}/keys`, headers: bearer(t.adminToken) }), 404, `/v1/admin/gpts/${gptId}/keys`)
  expectProblem(await t.app.inject({ url: `/v1/gpts/${gptId}/openapi.json` }), 404, `/v1/gpts/${gptId}/openapi.json`)
  const listed = await t.app.inject({ url: '/v1/admin/gpts?limit=200', headers: bearer(t.adminToken) })
  expect(listed.json().gpts.map((gpt: { id: string }) => gpt.id)).not.toContain(gptId)
}

describe('DELETE /v1/accounts/me (soft delete)', () => {
  it('stops the key, the tokens and the sessions at once and hides the GPTs from everyone', async () => {
    const setup = await owner('doomed-gpt')
    const response = await deleteMe(setup.account.key)
    expect(response.statusCode).toBe(204)
    expect(response.body).toBe('')
    await expectHidden(setup)
    expectProblem(await injectJson(t.app, 'POST', '/v1/auth/refresh', {}, { refresh_token: setup.session.refresh_token }), 401, '/v1/auth/refresh')
    // Kept, not removed: the GPT's data is still stored.
    const { rows } = await t.db.database.pool.query(`select name from collections where gpt_id = 'doomed-gpt'`)
    expect(rows).toEqual([{ name: 'notes' }])
  })

  it("stops the OAuth tokens and refresh tokens of its GPTs' apps at once", async () => {
    const setup = await owner('doomed-oauth-gpt')
    const app = await registerApp(t.app, 'doomed-oauth-gpt', setup.gptKey)
    const endUser = await connectEndUser(t.app, app, { email: 'doomed-user@example.com', password: 'Doomed-Secret1' })
    const own = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { id: app.client_id, secret: app.client_secret! })
    const tokens = [endUser.access_token, own.json<{ access_token: string }>().access_token]
    // Used once, so that each token's state is cached, as on a busy process.
    for (const token of tokens) expect((await t.app.inject({ url: '/v1/gpts/doomed-oauth-gpt', headers: bearer(token) })).statusCode).toBe(200)
    expect((await deleteMe(setup.account.key)).statusCode).toBe(204)
    for (const token of tokens) expectInvalidToken(await t.app.inject({ url: '/v1/gpts/doomed-oauth-gpt', headers: bearer(token) }))
    const refreshed = await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: endUser.refresh_token }, { id: app.client_id, secret: app.client_secret! })
    expect(refreshed.statusCode).toBe(401)
    expect(refreshed.json()).toMatchObject({ error: 'invalid_client' })
  })

  it('keeps the email: a new signup with it is 409 until the purge', async () => {
    const { account } = await owner('kept-email-gpt')
    expect((await deleteMe(account.key)).statusCode).toBe(204)
    expectProblem(await injectJson(t.app, 'POST', '/v1/auth/signup', {}, { email: account.email, password: PASSWORD }), 409, '/v1/auth/signup')
  })
})

describe('restore by the operator', () => {
  it.each([
    { name: 'the admin API, by id', restore: (account: TestAccount) => t.app.inject({ method: 'POST', url: `/v1/admin/accounts/${account.id}/restore`, headers: bearer(t.adminToken) }).then((r) => { expect(r.statusCode, r.body).toBe(200); return r.json() }) },
    { name: 'the CLI operation, by email', restore: (account: TestAccount) => runOperation({ services: t.services, database: t.db.database }, 'account.restore', { account: account.email.toUpperCase() }) },
  ])('through $name: the account, its key and its GPTs come back; its sessions stay ended', async ({ restore }) => {
    const setup = await owner(`restored-${Math.random().toString(36).slice(2, 8)}`)
    expect((await deleteMe(setup.session.access_token)).statusCode).toBe(204)
    await expectHidden(setup)
    const restored = await restore(setup.account)
    expect(restored).toMatchObject({ id: setup.account.id, email: setup.account.email, deleted_at: null })
    expect((await me(t.app, setup.account.key)).statusCode).toBe(200)
    expect((await t.app.inject({ url: `/v1/gpts/${setup.gptId}/collections`, headers: bearer(setup.gptKey) })).statusCode).toBe(200)
    expect((await t.app.inject({ url: `/v1/admin/gpts/${setup.gptId}`, headers: bearer(t.adminToken) })).statusCode).toBe(200)
    expectInvalidToken(await me(t.app, setup.session.access_token))
    await login(t.app, setup.account)
  })

  it.each([
    { name: 'an unknown account', id: () => '00000000-0000-7000-8000-000000000000', status: 404 },
    { name: 'an account that is not deleted', id: (account: TestAccount) => account.id, status: 409 },
    { name: 'a malformed id', id: () => 'nope', status: 422 },
  ])('refuses $name ($status)', async ({ id, status }) => {
    const account = await signup(t.app)
    const url = `/v1/admin/accounts/${id(account)}/restore`
    expectProblem(await t.app.inject({ method: 'POST', url, headers: bearer(t.adminToken) }), status, url)
  })

  it('is the operator\'s only: an account key is 401', async () => {
    const account = await signup(t.app)
    const url = `/v1/admin/accounts/${account.id}/restore`
    expectProblem(await t.app.inject({ method: 'POST', url, headers: bearer(account.key) }), 401, url)
  })
})

describe(`the ${'accounts.purge-deleted'} job`, () => {
  it('removes accounts deleted longer ago than the retention, with their GPTs and data; keeps the rest', async () => {
    const old = await owner('purged-gpt')
    const recent = await owner('recent-gpt')
    const live = await owner('live-gpt')
    expect((await deleteMe(old.account.key)).statusCode).toBe(204)
    expect((await deleteMe(recent.account.key)).statusCode).toBe(204)
    await t.db.database.pool.query(`update accounts set deleted_at = now() - interval '31 days' where id = $1`, [old.account.id])
    const job = purgeDeletedAccountsJob({ accounts: t.services.accounts, logger: silent, retentionDays: 30 })
    expect(job.name).toBe('accounts.purge-deleted')
    const result = await job.handler({}, { retryCount: 0 } as never)
    expect(result).toEqual({ deleted: 1, retentionDays: 30, sessions: expect.any(Number), loginFailures: expect.any(Number) })
    const { rows } = await t.db.database.pool.query(`select id from gpts where id in ('purged-gpt', 'recent-gpt', 'live-gpt') order by id`)
    expect(rows).toEqual([{ id: 'live-gpt' }, { id: 'recent-gpt' }])
    const left = await t.db.database.pool.query(`select count(*)::int as n from collections where gpt_id = 'purged-gpt'`)
    expect(left.rows).toEqual([{ n: 0 }])
    const gone = await t.db.database.pool.query('select count(*)::int as n from accounts where id = $1', [old.account.id])
    expect(gone.rows).toEqual([{ n: 0 }])
    // Purged, its email is free again; the recent one can still be restored.
    expect((await injectJson(t.app, 'POST', '/v1/auth/signup', {}, { email: old.account.email, password: PASSWORD })).statusCode).toBe(201)
    expect((await t.app.inject({ method: 'POST', url: `/v1/admin/accounts/${recent.account.id}/restore`, headers: bearer(t.adminToken) })).statusCode).toBe(200)
    expect(live.account.id).toBeTruthy()
  })

  it('also drops sessions ended over a day ago and failed-login counts that delay no one', async () => {
    const account = await signup(t.app)
    const [ended, live] = [await login(t.app, account), await login(t.app, account)]
    const sid = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string
    await t.db.database.pool.query(`update account_sessions set revoked_at = now() - interval '2 days' where id = $1`, [sid(ended.access_token)])
    await injectJson(t.app, 'POST', '/v1/auth/login', {}, { email: 'stale@example.com', password: PASSWORD })
    await injectJson(t.app, 'POST', '/v1/auth/login', {}, { email: 'fresh@example.com', password: PASSWORD })
    await t.db.database.pool.query(`update login_failures set last_failed_at = now() - interval '1 hour' where subject = 'email:stale@example.com'`)
    const job = purgeDeletedAccountsJob({ accounts: t.services.accounts, logger: silent, retentionDays: 30 })
    const result = (await job.handler({}, { retryCount: 0 } as never)) as { sessions: number; loginFailures: number }
    expect(result.sessions).toBeGreaterThanOrEqual(1)
    expect(result.loginFailures).toBeGreaterThanOrEqual(1)
    const sessions = await t.db.database.pool.query('select id from account_sessions where account_id = $1', [account.id])
    expect(sessions.rows).toEqual([{ id: sid(live.access_token) }])
    const failures = await t.db.database.pool.query(`select subject from login_failures where subject like 'email:%@example.com' and subject in ('email:stale@example.com', 'email:fresh@example.com')`)
    expect(failures.rows).toEqual([{ subject: 'email:fresh@example.com' }])
    expect((await me(t.app, live.access_token)).statusCode).toBe(200)
  })

  it('takes a retention override from a manual run, and refuses a bad one', async () => {
    const job = purgeDeletedAccountsJob({ accounts: t.services.accounts, logger: silent, retentionDays: 30 })
    await expect(job.handler({ retentionDays: -1 }, { retryCount: 0 } as never)).rejects.toThrow(/retentionDays/)
    const { account } = await owner('instant-gpt')
    expect((await deleteMe(account.key)).statusCode).toBe(204)
    await t.db.database.pool.query(`update accounts set deleted_at = now() - interval '1 minute' where id = $1`, [account.id])
    // Earlier tests left deleted accounts too: this one must be among those purged.
    expect(await job.handler({ retentionDays: 0 }, { retryCount: 0 } as never)).toMatchObject({ deleted: expect.any(Number), retentionDays: 0 })
    const { rows } = await t.db.database.pool.query('select count(*)::int as n from accounts where id = $1', [account.id])
    expect(rows).toEqual([{ n: 0 }])
  })
})
