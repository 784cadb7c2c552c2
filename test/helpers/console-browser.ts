import { mkdir } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { expect } from 'vitest'
import { PASSWORD, type TestAccount } from './accounts.js'
import { seriousViolations } from './axe.js'
import { findOrInstallChromium } from './chromium.js'
import { createTestApp, type TestApp, type TestAppOptions } from './test-app.js'

/** The console's browser tests: a listening app, Debian's chromium, a screenshot folder. */
export const browserPath = findOrInstallChromium()
export const SHOTS = join(process.cwd(), 'test-results', 'console')

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** An app listening on a free port, PUBLIC_URL its own address (the console checks Origin against it). */
export async function listeningTestApp(options: TestAppOptions = {}): Promise<{ t: TestApp; base: string }> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const t = await createTestApp({ ...options, env: { PUBLIC_URL: base, ...options.env } })
  await t.app.listen({ port, host: '127.0.0.1' })
  return { t, base }
}

export async function launchBrowser(): Promise<Browser> {
  await mkdir(SHOTS, { recursive: true })
  // --no-sandbox: CI runs as root, where chromium's sandbox cannot start.
  return chromium.launch({ executablePath: browserPath.path!, headless: true, args: ['--no-sandbox'] })
}

export interface ConsolePage {
  page: Page
  context: BrowserContext
  cspViolations: string[]
}

/** A fresh browser at a width, on the console (at `hash`), with every CSP violation collected. */
export async function openConsole(browser: Browser, base: string, width: number, hash = ''): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: { width, height: 900 } })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base })
  const page = await context.newPage()
  const cspViolations: string[] = []
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text())
  })
  const response = await page.goto(`${base}/admin${hash}`)
  expect(response?.status()).toBe(200)
  return { page, context, cspViolations }
}

export async function expectAccessible(page: Page): Promise<void> {
  expect(await seriousViolations(page)).toEqual([])
}

export async function signInAccount(page: Page, account: TestAccount): Promise<void> {
  await page.getByLabel('Email').fill(account.email)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
}

export async function signInOperator(page: Page, adminToken: string): Promise<void> {
  await page.getByLabel('Admin token').fill(adminToken)
  await page.getByRole('button', { name: 'Sign in as operator' }).click()
}

/** The page does not scroll sideways at this width. */
export async function expectNoSideScroll(page: Page, width: number): Promise<void> {
  expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(width)
}

export interface ConsoleBrowser {
  t: TestApp
  base: string
  browser: Browser
  close(): Promise<void>
}

/** A listening test app and a chromium, closed together. */
export async function startConsoleBrowser(): Promise<ConsoleBrowser> {
  const { t, base } = await listeningTestApp()
  const browser = await launchBrowser()
  return {
    t,
    base,
    browser,
    async close() {
      await browser.close()
      await t.close()
    },
  }
}

/** Signs an account in and waits for the overview. */
export async function signInAs(page: Page, account: TestAccount): Promise<void> {
  await signInAccount(page, account)
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
}
