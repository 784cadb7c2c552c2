import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signup, type TestAccount } from './helpers/accounts.js'
import { browserPath, expectAccessible, expectNoSideScroll, openConsole, SHOTS, signInAs, startConsoleBrowser, type ConsoleBrowser } from './helpers/console-browser.js'
import { bearer, createGptWithKey, injectJson } from './helpers/test-app.js'

// The memories page and the search playground, in chromium: a memory added through the page with its
// embedding status, filtered, then found in the playground with its score and why it matched.
const GPT = 'memo-gpt'

describe.skipIf(browserPath.path === null)(`the console's memories and search pages in chromium${browserPath.reason ? ` (skipped: ${browserPath.reason})` : ''}`, () => {
  let at: ConsoleBrowser
  let owner: TestAccount
  let key: string

  beforeAll(async () => {
    at = await startConsoleBrowser()
    owner = await signup(at.t.app)
    expect((await injectJson(at.t.app, 'POST', '/v1/gpts', bearer(owner.key), { id: GPT, name: 'Memo' })).statusCode).toBe(201)
    key = (await createGptWithKey(at.t.services, GPT, ['read', 'write'])).token
    for (const content of ['Tom restores a vintage Jaguar sports car.', 'The quarterly budget review is on Friday.']) {
      expect((await injectJson(at.t.app, 'POST', `/v1/gpts/${GPT}/memories`, bearer(key), { content, metadata: { topic: 'other' } })).statusCode).toBe(201)
    }
  }, 120_000)
  afterAll(async () => at?.close())

  it('adds a memory, shows its embedding status, filters, and finds it in the search playground with its score and why', async () => {
    const { page, context, cspViolations } = await openConsole(at.browser, at.base, 1280)
    try {
      await signInAs(page, owner)
      await page.getByRole('link', { name: `Memories of ${GPT}` }).click()
      await page.getByRole('heading', { level: 1, name: `Memories of ${GPT}` }).waitFor()
      const memories = page.getByRole('table', { name: 'Memories, oldest first' }).locator('tbody tr')
      await expect.poll(() => memories.count()).toBe(2)
      await expectAccessible(page)

      // Metadata that is not an object: said at its field, and nothing is sent.
      await page.getByLabel('Content').fill('Maria is allergic to shellfish and avoids shrimp.')
      await page.getByLabel('Metadata (optional JSON object)').fill('["food"]')
      await page.getByRole('button', { name: 'Add memory' }).click()
      await expect.poll(() => page.locator('#memory-metadata-errors').textContent()).toBe('The metadata must be a JSON object ({…}).')

      await page.getByLabel('Metadata (optional JSON object)').fill('{"topic": "food"}')
      await page.getByLabel(/^Entity type \(optional/).fill('health')
      await page.getByLabel('End user (optional)').fill('maria')
      await page.getByRole('button', { name: 'Add memory' }).click()
      await page.getByRole('status').filter({ hasText: 'Memory added (searchable now).' }).waitFor()
      await expect.poll(() => memories.count()).toBe(3)
      const added = page.getByRole('row', { name: /Maria is allergic/ })
      expect(await added.getByRole('cell').allTextContents()).toEqual(['health', 'maria', '{"topic":"food"}', 'ready (searchable)', expect.any(String), expect.stringMatching(/^Edit .*Delete /)])

      await page.getByLabel('Metadata contains (JSON)').fill('{"topic": "food"}')
      await page.getByLabel('Embedding status').selectOption('ready')
      await page.getByRole('button', { name: 'Apply filters' }).click()
      await expect.poll(() => memories.allTextContents()).toEqual([expect.stringContaining('Maria is allergic')])
      await page.getByLabel('Embedding status').selectOption('pending')
      await page.getByRole('button', { name: 'Apply filters' }).click()
      await page.getByRole('cell', { name: 'No memories match these filters.' }).waitFor()
      await expectAccessible(page)
      await page.screenshot({ path: join(SHOTS, 'memories.png'), fullPage: true })

      await page.getByRole('navigation', { name: `GPT ${GPT}` }).getByRole('link', { name: 'Search', exact: true }).click()
      await page.getByRole('heading', { level: 1, name: `Search ${GPT}` }).waitFor()
      await expectAccessible(page)
      // A blank query: the API's 422, at the query field.
      await page.getByRole('button', { name: 'Search', exact: true }).click()
      await expect.poll(() => page.locator('#search-query-errors').count()).toBe(1)
      expect(await page.getByLabel('Query').getAttribute('aria-invalid')).toBe('true')

      await page.getByLabel('Query').fill('seafood allergy')
      await page.getByLabel('Semantic (meaning)').check()
      await page.getByLabel('Chat messages').uncheck()
      await page.getByRole('button', { name: 'Search', exact: true }).click()
      const results = page.getByRole('table', { name: 'Results, best first' }).locator('tbody tr')
      await expect.poll(() => results.count()).toBe(3)
      const best = results.first()
      const [score, found, content, why] = await best.locator('td, th').allTextContents()
      expect([found, content]).toEqual(['memory (health) of maria', 'Maria is allergic to shellfish and avoids shrimp.'])
      expect(Number(score)).toBeGreaterThan(0)
      expect(why).toBe(`meaning: #1, similarity ${Number(score).toFixed(3)}`)
      expect(await page.getByRole('status').filter({ hasText: /results?; mode/ }).textContent()).toMatch(/^3 results; mode semantic, over memories, objects; vectors: /)

      // Hybrid: found by meaning and by its words, and says which.
      await page.getByLabel('Query').fill('shellfish allergy')
      await page.getByLabel('Hybrid (meaning and words, fused)').check()
      await page.getByLabel('End user').fill('maria')
      await page.getByRole('button', { name: 'Search', exact: true }).click()
      await expect.poll(() => results.count()).toBe(1)
      await expect.poll(() => results.first().locator('.why').textContent()).toMatch(/^meaning: #1, similarity \d\.\d{3}words: #1 \(shellfish\), rank \d\.\d{3}$/)
      await expectAccessible(page)
      expect(cspViolations).toEqual([])
      await page.screenshot({ path: join(SHOTS, 'search-playground.png'), fullPage: true })
    } finally {
      await context.close()
    }
  })

  it('edits a memory (content, metadata merged) and deletes one after confirming, at 390 px', async () => {
    const { page, context, cspViolations } = await openConsole(at.browser, at.base, 390)
    try {
      await signInAs(page, owner)
      await page.getByRole('link', { name: `Memories of ${GPT}` }).click()
      const memories = page.getByRole('table', { name: 'Memories, oldest first' }).locator('tbody tr')
      const budget = page.getByRole('row', { name: /quarterly budget review/ })
      await budget.waitFor()
      const id = (await listed()).find((memory) => memory.content.startsWith('The quarterly budget'))!.id

      await budget.getByRole('button', { name: /^Edit The quarterly budget/ }).click()
      await page.getByRole('heading', { name: 'Edit a memory' }).waitFor()
      // The focus moves into the form, from an effect that Preact runs after the form is painted.
      await expect.poll(() => page.evaluate<string | undefined>('document.activeElement?.id')).toBe('edit-memory-content')
      await page.getByLabel('New content').fill('The quarterly budget review moved to Monday.')
      await page.getByLabel('Metadata to add or change (optional JSON object)').fill('[1]')
      await page.getByRole('button', { name: 'Save memory' }).click()
      await expect.poll(() => page.locator('#edit-memory-metadata-errors').textContent()).toBe('The metadata must be a JSON object ({…}).')
      await page.getByLabel('Metadata to add or change (optional JSON object)').fill('{"when": "monday"}')
      await expectAccessible(page)
      await page.getByRole('button', { name: 'Save memory' }).click()
      await page.getByRole('status').filter({ hasText: /^Memory saved/ }).waitFor()
      await page.getByRole('row', { name: /moved to Monday/ }).waitFor()
      const stored = (await listed()).find((memory) => memory.id === id)!
      expect(stored).toMatchObject({ content: 'The quarterly budget review moved to Monday.', metadata: { topic: 'other', when: 'monday' } })
      await expectNoSideScroll(page, 390)
      await page.screenshot({ path: join(SHOTS, 'memory-edited-390.png'), fullPage: true })

      // Delete: dismissing the confirmation keeps it; accepting deletes it.
      const count = await memories.count()
      const edited = page.getByRole('row', { name: /moved to Monday/ })
      let question = ''
      page.once('dialog', (dialog) => void dialog.dismiss())
      await edited.getByRole('button', { name: /^Delete The quarterly budget/ }).click()
      expect(await edited.count()).toBe(1)
      page.once('dialog', (dialog) => {
        question = dialog.message()
        void dialog.accept()
      })
      await edited.getByRole('button', { name: /^Delete The quarterly budget/ }).click()
      await page.getByRole('status').filter({ hasText: 'Memory deleted.' }).waitFor()
      await expect.poll(() => memories.count()).toBe(count - 1)
      expect(question).toBe('Delete the memory "The quarterly budget review moved to Monday."? It is forgotten, with its vector.')
      expect((await listed()).some((memory) => memory.id === id)).toBe(false)
      await expectAccessible(page)
      expect(cspViolations).toEqual([])
    } finally {
      await context.close()
    }
  })

  async function listed(): Promise<{ id: string; content: string; metadata: Record<string, unknown> }[]> {
    const response = await injectJson(at.t.app, 'GET', `/v1/gpts/${GPT}/memories?limit=100`, bearer(key))
    return response.json<{ memories: { id: string; content: string; metadata: Record<string, unknown> }[] }>().memories
  }
})
