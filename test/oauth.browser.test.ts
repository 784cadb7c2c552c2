import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findOrInstallChromium } from './helpers/chromium.js'
import { pkce } from './helpers/oauth.js'
import { createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

// The one test of the consent page in a real browser: the cookie, the CSRF field, the CSP (its
// form-action must let the answer's redirect reach a loopback client) and the redirect, as a person
// meets them. Every protocol rule is tested over plain HTTP in the other oauth.*.test.ts files.
const browserPath = findOrInstallChromium()

/** A free port on 127.0.0.1, so that PUBLIC_URL (the issuer) can be the address the browser opens. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe.skipIf(browserPath.path === null)(`the consent page in chromium${browserPath.reason ? ` (skipped: ${browserPath.reason})` : ''}`, () => {
  let t: TestApp
  let base: string
  let browser: Browser
  let callbackServer: Server
  let callbackUrl: string
  const callbacks: URL[] = []
  let client: { client_id: string; client_secret: string }

  beforeAll(async () => {
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    t = await createTestApp({ env: { PUBLIC_URL: base } })
    await t.app.listen({ port, host: '127.0.0.1' })
    callbackServer = createServer((request, response) => {
      callbacks.push(new URL(request.url!, callbackUrl))
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Connected</title><p>You can close this window.</p>')
    })
    await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', resolve))
    callbackUrl = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/callback`

    const { token } = await createGptWithKey(t.services, 'browser-gpt', ['read', 'write', 'admin'])
    const created = await fetch(`${base}/v1/gpts/browser-gpt/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Browser test app', redirect_uris: [callbackUrl] }),
    })
    expect(created.status, await created.clone().text()).toBe(201)
    client = (await created.json()) as typeof client
    // --no-sandbox: CI runs as root, where chromium's sandbox cannot start.
    browser = await chromium.launch({ executablePath: browserPath.path!, headless: true, args: ['--no-sandbox'] })
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await new Promise((resolve) => (callbackServer ? callbackServer.close(resolve) : resolve(undefined)))
    await t?.close()
  })

  /** Opens the authorization request in a fresh browser context and returns its page. */
  async function openAuthorize(state: string, challenge: string) {
    const query = new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: callbackUrl, state, scope: 'read write', code_challenge: challenge, code_challenge_method: 'S256' })
    const context = await browser.newContext()
    const page = await context.newPage()
    const response = await page.goto(`${base}/oauth/authorize?${query}`)
    expect(response?.status()).toBe(200)
    expect(await page.locator('h1').textContent()).toBe('Browser test app wants to use browser-gpt for you')
    return { page, context }
  }

  async function waitForCallback(state: string): Promise<URLSearchParams> {
    for (let i = 0; i < 200; i++) {
      const found = callbacks.find((url) => url.searchParams.get('state') === state)
      if (found) return found.searchParams
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`no callback with state ${state}; got ${callbacks.map(String).join(', ')}`)
  }

  it('signs up, approves, and the code works: token exchange, then the API', async () => {
    const { verifier, challenge } = pkce()
    const { page, context } = await openAuthorize('browser-state-1', challenge)
    await page.fill('#email', 'browser-user@example.com')
    await page.fill('#password', 'Browser-Pass123!')
    await Promise.all([page.waitForURL((url) => url.href.startsWith(callbackUrl)), page.click('button[value="signup"]')])
    expect(await page.textContent('p')).toBe('You can close this window.')
    await context.close()

    const params = await waitForCallback('browser-state-1')
    expect(params.get('iss')).toBe(base)
    expect(params.get('error')).toBeNull()
    const code = params.get('code')!
    expect(code).toMatch(/^[\w-]{43}$/)

    const exchanged = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: callbackUrl, code_verifier: verifier }),
    })
    expect(exchanged.status, await exchanged.clone().text()).toBe(200)
    const tokens = (await exchanged.json()) as { access_token: string; refresh_token: string; scope: string }
    expect(tokens.scope).toBe('read write')

    const me = await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
    expect(me.status).toBe(200)
    expect(await me.json()).toMatchObject({ gpt_id: 'browser-gpt', client_id: client.client_id, scopes: ['read', 'write'], end_user_id: expect.any(String) })
    const write = await fetch(`${base}/v1/gpts/browser-gpt/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'from-the-browser-flow' }),
    })
    expect(write.status, await write.clone().text()).toBe(201)
    expect(await write.json()).toMatchObject({ user_id: expect.any(String), name: 'from-the-browser-flow' })
  }, 120_000)

  it('shows a sign-in error on the page, then denies: access_denied reaches the app', async () => {
    const { challenge } = pkce()
    const { page, context } = await openAuthorize('browser-state-2', challenge)
    await page.fill('#email', 'browser-user@example.com')
    await page.fill('#password', 'Wrong-Pass123!')
    await page.click('button[value="signin"]')
    expect(await page.locator('[role="alert"]').textContent()).toMatch(/email or password is not correct/)
    await Promise.all([page.waitForURL((url) => url.href.startsWith(callbackUrl)), page.click('button[value="deny"]')])
    await context.close()

    const params = await waitForCallback('browser-state-2')
    expect(Object.fromEntries(params)).toEqual({ error: 'access_denied', error_description: expect.any(String), state: 'browser-state-2', iss: base })
  }, 120_000)
})
