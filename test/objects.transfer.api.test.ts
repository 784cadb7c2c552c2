import { beforeAll, describe, expect, it } from 'vitest'
import { bearer, type TestApp } from './helpers/test-app.js'
import { expectProblem } from './helpers/problem.js'
import { type ObjectView, GPT, COLLECTIONS, UUID_V7, t, small, writer, admin, reader, smallWriter, call, createCollection, createObject, listAll, deepObject, useObjectsApi } from './helpers/objects-api.js'

useObjectsApi({ small: true })

describe('export and import', () => {
  const importUrl = (collection: string) => `${COLLECTIONS}/${collection}/import`
  const exportUrl = (collection: string) => `${COLLECTIONS}/${collection}/export`
  const ndjson = (url: string, payload: string, options: { app?: TestApp; token?: string; type?: string } = {}) =>
    (options.app ?? t).app.inject({
      method: 'POST',
      url,
      headers: { ...bearer(options.token ?? writer), 'content-type': options.type ?? 'application/x-ndjson' },
      payload,
    })

  beforeAll(async () => {
    await createCollection('exported')
    await createCollection('imports', { type: 'object', required: ['title'], properties: { title: { type: 'string' }, n: { type: 'integer' } } })
  })

  it('exports every document as NDJSON, oldest first, as GET shows them', async () => {
    const empty = await call('GET', exportUrl('exported'))
    expect(empty.statusCode).toBe(200)
    expect(empty.body).toBe('')
    const created: ObjectView[] = []
    for (let i = 0; i < 5; i++) created.push(await createObject('exported', { i, text: `line ${i}\nwith a newline` }))
    const response = await call('GET', exportUrl('exported'), undefined, { token: reader })
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/x-ndjson/)
    expect(response.headers['content-disposition']).toBe('attachment; filename="exported.ndjson"')
    expect(response.body.endsWith('\n')).toBe(true)
    const lines = response.body.trimEnd().split('\n')
    expect(lines).toHaveLength(5)
    expect(lines.map((line) => JSON.parse(line) as ObjectView)).toEqual(created)
    expectProblem(await call('GET', exportUrl('missing')), 404, exportUrl('missing'), 'not-found')
  })

  it('imports NDJSON all at once (plain and envelope lines, blank lines and CRLF)', async () => {
    const payload = ['{"title":"one","n":1}', '', '{"body":{"title":"two","n":2}}\r', '   ', '{"title":"three"}', ''].join('\n')
    const response = await ndjson(importUrl('imports'), payload)
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json()).toEqual({ imported: 3 })
    const stored = await listAll('imports', 'order=asc')
    expect(stored.map((o) => o.body)).toEqual([{ title: 'one', n: 1 }, { title: 'two', n: 2 }, { title: 'three' }])
    for (const o of stored) expect(o).toMatchObject({ gpt_id: GPT, collection: 'imports', id: expect.stringMatching(UUID_V7) })
    // application/jsonl is accepted as well.
    const jsonl = await ndjson(importUrl('imports'), '{"title":"four"}', { type: 'application/jsonl' })
    expect(jsonl.statusCode, jsonl.body).toBe(201)
    expect((await listAll('imports')).length).toBe(4)
  })

  it('refuses the whole import when any line fails, listing lines and pointers', async () => {
    const before = await listAll('imports')
    const payload = [
      '{"title":"fine"}',
      '{"title": broken',
      '',
      '[1,2,3]',
      '{"n":5}',
      '{"title":7,"n":"x"}',
      '"just a string"',
      '{"title":"also fine"}',
    ].join('\n')
    const url = importUrl('imports')
    const problem = expectProblem(await ndjson(url, payload), 400, url, 'bad-request')
    expect(problem.detail).toMatch(/5 line\(s\) failed; nothing was imported/)
    // In line order; within a line, in the schema validator's order.
    expect(problem.errors?.map((e) => e.line)).toEqual([2, 4, 5, 6, 6, 7])
    expect(problem.errors).toEqual(
      expect.arrayContaining([
        { line: 2, pointer: '', message: 'is not valid JSON' },
        { line: 4, pointer: '', message: 'must be a JSON object' },
        { line: 5, pointer: '/title', message: expect.stringContaining('title') },
        { line: 6, pointer: '/title', message: 'must be string' },
        { line: 6, pointer: '/n', message: 'must be integer' },
        { line: 7, pointer: '', message: 'must be a JSON object' },
      ]),
    )
    expect(await listAll('imports')).toEqual(before)
  })

  it('reports a line nested too deep, and stores nothing', async () => {
    await createCollection('import-plain')
    const deep = deepObject(33)
    const url = importUrl('import-plain')
    const problem = expectProblem(await ndjson(url, `{"ok":1}\n${JSON.stringify(deep)}`), 400, url)
    expect(problem.errors).toEqual([{ line: 2, pointer: '', message: expect.stringMatching(/deeper than 32/) }])
    expect(await listAll('import-plain')).toEqual([])
  })

  it('round-trips an export through an import', async () => {
    await createCollection('import-copy')
    const exported = (await call('GET', exportUrl('exported'))).body
    const response = await ndjson(importUrl('import-copy'), exported)
    expect(response.statusCode).toBe(201)
    // Each exported line is an object view: imported as is (its `body` key is not alone).
    const copies = await listAll('import-copy', 'order=asc')
    const originals = exported.trimEnd().split('\n').map((line) => JSON.parse(line) as ObjectView)
    expect(copies.map((c) => c.body)).toEqual(originals)
  })

  it('exports and re-checks large collections in batches (1,201 documents)', async () => {
    await createCollection('big')
    const payload = Array.from({ length: 1201 }, (_, i) => JSON.stringify(i % 2 === 0 ? { i, even: true } : { i })).join('\n')
    const imported = await ndjson(importUrl('big'), payload)
    expect(imported.statusCode, imported.body).toBe(201)
    expect(imported.json()).toEqual({ imported: 1201 })
    const response = await call('GET', exportUrl('big'))
    const lines = response.body.trimEnd().split('\n').map((line) => JSON.parse(line) as ObjectView)
    expect(lines).toHaveLength(1201)
    expect(new Set(lines.map((l) => l.id)).size).toBe(1201)
    expect(lines.map((l) => l.body.i)).toEqual(Array.from({ length: 1201 }, (_, i) => i))
    const patched = await call('PATCH', `${COLLECTIONS}/big`, { schema: { type: 'object', required: ['even'] } }, { token: admin })
    expect(patched.statusCode, patched.body).toBe(200)
    expect(patched.json<{ invalid_documents: number }>().invalid_documents).toBe(600)
  })

  it('answers 413 past IMPORT_MAX_LINES and IMPORT_BODY_LIMIT, storing nothing', async () => {
    await createCollection('limited', undefined, small, smallWriter)
    const url = importUrl('limited')
    const options = { app: small, token: smallWriter }
    const five = Array.from({ length: 5 }, (_, i) => JSON.stringify({ i })).join('\n')
    expect((await ndjson(url, five, options)).statusCode).toBe(201)
    const six = Array.from({ length: 6 }, (_, i) => JSON.stringify({ i })).join('\n')
    expect(expectProblem(await ndjson(url, six, options), 413, url, 'payload-too-large').detail).toMatch(/IMPORT_MAX_LINES/)
    // The import has its own body limit: above BODY_LIMIT (64kb) is fine, above IMPORT_BODY_LIMIT (128kb) is 413.
    const line = (size: number) => JSON.stringify({ text: 'x'.repeat(size) })
    const ninetyKb = [line(45 * 1024), line(45 * 1024)].join('\n')
    expect((await ndjson(url, ninetyKb, options)).statusCode).toBe(201)
    const tooBig = [line(70 * 1024), line(70 * 1024)].join('\n')
    expectProblem(await ndjson(url, tooBig, options), 413, url, 'payload-too-large')
    expect((await listAll('limited', '', options)).length).toBe(7)
  })

  it('answers 415 for an import sent as JSON or text', async () => {
    const url = importUrl('imports')
    for (const [type, payload] of [['application/json', '{"title":"json"}'], ['text/plain', '{"title":"text"}']] as const) {
      const problem = expectProblem(await ndjson(url, payload, { type }), 415, url, 'unsupported-media-type')
      expect(problem.detail.length).toBeGreaterThan(0)
    }
    expect((await listAll('imports')).some((o) => o.body.title === 'json' || o.body.title === 'text')).toBe(false)
  })

  it('imports nothing from an empty or blank body', async () => {
    await createCollection('import-empty')
    for (const payload of ['', '\n\n  \n']) {
      const response = await ndjson(importUrl('import-empty'), payload)
      expect(response.statusCode, response.body).toBe(201)
      expect(response.json()).toEqual({ imported: 0 })
    }
    expect(await listAll('import-empty')).toEqual([])
  })

  it('answers 404 for an import into an unknown collection', async () => {
    const url = importUrl('ghost')
    expectProblem(await ndjson(url, '{"a":1}'), 404, url, 'not-found')
  })
})
