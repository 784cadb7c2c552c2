import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { signup, type TestAccount } from './helpers/accounts.js'
import { browserPath, expectAccessible, launchBrowser, listeningTestApp, openConsole, SHOTS, signInAccount } from './helpers/console-browser.js'
import { startFakeLlmServer, type FakeLlmServer } from './helpers/fake-llm-server.js'
import { bearer, injectJson, type TestApp } from './helpers/test-app.js'

// The console's chat in chromium: a reply watched as it streams, the page reloaded mid-reply and
// reattached until it finishes; a reply stopped and resumed. The fake model holds its stream until
// the test lets it go, so "live" means: text on the screen while the reply is not finished.
const TOKENS = ['Slow', ' and', ' steady', ' wins', ' the', ' race.']
const FULL = TOKENS.join('')
const GPT = 'live-gpt'

describe.skipIf(browserPath.path === null)(`the console's live chat in chromium${browserPath.reason ? ` (skipped: ${browserPath.reason})` : ''}`, () => {
  let llm: FakeLlmServer
  let t: TestApp
  let base: string
  let browser: Browser
  let owner: TestAccount

  beforeAll(async () => {
    llm = await startFakeLlmServer()
    ;({ t, base } = await listeningTestApp({ env: { LLM_PROVIDER: 'openai', LLM_BASE_URL: llm.openaiBaseUrl, LLM_API_KEY: 'sk-test', PARTIAL_SAVE_MS: '50' } }))
    owner = await signup(t.app)
    expect((await injectJson(t.app, 'POST', '/v1/gpts', bearer(owner.key), { id: GPT, name: 'Live GPT' })).statusCode).toBe(201)
    browser = await launchBrowser()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await t?.close()
    await llm?.close()
  })

  beforeEach(() => {
    llm.setDefault({})
    llm.release()
  })

  /** A session of a new end user, opened from the chat page; the page is left on its transcript. */
  async function openNewSession(width: number, user: string) {
    const opened = await openConsole(browser, base, width, `#/gpts/${GPT}/chat`)
    await signInAccount(opened.page, owner)
    await opened.page.getByRole('heading', { level: 1, name: `Chat sessions of ${GPT}` }).waitFor()
    await opened.page.getByLabel('End user', { exact: true }).last().fill(user)
    await opened.page.getByRole('button', { name: 'Start the session' }).click()
    await opened.page.getByRole('heading', { level: 1, name: `Chat with ${user}` }).waitFor()
    return opened
  }

  it('shows a reply as it streams, reattaches after a reload and sees it finish', async () => {
    const { page, context, cspViolations } = await openNewSession(1280, 'reader')
    try {
      await expectAccessible(page)
      llm.script({ tokens: TOKENS, hold: 2 })
      await page.getByLabel('Message as reader').fill('Tell me about tortoises.')
      await page.getByRole('button', { name: 'Send and generate' }).click()
      const transcript = page.getByRole('list', { name: 'Transcript' })
      await expect.poll(() => transcript.textContent()).toContain('Slow and')
      // Live: the text is there while the model still holds the rest back.
      await page.getByRole('status').filter({ hasText: 'Generating a reply…' }).waitFor()
      expect(await transcript.textContent()).not.toContain('steady')
      await page.getByRole('button', { name: 'Stop generating' }).waitFor()
      await expectAccessible(page)
      await page.screenshot({ path: join(SHOTS, 'chat-streaming.png'), fullPage: true })

      await page.reload()
      await page.getByRole('heading', { level: 1, name: 'Chat with reader' }).waitFor()
      await page.getByRole('status').filter({ hasText: 'Generating a reply…' }).waitFor()
      await expect.poll(() => transcript.textContent()).toContain('Slow and')
      expect(llm.release()).toBe(1)
      await page.getByRole('status').filter({ hasText: 'The reply is complete.' }).waitFor()
      await expect.poll(() => transcript.textContent()).toContain(FULL)
      // Once, not twice: the replayed and the live text joined at their offsets.
      expect((await transcript.textContent())!.split('Slow and').length).toBe(2)
      expect(cspViolations).toEqual([])
      await page.screenshot({ path: join(SHOTS, 'chat-reattached-done.png'), fullPage: true })
    } finally {
      await context.close()
    }
  })

  it('stops a reply and resumes it from the text it kept, at 390 px', async () => {
    const { page, context } = await openNewSession(390, 'mobile reader')
    try {
      llm.script({ tokens: TOKENS, hold: 3 }, { tokens: [' wins', ' the', ' race.'] })
      await page.getByLabel('Message as mobile reader').fill('And hares?')
      await page.getByRole('button', { name: 'Send and generate' }).click()
      const transcript = page.getByRole('list', { name: 'Transcript' })
      await expect.poll(() => transcript.textContent()).toContain('Slow and steady')
      await page.getByRole('button', { name: 'Stop generating' }).click()
      await page.getByRole('status').filter({ hasText: 'The generation was stopped.' }).waitFor()
      await transcript.getByText('cancelled').waitFor()
      await page.getByRole('button', { name: 'Resume the reply' }).click()
      await page.getByRole('status').filter({ hasText: 'The reply is complete.' }).waitFor()
      await expect.poll(() => transcript.textContent()).toContain(FULL)
      await expectAccessible(page)
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
      await page.screenshot({ path: join(SHOTS, 'chat-resumed-390.png'), fullPage: true })
    } finally {
      await context.close()
    }
  })
})
