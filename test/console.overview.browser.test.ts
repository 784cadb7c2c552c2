import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signup, type TestAccount } from './helpers/accounts.js'
import { browserPath, expectAccessible, expectNoSideScroll, openConsole, SHOTS, signInAs, signInOperator, startConsoleBrowser, type ConsoleBrowser } from './helpers/console-browser.js'
import { bearer, createGptWithKey, injectJson } from './helpers/test-app.js'

// The overview in chromium: the GPTs with their counts, and for the operator the charts of this
// process's last hour (SVG, labelled, with their numbers in a table), the backlog and the job runs.
describe.skipIf(browserPath.path === null)(`the console's overview in chromium${browserPath.reason ? ` (skipped: ${browserPath.reason})` : ''}`, () => {
  let at: ConsoleBrowser
  let owner: TestAccount

  beforeAll(async () => {
    at = await startConsoleBrowser()
    owner = await signup(at.t.app)
    expect((await injectJson(at.t.app, 'POST', '/v1/gpts', bearer(owner.key), { id: 'ov-owned', name: 'Owned' })).statusCode).toBe(201)
    const key = (await createGptWithKey(at.t.services, 'ov-owned', ['read', 'write'])).token
    for (const content of ['first', 'second', 'third']) {
      expect((await injectJson(at.t.app, 'POST', '/v1/gpts/ov-owned/memories', bearer(key), { content })).statusCode).toBe(201)
    }
    await createGptWithKey(at.t.services, 'ov-operator-only', ['read'])
  }, 120_000)
  afterAll(async () => at?.close())

  for (const width of [1280, 390]) {
    it(`shows the operator every GPT with its counts and the charts of the last hour (${width} px)`, async () => {
      const { page, context, cspViolations } = await openConsole(at.browser, at.base, width)
      try {
        await signInOperator(page, at.t.adminToken)
        const table = page.getByRole('table', { name: 'Every GPT on this server' })
        const owned = table.getByRole('row', { name: /ov-owned/ }).getByRole('cell')
        await expect.poll(() => owned.allTextContents()).toEqual(['Owned', '0', '3', '0', '0', '0', expect.stringContaining('Keys of ov-owned')])
        expect(await table.getByRole('row', { name: /ov-operator-only/ }).count()).toBe(1)

        // The requests chart: a picture labelled with its numbers, and the numbers themselves.
        const requests = page.getByRole('img', { name: /^Requests per minute: latest \d+, highest \d+, over 60 minutes\.$/ })
        await requests.waitFor()
        expect(await requests.locator('rect.bar').count()).toBeGreaterThan(0)
        await page.getByText('The numbers of Requests per minute').click()
        const rows = page.getByRole('table', { name: 'Requests per minute, a row a minute' }).locator('tbody tr')
        expect(await rows.count()).toBe(60)
        const served = (await rows.locator('td').allTextContents()).reduce((sum, text) => sum + Number(text), 0)
        expect(served).toBeGreaterThan(0)
        await page.getByRole('img', { name: /^p95 latency: latest [\d.]+ ms/ }).waitFor()
        await page.getByRole('img', { name: /^Error rate \(5xx\): latest 0\.0 %/ }).waitFor()
        await page.getByText('No backup in BACKUP_DIR yet.').waitFor()
        await page.getByText('This process runs no background jobs.').waitFor()
        const backlog = page.getByRole('table', { name: 'Embedding backlog' })
        expect(await backlog.getByRole('row', { name: /Chat messages/ }).getByRole('cell').first().textContent()).toBe('0')

        await expectAccessible(page)
        await expectNoSideScroll(page, width)
        expect(cspViolations).toEqual([])
        await page.screenshot({ path: join(SHOTS, `overview-operator-${width}.png`), fullPage: true })
      } finally {
        await context.close()
      }
    })
  }

  it("shows an account its own GPTs and their backlog, and nothing of the server's", async () => {
    const { page, context, cspViolations } = await openConsole(at.browser, at.base, 1280)
    try {
      await signInAs(page, owner)
      const table = page.getByRole('table', { name: 'Your GPTs' })
      await expect.poll(() => table.locator('tbody tr').count()).toBe(1)
      expect(await table.getByRole('row', { name: /ov-owned/ }).count()).toBe(1)
      await page.getByRole('heading', { name: 'Embedding backlog' }).waitFor()
      expect(await page.getByRole('heading', { name: 'This process, the last hour' }).count()).toBe(0)
      expect(await page.getByRole('img').count()).toBe(0)
      await expectAccessible(page)
      expect(cspViolations).toEqual([])
      await page.screenshot({ path: join(SHOTS, 'overview-account.png'), fullPage: true })
    } finally {
      await context.close()
    }
  })
})
