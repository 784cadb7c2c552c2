import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signup } from './helpers/accounts.js'
import { answerConsent, openConsent, pkce, postForm, redirectParams, REDIRECT, registerApp, type TestOAuthApp } from './helpers/oauth.js'
import { bearer, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

/**
 * The whole identity story, as issue #12 ends it: a new user signs up, creates a GPT, registers an app,
 * connects it as ChatGPT does (authorization code, then refresh, the secret in the form), and two end
 * users of that GPT each see only their own sessions, memories and per-user documents; every step is
 * in the audit log.
 */

interface Row {
  action: string
  status: number
  principal: { kind: string; id: string | null }
}

let t: TestApp
let ownerKey: string
let gptKey: string
let client: TestOAuthApp
const users: Record<'alice' | 'bob', { token: string; id: string }> = {} as never

/** What ChatGPT does: the consent page, the code sent with client_secret_post, then a refresh. */
async function connectAsChatGpt(email: string): Promise<{ token: string; id: string }> {
  const { verifier, challenge } = pkce()
  const consent = await openConsent(t.app, { response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, scope: 'read write', state: email, code_challenge: challenge, code_challenge_method: 'S256' })
  const params = redirectParams(await answerConsent(t.app, consent, { decision: 'signup', email, password: 'Story-Secret-42' }))
  expect(params.get('state')).toBe(email)
  const secret = { client_id: client.client_id, client_secret: client.client_secret! }
  const exchanged = await postForm(t.app, '/oauth/token', { grant_type: 'authorization_code', code: params.get('code')!, redirect_uri: REDIRECT, code_verifier: verifier, ...secret })
  expect(exchanged.statusCode, exchanged.body).toBe(200)
  const refreshed = await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: exchanged.json<{ refresh_token: string }>().refresh_token, ...secret })
  expect(refreshed.statusCode, refreshed.body).toBe(200)
  const token = refreshed.json<{ access_token: string }>().access_token
  const me = await t.app.inject({ url: '/v1/me', headers: bearer(token) })
  return { token, id: me.json<{ end_user_id: string }>().end_user_id }
}

async function ok(method: 'GET' | 'POST', url: string, token: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await injectJson(t.app, method, url, bearer(token), body)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300)
  return response.json()
}

beforeAll(async () => {
  t = await createTestApp()
  ownerKey = (await signup(t.app, 'story-owner@example.com')).key
  await ok('POST', '/v1/gpts', ownerKey, { id: 'story-gpt', name: 'Story' })
  gptKey = String((await ok('POST', '/v1/gpts/story-gpt/keys', ownerKey, { scopes: ['read', 'write', 'admin'] })).key)
  await ok('POST', '/v1/gpts/story-gpt/collections', gptKey, { name: 'journal', per_user: true })
  client = await registerApp(t.app, 'story-gpt', ownerKey)
  users.alice = await connectAsChatGpt('alice@story.example')
  users.bob = await connectAsChatGpt('bob@story.example')
  for (const [name, user] of Object.entries(users)) {
    await ok('POST', '/v1/gpts/story-gpt/sessions', user.token, { name: `${name}'s chat` })
    await ok('POST', '/v1/gpts/story-gpt/memories', user.token, { content: `${name} likes tea` })
    await ok('POST', '/v1/gpts/story-gpt/collections/journal/objects', user.token, { entry: `${name}'s day` })
  }
})

afterAll(async () => {
  await t.close()
})

describe('a new owner, a GPT, an app, two end users', () => {
  it.each(['alice', 'bob'] as const)("%s sees only their own sessions, memories and journal entries", async (name) => {
    const { token, id } = users[name]
    const sessions = (await ok('GET', '/v1/gpts/story-gpt/sessions', token)).sessions as { name: string; user_id: string }[]
    expect(sessions.map((s) => [s.name, s.user_id])).toEqual([[`${name}'s chat`, id]])
    const memories = (await ok('GET', '/v1/gpts/story-gpt/memories', token)).memories as { content: string }[]
    expect(memories.map((m) => m.content)).toEqual([`${name} likes tea`])
    const entries = (await ok('GET', '/v1/gpts/story-gpt/collections/journal/objects', token)).objects as { body: { entry: string } }[]
    expect(entries.map((e) => e.body.entry)).toEqual([`${name}'s day`])
  })

  it('the owner sees every step in the audit log', async () => {
    await t.services.auditWriter?.flush()
    const gptLog = (await ok('GET', '/v1/gpts/story-gpt/audit?limit=200', ownerKey)).audit as Row[]
    const seen = (action: string, kind?: string) => gptLog.some((row) => row.action === action && (kind === undefined || row.principal.kind === kind))
    for (const action of ['key.created', 'app.created', 'consent.approved', 'token.issued', 'token.refreshed']) expect(seen(action), action).toBe(true)
    for (const action of ['createSession', 'writeMemory', 'createObject']) expect(seen(action, 'end_user'), action).toBe(true)
    expect(gptLog.filter((row) => row.action === 'consent.approved').map((row) => row.principal.id).sort()).toEqual([users.alice.id, users.bob.id].sort())
    const accountLog = (await ok('GET', '/v1/accounts/me/audit?limit=200', ownerKey)).audit as Row[]
    expect(accountLog.map((row) => row.action)).toEqual(expect.arrayContaining(['signup', 'createGpt']))
  })
})
