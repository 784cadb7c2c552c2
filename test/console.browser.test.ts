import { mkdir } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PASSWORD, signup, type TestAccount } from './helpers/accounts.js'
import { seriousViolations } from './helpers/axe.js'
import { findOrInstallChromium } from './helpers/chromium.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

// The admin console as a person meets it, in Debian's chromium: both sign-ins, a key created (its
// secret seen once), revoked, sign-out; axe-core on every page; a screenshot after each test.
const browserPath = findOrInstallChromium()
const SHOTS = join(process.cwd(), 'test-results', 'console')

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe.skipIf(browserPath.path === null)(`the admin console in chromium${browserPath.reason ? ` (skipped: ${browserPath.reason})` : ''}`, () => {
  let t: TestApp
  let base: string
  let browser: Browser
  let owner: TestAccount

  beforeAll(async () => {
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    t = await createTestApp({ env: { PUBLIC_URL: base } })
    await t.app.listen({ port, host: '127.0.0.1' })
    owner = await signup(t.app)
    const other = await signup(t.app)
    for (const [account, id] of [[owner, 'owner-gpt'], [other, 'other-gpt']] as const) {
      expect((await injectJson(t.app, 'POST', '/v1/gpts', bearer(account.key), { id, name: `${id} name` })).statusCode).toBe(201)
    }
    const { token } = await createGptWithKey(t.services, 'operator-only-gpt', ['read', 'write'])
    expect((await injectJson(t.app, 'POST', '/v1/gpts/operator-only-gpt/collections', bearer(token), { name: 'notes' })).statusCode).toBe(201)
    expect((await injectJson(t.app, 'POST', '/v1/gpts/operator-only-gpt/collections/notes/objects', bearer(token), { data: { n: 1 } })).statusCode).toBe(201)
    await mkdir(SHOTS, { recursive: true })
    // --no-sandbox: CI runs as root, where chromium's sandbox cannot start.
    browser = await chromium.launch({ executablePath: browserPath.path!, headless: true, args: ['--no-sandbox'] })
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  /** A fresh browser at a width, on the console, with every CSP violation collected. */
  async function open(width: number): Promise<{ page: Page; context: BrowserContext; cspViolations: string[] }> {
    const context = await browser.newContext({ viewport: { width, height: 900 } })
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base })
    const page = await context.newPage()
    const cspViolations: string[] = []
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text())
    })
    const response = await page.goto(`${base}/admin`)
    expect(response?.status()).toBe(200)
    return { page, context, cspViolations }
  }

  async function expectAccessible(page: Page) {
    expect(await seriousViolations(page)).toEqual([])
  }

  async function signInAccount(page: Page) {
    await page.getByLabel('Email').fill(owner.email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
  }

  it('signs an account in, shows only its GPTs, creates a key shown once, revokes it and signs out', async () => {
    const { page, context, cspViolations } = await open(1280)
    try {
      await page.getByRole('heading', { name: 'Sign in to Agentstore' }).waitFor()
      await expectAccessible(page)
      await signInAccount(page)
      const table = page.getByRole('table', { name: 'Your GPTs' })
      await expect.poll(() => table.getByRole('row').count()).toBe(2)
      expect(await table.textContent()).toContain('owner-gpt')
      expect(await table.textContent()).not.toContain('other-gpt')
      await expectAccessible(page)

      await page.getByRole('link', { name: 'Keys of owner-gpt' }).click()
      await page.getByRole('heading', { level: 1, name: 'Keys of owner-gpt' }).waitFor()
      await page.getByLabel('Name (optional)').fill('browser key')
      await page.getByRole('button', { name: 'Create key' }).click()
      const secret = page.getByLabel('Key', { exact: true })
      await secret.waitFor()
      const key = await secret.inputValue()
      expect(key).toMatch(/^ak_/)
      await expectAccessible(page)
      await page.getByRole('button', { name: 'Copy' }).click()
      await page.getByRole('status').filter({ hasText: 'Key copied to the clipboard.' }).waitFor()
      expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(key)
      expect((await t.app.inject({ url: '/v1/me', headers: bearer(key) })).statusCode).toBe(200)

      // Shown once: after a reload the key is listed, its secret is nowhere on the page.
      await page.reload()
      const row = page.getByRole('row', { name: /browser key/ })
      await row.waitFor()
      expect(await page.content()).not.toContain(key)
      page.once('dialog', (dialog) => void dialog.accept())
      await row.getByRole('button', { name: /Revoke/ }).click()
      await page.getByRole('status').filter({ hasText: 'Key browser key revoked.' }).waitFor()
      await row.getByRole('cell', { name: 'revoked', exact: true }).waitFor()
      expect((await t.app.inject({ url: '/v1/me', headers: bearer(key) })).statusCode).toBe(401)

      await page.getByRole('button', { name: 'Sign out' }).click()
      await page.getByRole('heading', { name: 'Sign in to Agentstore' }).waitFor()
      await page.reload()
      await page.getByRole('heading', { name: 'Sign in to Agentstore' }).waitFor()
      expect(cspViolations).toEqual([])
      await page.screenshot({ path: join(SHOTS, 'account-keys.png'), fullPage: true })
    } finally {
      await context.close()
    }
  })

  it('signs the operator in at 390 px and shows every GPT', async () => {
    const { page, context, cspViolations } = await open(390)
    try {
      await page.getByLabel('Admin token').fill(t.adminToken)
      await page.getByRole('button', { name: 'Sign in as operator' }).click()
      const table = page.getByRole('table', { name: 'Every GPT on this server' })
      await expect.poll(() => table.getByRole('row').count()).toBe(4)
      // Its counts: the one document, nothing else.
      const counts = table.getByRole('row', { name: /operator-only-gpt/ }).getByRole('cell')
      await expect.poll(() => counts.allTextContents()).toEqual(['operator-only-gpt', '1', '0', '0', '0', '0', 'Keys of operator-only-gptApps of operator-only-gptCollections of operator-only-gptMemories of operator-only-gpt'])
      await expectAccessible(page)
      // Readable at 390 px: the page itself does not scroll sideways.
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
      expect(cspViolations).toEqual([])
      await page.screenshot({ path: join(SHOTS, 'operator-overview-390.png'), fullPage: true })
      await page.getByRole('button', { name: 'Sign out' }).click()
      await page.getByRole('heading', { name: 'Sign in to Agentstore' }).waitFor()
    } finally {
      await context.close()
    }
  })

  it('says why a sign-in failed, by keyboard alone', async () => {
    const { page, context } = await open(1280)
    try {
      await page.getByLabel('Email').focus()
      await page.keyboard.type(owner.email)
      await page.keyboard.press('Tab')
      await page.keyboard.type('Wrong-Password1')
      await page.keyboard.press('Enter')
      await expect.poll(() => page.getByRole('alert').textContent()).toBe('The email or password is not correct.')
      await expectAccessible(page)
      await page.screenshot({ path: join(SHOTS, 'sign-in-failed.png'), fullPage: true })
    } finally {
      await context.close()
    }
  })
})
