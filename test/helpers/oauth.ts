import { createHash, randomBytes } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import { bearer, injectJson } from './test-app.js'

export const REDIRECT = 'https://chat.example.com/aip/g-123/oauth/callback'

export interface TestOAuthApp {
  id: string
  client_id: string
  client_secret: string | null
  gpt_id: string
}

export async function registerApp(app: FastifyInstance, gptId: string, adminToken: string, body: Record<string, unknown> = {}): Promise<TestOAuthApp> {
  const response = await injectJson(app, 'POST', `/v1/gpts/${gptId}/apps`, bearer(adminToken), { name: 'Test app', redirect_uris: [REDIRECT], ...body })
  expect(response.statusCode, response.body).toBe(201)
  return response.json<TestOAuthApp>()
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

/** POST a form to a protocol endpoint; `basic` sends the client's credentials in the Authorization header. */
export function postForm(app: FastifyInstance, url: string, form: Record<string, string>, basic?: { id: string; secret: string }): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
  if (basic) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`).toString('base64')}`
  return app.inject({ method: 'POST', url, headers, payload: new URLSearchParams(form).toString() })
}

export interface ConsentForm {
  action: string
  csrf: string
  cookie: string
}

/** Opens the consent page of an authorization request: its form's action, CSRF field and cookie. */
export async function openConsent(app: FastifyInstance, params: Record<string, string>): Promise<ConsentForm> {
  const response = await app.inject({ url: `/oauth/authorize?${new URLSearchParams(params)}` })
  expect(response.statusCode, response.body).toBe(200)
  expect(response.headers['content-type']).toBe('text/html; charset=utf-8')
  const action = /<form method="post" action="([^"]+)"/.exec(response.body)![1]!
  const csrf = /name="csrf" value="([^"]+)"/.exec(response.body)![1]!
  const setCookie = String(response.headers['set-cookie'])
  return { action, csrf, cookie: setCookie.split(';')[0]! }
}

export function answerConsent(app: FastifyInstance, form: ConsentForm, fields: Record<string, string>): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: form.action,
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie },
    payload: new URLSearchParams({ csrf: form.csrf, ...fields }).toString(),
  })
}

/** The query of a redirect to the client. */
export function redirectParams(response: LightMyRequestResponse): URLSearchParams {
  expect(response.statusCode, response.body).toBe(302)
  return new URL(String(response.headers.location)).searchParams
}

export interface EndUserLogin {
  email: string
  password: string
}

/** The whole authorization-code flow with PKCE for one end user: the token response. */
export async function connectEndUser(
  app: FastifyInstance,
  client: TestOAuthApp,
  user: EndUserLogin,
  decision: 'signup' | 'signin' = 'signup',
  extra: Record<string, string> = {},
): Promise<{ access_token: string; refresh_token: string; scope: string; expires_in: number; token_type: string }> {
  const { verifier, challenge } = pkce()
  const form = await openConsent(app, { response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, state: 'st', code_challenge: challenge, code_challenge_method: 'S256', ...extra })
  const params = redirectParams(await answerConsent(app, form, { decision, ...user }))
  const code = params.get('code')!
  const tokenForm: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }
  const response = client.client_secret === null
    ? await postForm(app, '/oauth/token', { ...tokenForm, client_id: client.client_id })
    : await postForm(app, '/oauth/token', tokenForm, { id: client.client_id, secret: client.client_secret })
  expect(response.statusCode, response.body).toBe(200)
  return response.json()
}

/** A code for an existing end user (signed in on the consent page) and the given authorization request. */
export async function authorizationCode(app: FastifyInstance, client: TestOAuthApp, user: EndUserLogin, params: Record<string, string | undefined>): Promise<string> {
  const query: Record<string, string> = {}
  for (const [name, value] of Object.entries({ response_type: 'code', client_id: client.client_id, state: 'st', ...params })) if (value !== undefined) query[name] = value
  const form = await openConsent(app, query)
  const code = redirectParams(await answerConsent(app, form, { decision: 'signin', ...user })).get('code')
  expect(code).toBeTruthy()
  return code!
}

/** `client_secret_basic` credentials of a confidential app. */
export const basicOf = (client: TestOAuthApp) => ({ id: client.client_id, secret: client.client_secret! })
