import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signup, type TestAccount } from './helpers/accounts.js'
import { browserPath, expectAccessible, openConsole, SHOTS, signInAs, startConsoleBrowser, type ConsoleBrowser } from './helpers/console-browser.js'
import { bearer, createGptWithKey, injectJson } from './helpers/test-app.js'

// The collections and documents pages of the console as an account owner meets them, in chromium: a
// schema with an error shown at its line, documents added and filtered, an edit that meets a change made
// behind its back (nothing overwritten), a delete with confirmation, NDJSON import/export, seek pages.
const GPT = 'shop-gpt'

describe.skipIf(browserPath.path === null)(`the console's collections pages in chromium${browserPath.reason ? ` (skipped: ${browserPath.reason})` : ''}`, () => {
  let at: ConsoleBrowser
  let owner: TestAccount
  let key: string

  beforeAll(async () => {
    at = await startConsoleBrowser()
    owner = await signup(at.t.app)
    expect((await injectJson(at.t.app, 'POST', '/v1/gpts', bearer(owner.key), { id: GPT, name: 'Shop' })).statusCode).toBe(201)
    // A key of the GPT, for the changes made behind the page's back.
    key = (await createGptWithKey(at.t.services, GPT, ['read', 'write', 'admin'])).token
  }, 120_000)
  afterAll(async () => at?.close())

  const api = (method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown) => injectJson(at.t.app, method, url, bearer(key), body)
  const rows = (page: Page, caption: string | RegExp) => page.getByRole('table', { name: caption }).locator('tbody tr')

  async function openPage(width: number, hash: string) {
    const opened = await openConsole(at.browser, at.base, width)
    await signInAs(opened.page, owner)
    await opened.page.goto(`${at.base}/admin#${hash}`)
    return opened
  }

  it('creates a collection with a schema, shows a schema error at its line, adds documents and filters them by where and q', async () => {
    const { page, context, cspViolations } = await openConsole(at.browser, at.base, 1280)
    try {
      await signInAs(page, owner)
      await page.getByRole('link', { name: `Collections of ${GPT}` }).click()
      await page.getByRole('heading', { level: 1, name: `Collections of ${GPT}` }).waitFor()
      await page.getByRole('cell', { name: 'No collections yet.' }).waitFor()
      await expectAccessible(page)

      await page.getByLabel('Name', { exact: true }).fill('books')
      const schema = page.getByLabel('JSON Schema (optional)')
      await schema.fill('{"type": "object", "required": ["title"], "properties": {"title": {"type": "strin"}, "tags": {"type": "array"}}}')
      await page.getByRole('button', { name: 'Create collection' }).click()
      await expect.poll(() => page.getByRole('alert').textContent()).toBe('The schema is not a valid JSON Schema.')
      // Shown at the field, at the line of the text (now formatted) where the wrong type is.
      const errors = page.locator('#collection-schema-errors')
      await expect.poll(() => errors.textContent()).toContain('line 8, /properties/title/type: must be one of "array", "boolean", "integer", "null", "number", "object", "string"')
      expect((await schema.inputValue()).split('\n')[7]).toBe('      "type": "strin"')
      expect(await schema.getAttribute('aria-invalid')).toBe('true')
      expect(await schema.getAttribute('aria-describedby')).toContain('collection-schema-errors')
      await expectAccessible(page)
      await page.screenshot({ path: join(SHOTS, 'collections-schema-error.png'), fullPage: true })
      expect((await api('GET', `/v1/gpts/${GPT}/collections/books`)).statusCode).toBe(404)

      await schema.fill((await schema.inputValue()).replace('"strin"', '"string"'))
      await page.getByRole('button', { name: 'Create collection' }).click()
      await page.getByRole('status').filter({ hasText: 'Collection books created.' }).waitFor()
      await page.getByRole('link', { name: 'books' }).click()
      await page.getByRole('heading', { level: 1, name: `Collection books of ${GPT}` }).waitFor()
      expect(await page.getByLabel('JSON Schema of the documents').inputValue()).toContain('"required": [')

      // A document that fails the schema: the API's errors, at their line of the document.
      const newDocument = page.getByLabel('Document (JSON)')
      await newDocument.fill('{"title": 5, "tags": ["sf"]}')
      await page.getByRole('button', { name: 'Add document' }).click()
      await expect.poll(() => page.locator('#new-document-errors').textContent()).toBe('line 2, /title: must be string')
      expect(await page.getByRole('alert').textContent()).toBe('The document does not match the schema of collection "books".')
      await expectAccessible(page)

      for (const body of [{ title: 'Dune', tags: ['sf'] }, { title: 'Emma', tags: ['classic'] }, { title: 'Dune Messiah', tags: ['sf', 'sequel'] }]) {
        await newDocument.fill(JSON.stringify(body))
        await page.getByRole('button', { name: 'Add document' }).click()
        await page.getByRole('status').filter({ hasText: /^Document .* added\.$/ }).waitFor()
        await expect.poll(() => newDocument.inputValue()).toBe('')
      }
      const documents = rows(page, /^Documents of books/)
      await expect.poll(() => documents.count()).toBe(3)

      await page.getByLabel('Where (JSON the body contains)').fill('{"tags": ["classic"]}')
      await page.getByRole('button', { name: 'Apply filters' }).click()
      await expect.poll(() => documents.allTextContents()).toEqual([expect.stringContaining('"title":"Emma"')])
      await page.getByLabel('Where (JSON the body contains)').fill('')
      await page.getByLabel('Words (full text, best first)').fill('messiah')
      await page.getByRole('button', { name: 'Apply filters' }).click()
      await expect.poll(() => documents.allTextContents()).toEqual([expect.stringContaining('"title":"Dune Messiah"')])

      // A `where` that is not JSON: the API's 422, at the where field.
      await page.getByLabel('Where (JSON the body contains)').fill('{"tags"')
      await page.getByRole('button', { name: 'Apply filters' }).click()
      await expect.poll(() => page.locator('#documents-where-errors').textContent()).toBe('must be a JSON object')
      expect(await page.getByLabel('Where (JSON the body contains)').getAttribute('aria-invalid')).toBe('true')
      await page.getByRole('button', { name: 'Clear' }).click()
      await expect.poll(() => documents.count()).toBe(3)
      await expectAccessible(page)
      expect(cspViolations).toEqual([])
      await page.screenshot({ path: join(SHOTS, 'collection-documents.png'), fullPage: true })
    } finally {
      await context.close()
    }
  })

  it('edits a document changed behind its back: shows the conflict, overwrites nothing; deletes only once confirmed', async () => {
    expect((await api('POST', `/v1/gpts/${GPT}/collections`, { name: 'notes' })).statusCode).toBe(201)
    const created = await api('POST', `/v1/gpts/${GPT}/collections/notes/objects`, { text: 'first' })
    const id = created.json<{ id: string }>().id
    const { page, context, cspViolations } = await openPage(1280, `/gpts/${GPT}/collections/notes`)
    try {
      await page.getByRole('button', { name: `Open document ${id}` }).click()
      const body = page.getByLabel('Body (JSON)')
      await expect.poll(() => body.inputValue()).toBe('{\n  "text": "first"\n}')
      await body.fill('{"text": "mine"}')
      expect((await api('PATCH', `/v1/objects/${id}`, { text: 'theirs' })).statusCode).toBe(200)

      await page.getByRole('button', { name: 'Save document' }).click()
      await expect.poll(() => page.getByRole('alert').textContent()).toContain('Not saved: this document was changed by someone else after you opened it, and nothing was overwritten.')
      expect(await page.getByLabel(/^Current version/).inputValue()).toBe('{\n  "text": "theirs"\n}')
      expect(await body.inputValue()).toContain('"mine"')
      expect((await api('GET', `/v1/objects/${id}`)).json<{ body: unknown }>().body).toEqual({ text: 'theirs' })
      await expectAccessible(page)
      await page.screenshot({ path: join(SHOTS, 'document-conflict.png'), fullPage: true })

      await page.getByRole('button', { name: 'Discard mine, edit the current version' }).click()
      await expect.poll(() => body.inputValue()).toContain('"theirs"')
      await body.fill('{"text": "theirs, then mine"}')
      await page.getByRole('button', { name: 'Save document' }).click()
      await page.getByRole('status').filter({ hasText: `Document ${id} saved.` }).waitFor()
      expect((await api('GET', `/v1/objects/${id}`)).json<{ body: unknown }>().body).toEqual({ text: 'theirs, then mine' })

      // Dismissed: nothing happens. Accepted: gone.
      page.once('dialog', (dialog) => void dialog.dismiss())
      await page.getByRole('button', { name: 'Delete document' }).click()
      await expect.poll(async () => (await api('GET', `/v1/objects/${id}`)).statusCode).toBe(200)
      let question = ''
      page.once('dialog', (dialog) => {
        question = dialog.message()
        void dialog.accept()
      })
      await page.getByRole('button', { name: 'Delete document' }).click()
      await page.getByRole('status').filter({ hasText: `Document ${id} deleted.` }).waitFor()
      expect(question).toBe(`Delete the document ${id}? This cannot be undone.`)
      expect((await api('GET', `/v1/objects/${id}`)).statusCode).toBe(404)
      await page.getByRole('cell', { name: 'No documents yet.' }).waitFor()
      expect(cspViolations).toEqual([])
    } finally {
      await context.close()
    }
  })

  it('imports NDJSON all or nothing, pages through by cursor, and exports, at 390 px', async () => {
    expect((await api('POST', `/v1/gpts/${GPT}/collections`, { name: 'bulk' })).statusCode).toBe(201)
    const { page, context, cspViolations } = await openPage(390, `/gpts/${GPT}/collections/bulk`)
    try {
      await page.getByRole('heading', { level: 1, name: `Collection bulk of ${GPT}` }).waitFor()
      const file = (lines: string[]) => ({ name: 'bulk.ndjson', mimeType: 'application/x-ndjson', buffer: Buffer.from(lines.join('\n')) })
      await page.getByLabel(/^NDJSON file to import/).setInputFiles(file(['{"n": 1}', '{"n": 2}', 'not json', '[1]']))
      await page.getByRole('button', { name: 'Import', exact: true }).click()
      await expect.poll(() => page.locator('#import-errors').textContent()).toBe('line 3: is not valid JSONline 4: must be a JSON object')
      expect(await page.getByRole('alert').textContent()).toBe('2 line(s) failed; nothing was imported.')

      await page.getByLabel(/^NDJSON file to import/).setInputFiles(file(Array.from({ length: 25 }, (_, n) => JSON.stringify({ n }))))
      await page.getByRole('button', { name: 'Import', exact: true }).click()
      await page.getByRole('status').filter({ hasText: 'Imported 25 documents from bulk.ndjson.' }).waitFor()
      const documents = rows(page, 'Documents of bulk')
      await expect.poll(() => documents.count()).toBe(20)
      await page.getByRole('button', { name: 'Next page' }).click()
      await expect.poll(() => documents.count()).toBe(5)
      expect(await page.getByRole('navigation', { name: 'Document pages' }).textContent()).toContain('Page 2')
      expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true)
      await page.getByRole('button', { name: 'Previous page' }).click()
      await expect.poll(() => documents.count()).toBe(20)

      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export as NDJSON' }).click()])
      expect(download.suggestedFilename()).toBe('bulk.ndjson')
      const exported = await new Promise<string>((resolve, reject) => {
        void download.createReadStream().then((stream) => {
          const chunks: Buffer[] = []
          stream.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => resolve(Buffer.concat(chunks).toString('utf8'))).on('error', reject)
        }, reject)
      })
      const bodies = exported.trim().split('\n').map((line) => (JSON.parse(line) as { body: { n: number } }).body.n)
      expect(bodies.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, n) => n))
      await page.getByRole('status').filter({ hasText: 'Exported 25 documents to bulk.ndjson.' }).waitFor()

      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
      await expectAccessible(page)
      expect(cspViolations).toEqual([])
      await page.screenshot({ path: join(SHOTS, 'collection-import-390.png'), fullPage: true })
    } finally {
      await context.close()
    }
  })
})
