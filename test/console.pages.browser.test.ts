import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signup, type TestAccount } from './helpers/accounts.js'
import {
  browserPath,
  expectAccessible,
  expectNoSideScroll,
  launchBrowser,
  listeningTestApp,
  openConsole,
  SHOTS,
  signInAccount,
  signInOperator,
} from './helpers/console-browser.js'
import { bearer, createGptWithKey, injectJson, type TestApp } from './helpers/test-app.js'

// The console's audit log, live inbox, conversations and connection page in chromium; axe on each,
// a screenshot of each.
const GPT = 'pages-gpt'

describe.skipIf(browserPath.path === null)(`the console's audit, mail and connect pages in chromium${browserPath.reason ? ` (skipped: ${browserPath.reason})` : ''}`, () => {
  let t: TestApp
  let base: string
  let browser: Browser
  let key: string
  let stranger: TestAccount
  const agents: Record<string, string> = {}
  let conversationId: string

  const api = async <T>(method: 'GET' | 'POST', url: string, body?: unknown, expected = 201): Promise<T> => {
    const response = await injectJson(t.app, method, url, bearer(key), body)
    expect(response.statusCode, response.body).toBe(expected)
    return response.json<T>()
  }

  beforeAll(async () => {
    ;({ t, base } = await listeningTestApp())
    key = (await createGptWithKey(t.services, GPT, ['read', 'write', 'admin'])).token
    stranger = await signup(t.app)
    await api('POST', `/v1/gpts/${GPT}/collections`, { name: 'notes' })
    await api('GET', `/v1/gpts/${GPT}/collections/missing`, undefined, 404)
    for (const name of ['alice', 'bob']) agents[name] = (await api<{ id: string }>('POST', `/v1/gpts/${GPT}/agents`, { name })).id
    conversationId = (await api<{ id: string }>('POST', `/v1/gpts/${GPT}/conversations`, { title: 'Release plan' })).id
    await api('POST', `/v1/gpts/${GPT}/mail`, { from: agents.alice, to: [agents.bob], conversation_id: conversationId, content: 'Ship on Friday?' })
    await t.services.auditWriter!.flush()
    browser = await launchBrowser()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  it('reads the audit log and filters it by status and action, at 390 px', async () => {
    const { page, context, cspViolations } = await openConsole(browser, base, 390, `#/gpts/${GPT}/audit`)
    try {
      await signInOperator(page, t.adminToken)
      await page.getByRole('heading', { level: 1, name: `Audit log of ${GPT}` }).waitFor()
      const table = page.getByRole('table', { name: 'Audit entries, newest first' })
      await table.getByRole('rowheader', { name: 'upsertCollection' }).waitFor()
      await table.getByRole('rowheader', { name: 'getCollection' }).waitFor()
      await expectAccessible(page)

      await page.getByLabel('Status').selectOption('4xx')
      await page.getByRole('button', { name: 'Apply the filter' }).click()
      await expect.poll(() => table.getByRole('rowheader').allTextContents()).toEqual(['getCollection'])
      expect(await table.getByRole('row').nth(1).getByRole('cell').nth(1).textContent()).toBe('404')

      await page.getByLabel('Status').selectOption('')
      await page.getByLabel('Action').fill('sendMail')
      await page.getByRole('button', { name: 'Apply the filter' }).click()
      await expect.poll(() => table.getByRole('rowheader').allTextContents()).toEqual(['sendMail'])
      await expectAccessible(page)
      await expectNoSideScroll(page, 390)
      expect(cspViolations).toEqual([])
      await page.screenshot({ path: join(SHOTS, 'audit-filtered-390.png'), fullPage: true })
    } finally {
      await context.close()
    }
  })

  it('refuses an account another account\'s audit log', async () => {
    const { page, context } = await openConsole(browser, base, 1280, `#/gpts/${GPT}/audit`)
    try {
      await signInAccount(page, stranger)
      await page.getByRole('heading', { level: 1, name: `Audit log of ${GPT}` }).waitFor()
      await page.getByRole('alert').waitFor()
      expect(await page.getByRole('table').count()).toBe(0)
      expect(await page.content()).not.toContain('upsertCollection')
    } finally {
      await context.close()
    }
  })

  it('shows an agent\'s inbox live and a conversation with its details', async () => {
    const { page, context, cspViolations } = await openConsole(browser, base, 1280, `#/gpts/${GPT}/mail`)
    try {
      await signInOperator(page, t.adminToken)
      await page.getByRole('heading', { level: 1, name: `Mail of ${GPT}` }).waitFor()
      await page.getByRole('table', { name: 'Conversations' }).getByRole('link', { name: 'Release plan' }).waitFor()
      await expectAccessible(page)
      await page.getByRole('link', { name: 'Inbox of bob' }).click()
      await page.getByRole('heading', { level: 1, name: 'Inbox of bob' }).waitFor()
      const inbox = page.getByRole('list', { name: 'Inbox, newest first' })
      await inbox.getByText('Ship on Friday?').waitFor()
      await page.getByText('Live: new mail appears here').waitFor()
      // Delivered while the page is open: it appears without a reload.
      await api('POST', `/v1/gpts/${GPT}/mail`, { from: agents.alice, to: [agents.bob], content: 'Friday it is.' })
      await page.getByRole('status').filter({ hasText: 'New mail from' }).waitFor()
      await expect.poll(() => inbox.getByRole('listitem').allTextContents()).toHaveLength(2)
      expect(await inbox.getByRole('listitem').first().textContent()).toContain('Friday it is.')
      await expectAccessible(page)
      await page.screenshot({ path: join(SHOTS, 'mail-inbox-live.png'), fullPage: true })

      await page.getByRole('link', { name: 'Mail', exact: true }).click()
      await page.getByRole('link', { name: 'Release plan' }).click()
      await page.getByRole('heading', { level: 1, name: 'Release plan' }).waitFor()
      const taking = page.getByRole('table', { name: 'Agents taking part' })
      await expect.poll(() => taking.getByRole('rowheader').allTextContents()).toEqual(expect.arrayContaining(['alice', 'bob']))
      await page.getByRole('list', { name: 'Messages, oldest first' }).getByText('Ship on Friday?').waitFor()
      await expectAccessible(page)
      expect(cspViolations).toEqual([])
      await page.screenshot({ path: join(SHOTS, 'mail-conversation.png'), fullPage: true })
    } finally {
      await context.close()
    }
  })

  it('says an inbox is live only once its stream is open, and shows mail delivered while it was opening', async () => {
    const { page, context } = await openConsole(browser, base, 1280, `#/gpts/${GPT}/mail/agents/${agents.alice}`)
    try {
      // The stream's request is held, as a slow network or a busy server would hold it.
      let release = () => {}
      const held = new Promise<void>((resolve) => (release = resolve))
      await page.route('**/admin/api/v1/agents/*/inbox/stream', async (route) => {
        await held
        await route.continue()
      })
      await signInOperator(page, t.adminToken)
      await page.getByRole('heading', { level: 1, name: 'Inbox of alice' }).waitFor()
      await page.getByText('Connecting…').waitFor()
      await api('POST', `/v1/gpts/${GPT}/mail`, { from: agents.bob, to: [agents.alice], content: 'Sent while the page connected.' })
      release()
      await page.getByText('Live: new mail appears here').waitFor()
      await page.getByRole('list', { name: 'Inbox, newest first' }).getByText('Sent while the page connected.').waitFor()
    } finally {
      await context.close()
    }
  })

  it('gives the Action spec URL with its operations and the MCP snippets', async () => {
    const { page, context, cspViolations } = await openConsole(browser, base, 1280, `#/gpts/${GPT}/connect`)
    try {
      await signInOperator(page, t.adminToken)
      await page.getByRole('heading', { level: 1, name: `Connect ${GPT}` }).waitFor()
      const specUrl = `${base}/v1/gpts/${GPT}/openapi.json`
      expect(await page.getByLabel('Action spec URL').inputValue()).toBe(specUrl)
      const operations = page.getByRole('table', { name: /Operations the Action offers/ })
      await expect.poll(() => operations.getByRole('rowheader').allTextContents()).toContain('create_document')
      await page.getByRole('button', { name: 'Copy Action spec URL' }).click()
      await page.getByRole('status').filter({ hasText: 'Action spec URL copied to the clipboard.' }).waitFor()
      expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(specUrl)
      expect(await page.getByLabel('Claude Code command').inputValue()).toContain(`${base}/mcp`)
      await expectAccessible(page)
      expect(cspViolations).toEqual([])
      await page.screenshot({ path: join(SHOTS, 'connect.png'), fullPage: true })
    } finally {
      await context.close()
    }
  })
})
