import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signup, type TestAccount } from './helpers/accounts.js'
import { browserPath, expectAccessible, expectNoSideScroll, openConsole, SHOTS, signInAs, startConsoleBrowser, type ConsoleBrowser } from './helpers/console-browser.js'
import { connectEndUser, REDIRECT } from './helpers/oauth.js'
import { bearer, injectJson } from './helpers/test-app.js'

// The OAuth apps page in chromium: an app registered (its secret seen once, copied), listed with its
// redirect URIs and scopes, an end user's session of it listed and ended, the app deleted after confirming.
const GPT = 'apps-gpt'

describe.skipIf(browserPath.path === null)(`the console's OAuth apps page in chromium${browserPath.reason ? ` (skipped: ${browserPath.reason})` : ''}`, () => {
  let at: ConsoleBrowser
  let owner: TestAccount

  beforeAll(async () => {
    at = await startConsoleBrowser()
    owner = await signup(at.t.app)
    expect((await injectJson(at.t.app, 'POST', '/v1/gpts', bearer(owner.key), { id: GPT, name: 'Apps' })).statusCode).toBe(201)
  }, 120_000)
  afterAll(async () => at?.close())

  for (const width of [1280, 390]) {
    it(`registers an app and shows its secret once, lists and ends a session of it, deletes it (${width} px)`, async () => {
      const { page, context, cspViolations } = await openConsole(at.browser, at.base, width)
      try {
        await signInAs(page, owner)
        await page.getByRole('link', { name: `Apps of ${GPT}` }).click()
        await page.getByRole('heading', { level: 1, name: `OAuth apps of ${GPT}` }).waitFor()
        await page.getByRole('cell', { name: 'No apps yet.' }).waitFor()
        await expectAccessible(page)

        const name = `Planner ${width}`
        await page.getByLabel('Name').fill(name)
        await page.getByLabel('Redirect URIs (one a line)').fill(`${REDIRECT}\nhttps://example.com/cb`)
        await page.getByLabel('admin').check()
        await page.getByRole('button', { name: 'Register app' }).click()
        const secret = page.getByLabel('Client secret')
        await secret.waitFor()
        const clientSecret = await secret.inputValue()
        const clientId = await page.getByLabel('Client id').inputValue()
        expect(clientSecret.length).toBeGreaterThan(20)
        await page.getByRole('button', { name: 'Copy' }).click()
        await page.getByRole('status').filter({ hasText: 'Client secret copied to the clipboard.' }).waitFor()
        expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(clientSecret)

        const row = page.getByRole('row', { name: new RegExp(name) })
        expect(await row.getByRole('cell').allTextContents()).toEqual([clientId, `${REDIRECT}https://example.com/cb`, 'read, write, admin', 'never', expect.stringContaining('Sessions')])
        await expectAccessible(page)
        await expectNoSideScroll(page, width)
        await page.screenshot({ path: join(SHOTS, `apps-created-${width}.png`), fullPage: true })

        // Shown once: after Done, and on the next visit, the secret is nowhere on the page.
        await page.getByRole('button', { name: 'Done' }).click()
        await page.reload()
        await page.getByRole('heading', { level: 1, name: `OAuth apps of ${GPT}` }).waitFor()
        await row.waitFor()
        expect(await page.content()).not.toContain(clientSecret)

        // An end user connects: their session is listed, and ended from the page.
        const app = { id: '', gpt_id: GPT, client_id: clientId, client_secret: clientSecret }
        await connectEndUser(at.t.app, app, { email: `user-${width}@example.com`, password: 'Correct-Horse1' })
        await row.getByRole('link', { name: `Sessions of ${name}` }).click()
        await page.getByRole('heading', { level: 1, name: `Sessions of ${name}` }).waitFor()
        const sessions = page.getByRole('table', { name: 'Live sessions' }).locator('tbody tr')
        await expect.poll(() => sessions.count()).toBe(1)
        expect(await sessions.first().getByRole('cell').first().textContent()).toBe('read, write')
        await expectAccessible(page)
        let question = ''
        page.once('dialog', (dialog) => {
          question = dialog.message()
          void dialog.accept()
        })
        await sessions.first().getByRole('button', { name: /^End session/ }).click()
        await page.getByRole('cell', { name: 'No live sessions.' }).waitFor()
        expect(question).toMatch(/^End this session of Planner/)

        // Delete: a dismissed confirmation keeps the app, an accepted one deletes it.
        await page.getByRole('link', { name: 'All apps' }).click()
        page.once('dialog', (dialog) => void dialog.dismiss())
        await row.getByRole('button', { name: `Delete ${name}` }).click()
        expect(await row.count()).toBe(1)
        page.once('dialog', (dialog) => void dialog.accept())
        await row.getByRole('button', { name: `Delete ${name}` }).click()
        await page.getByRole('status').filter({ hasText: `App ${name} deleted.` }).waitFor()
        expect(await row.count()).toBe(0)
        const listed = await injectJson(at.t.app, 'GET', `/v1/gpts/${GPT}/apps`, bearer(owner.key))
        expect(listed.json<{ apps: unknown[] }>().apps).toEqual([])
        expect(cspViolations).toEqual([])
      } finally {
        await context.close()
      }
    })
  }
})
