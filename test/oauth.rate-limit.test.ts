import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basicOf, pkce, postForm, registerApp, type TestOAuthApp } from './helpers/oauth.js'
import { expectProblem } from './helpers/problem.js'
import { createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

let t: TestApp
let client: TestOAuthApp
let lastIp = 0

beforeAll(async () => {
  t = await createTestApp({ env: { RATE_LIMITS: 'ip:3/m' } })
  const { token } = await createGptWithKey(t.services, 'limit-gpt', ['read', 'write', 'admin'])
  client = await registerApp(t.app, 'limit-gpt', token)
})

afterAll(async () => {
  await t?.close()
})

const form = (url: string, body: Record<string, string>, remoteAddress: string) => {
  const { id, secret } = basicOf(client)
  const authorization = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`
  return t.app.inject({ method: 'POST', url, remoteAddress, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization }, payload: new URLSearchParams(body).toString() })
}

describe('the OAuth endpoints anyone can call spend the client IP\'s budget', () => {
  it.each([
    // Each showing of the consent page stores a consent request.
    ['GET /oauth/authorize', (ip: string) => t.app.inject({ url: `/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: client.client_id, code_challenge: pkce().challenge, code_challenge_method: 'S256' })}`, remoteAddress: ip }), '/oauth/authorize'],
    ['POST /oauth/authorize/{id}', (ip: string) => t.app.inject({ method: 'POST', url: '/oauth/authorize/01890000-0000-7000-8000-000000000000', remoteAddress: ip, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'csrf=x&decision=deny' }), '/oauth/authorize/01890000-0000-7000-8000-000000000000'],
    ['POST /oauth/token', (ip: string) => form('/oauth/token', { grant_type: 'client_credentials' }, ip), '/oauth/token'],
    ['POST /oauth/revoke', (ip: string) => form('/oauth/revoke', { token: 'x' }, ip), '/oauth/revoke'],
    ['POST /oauth/introspect', (ip: string) => form('/oauth/introspect', { token: 'x' }, ip), '/oauth/introspect'],
  ])('%s', async (_name, send, path) => {
    const ip = `10.7.0.${++lastIp}`
    for (let i = 0; i < 3; i++) expect((await send(ip)).statusCode).not.toBe(429)
    const refused = await send(ip)
    expectProblem(refused, 429, path, 'rate-limited')
    expect(refused.headers['retry-after']).toBeDefined()
  })

  it.each(['/.well-known/oauth-authorization-server', '/.well-known/oauth-protected-resource', '/.well-known/jwks.json'])('%s stays outside it', async (url) => {
    for (let i = 0; i < 5; i++) expect((await t.app.inject({ url, remoteAddress: '10.6.0.1' })).statusCode).toBe(200)
  })
})
