import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { openConsent, pkce, postForm, registerApp, type TestOAuthApp } from './helpers/oauth.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

const CALLBACK = 'https://chat.openai.com/aip/g-abc/oauth/callback'

let t: TestApp
let admin: string
let other: string
let client: TestOAuthApp

beforeAll(async () => {
  t = await createTestApp()
  admin = (await createGptWithKey(t.services, 'patch-gpt', ['read', 'write', 'admin'])).token
  other = (await createGptWithKey(t.services, 'patch-other', ['read', 'write', 'admin'])).token
  client = await registerApp(t.app, 'patch-gpt', admin)
})

afterAll(async () => {
  await t.close()
})

const patch = (body: unknown, token = admin) => injectJson(t.app, 'PATCH', `/v1/apps/${client.id}`, bearer(token), body)

describe('PATCH /v1/apps/{app_id}', () => {
  it('adds the redirect URI a GPT builder is shown after saving, and authorization then takes it', async () => {
    const response = await patch({ redirect_uris: [CALLBACK] })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json()).toMatchObject({ id: client.id, client_id: client.client_id, redirect_uris: [CALLBACK] })
    await openConsent(t.app, { response_type: 'code', client_id: client.client_id, redirect_uri: CALLBACK, code_challenge: pkce().challenge, code_challenge_method: 'S256' })
  })

  it('applies a new rate limit to tokens already issued', async () => {
    const issued = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { id: client.client_id, secret: client.client_secret! })
    const token = issued.json<{ access_token: string }>().access_token
    expect((await t.app.inject({ url: '/v1/gpts/patch-gpt', headers: bearer(token) })).statusCode).toBe(200)
    expect((await patch({ rate_limit_per_minute: 1 })).statusCode).toBe(200)
    expect((await t.app.inject({ url: '/v1/gpts/patch-gpt', headers: bearer(token) })).statusCode).toBe(200)
    expect((await t.app.inject({ url: '/v1/gpts/patch-gpt', headers: bearer(token) })).statusCode).toBe(429)
    expect((await patch({ rate_limit_per_minute: null })).json()).toMatchObject({ rate_limit_per_minute: null })
  })

  it.each([
    { name: 'nothing to change', body: {}, status: 422 },
    { name: 'an http redirect URI off loopback', body: { redirect_uris: ['http://example.com/cb'] }, status: 422 },
    { name: 'an unknown field', body: { client_id: 'mine' }, status: 422 },
  ])('refuses $name ($status)', async ({ body, status }) => {
    expectProblem(await patch(body), status, `/v1/apps/${client.id}`)
  })

  it("is 404 for another GPT's key, and 403 without the admin scope", async () => {
    expectProblem(await patch({ name: 'stolen' }, other), 404, `/v1/apps/${client.id}`, 'not-found')
    const reader = (await createGptWithKey(t.services, 'patch-gpt', ['read', 'write'])).token
    expectProblem(await patch({ name: 'stolen' }, reader), 403, `/v1/apps/${client.id}`, 'forbidden')
  })
})
