import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { answerConsent, connectEndUser, openConsent, pkce, postForm, redirectParams, registerApp, REDIRECT, type TestOAuthApp } from './helpers/oauth.js'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

let t: TestApp
let client: TestOAuthApp
const alice = { email: 'alice@example.com', password: 'Alice-Secret1' }

beforeAll(async () => {
  t = await createTestApp()
  const { token } = await createGptWithKey(t.services, 'oauth-gpt', ['read', 'write', 'admin'])
  client = await registerApp(t.app, 'oauth-gpt', token)
})

afterAll(async () => {
  await t.close()
})

describe('authorization code with PKCE, then refresh, as ChatGPT does it', () => {
  it('signs up on the consent page, gets a code, exchanges it, calls the API, refreshes', async () => {
    const tokens = await connectEndUser(t.app, client, alice)
    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'read write', refresh_token: expect.any(String) })
    const me = await t.app.inject({ url: '/v1/me', headers: bearer(tokens.access_token) })
    expect(me.statusCode, me.body).toBe(200)
    expect(me.json()).toMatchObject({ key_id: null, gpt_id: 'oauth-gpt', scopes: ['read', 'write'], client_id: client.client_id, end_user_id: expect.any(String) })

    const refreshed = await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, { id: client.client_id, secret: client.client_secret! })
    expect(refreshed.statusCode, refreshed.body).toBe(200)
    expect(refreshed.headers['cache-control']).toBe('no-store')
    const next = refreshed.json<{ access_token: string; refresh_token: string }>()
    expect(next.refresh_token).not.toBe(tokens.refresh_token)

    const reused = await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, { id: client.client_id, secret: client.client_secret! })
    expect(reused.statusCode).toBe(400)
    expect(reused.json()).toMatchObject({ error: 'invalid_grant' })
    const after = await t.app.inject({ url: '/v1/me', headers: bearer(next.access_token) })
    expect(after.statusCode, after.body).toBe(401)
    expect(after.headers['www-authenticate']).toMatch(/error="invalid_token"/)
  })

  it('signs in the second time', async () => {
    const tokens = await connectEndUser(t.app, client, alice, 'signin')
    expect(tokens.access_token).toMatch(/^ey/)
  })

  it('a denied request redirects with access_denied and the state', async () => {
    const { challenge } = pkce()
    const form = await openConsent(t.app, { response_type: 'code', client_id: client.client_id, state: 'xyz', code_challenge: challenge, code_challenge_method: 'S256' })
    const params = redirectParams(await answerConsent(t.app, form, { decision: 'deny' }))
    expect(Object.fromEntries(params)).toMatchObject({ error: 'access_denied', state: 'xyz', iss: 'http://agentstore.test' })
    expect(REDIRECT).toBeTruthy()
  })
})
