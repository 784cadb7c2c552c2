import { mkdir } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { expect } from 'vitest'
import { PASSWORD, type TestAccount } from './accounts.js'
import { seriousViolations } from './axe.js'
import { createTestApp, type TestApp } from './test-app.js'

/** Where the console's browser tests save their screenshots. */
export const SHOTS = join(process.cwd(), 'test-results', 'console')

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

export interface ConsoleBrowser {
  t: TestApp
  base: string
  browser: Browser
  close(): Promise<void>
}

/** A test app listening on a free port (PUBLIC_URL is its origin, so that console writes pass the origin check) and a chromium. */
export async function startConsoleBrowser(executablePath: string): Promise<ConsoleBrowser> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const t = await createTestApp({ env: { PUBLIC_URL: base } })
  await t.app.listen({ port, host: '127.0.0.1' })
  await mkdir(SHOTS, { recursive: true })
  // --no-sandbox: CI runs as root, where chromium's sandbox cannot start.
  const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] })
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

/** A fresh browser context at a width, on the console, with every CSP violation collected. */
export async function openConsole(at: ConsoleBrowser, width: number): Promise<{ page: Page; context: BrowserContext; cspViolations: string[] }> {
  const context = await at.browser.newContext({ viewport: { width, height: 900 } })
  const page = await context.newPage()
  const cspViolations: string[] = []
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text())
  })
  const response = await page.goto(`${at.base}/admin`)
  expect(response?.status()).toBe(200)
  return { page, context, cspViolations }
}

export async function signInAs(page: Page, account: TestAccount): Promise<void> {
  await page.getByLabel('Email').fill(account.email)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
}

export async function expectAccessible(page: Page): Promise<void> {
  expect(await seriousViolations(page)).toEqual([])
}
