import { beforeAll, describe, expect, it } from 'vitest'
import { bearer } from './helpers/test-app.js'
import { expectProblem } from './helpers/problem.js'
import { type Body, type ObjectView, COLLECTIONS, objectsOf, t, small, writer, smallWriter, type Method, call, createCollection, createObject, listAll, deepObject, useObjectsApi } from './helpers/objects-api.js'

useObjectsApi({ small: true })

describe('bad and unusual input', () => {
  beforeAll(async () => {
    await createCollection('unicode')
    await createCollection('deep')
    await createCollection('large', undefined, small, smallWriter)
  })

  it('round-trips Unicode exactly: emoji, CJK, RTL, combining marks and control characters', async () => {
    const body: Body = {
      emoji: '👩‍💻 🎉 🇯🇵 🏳️‍🌈 👍🏽',
      cjk: '日本語の文章、中文句子、한국어 문장',
      rtl: 'שלום עולם — مرحبا بالعالم',
      mixed: 'abc\u202Edef\u202C ghi',
      combining: 'e\u0301 vs \u00e9, Z\u0351\u0352\u0353',
      controls: '\u0001\u0007\b\f\n\r\t\u001b\u001f\u007f\u0085',
      invisible: '\u200b\u200d\ufeff\u2028\u2029',
      astral: '𝄞 𓀀 \u{10FFFD}',
      quotes: '"\'`\\/',
      '键': '值',
      'ключ 🔑': ['значение', { 'עברית': 'כן' }],
    }
    const created = await call('POST', objectsOf('unicode'), body)
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json<ObjectView>().body).toEqual(body)
    const id = created.json<ObjectView>().id
    const read = await call('GET', `/v1/objects/${id}`)
    expect(read.json<ObjectView>().body).toEqual(body)
    expect(JSON.stringify(read.json<ObjectView>().body.emoji)).toBe(JSON.stringify(body.emoji))
    const exported = (await call('GET', `${COLLECTIONS}/unicode/export`)).body.trimEnd().split('\n')
    expect((JSON.parse(exported[0]!) as ObjectView).body).toEqual(body)
    // Containment and full text find the same strings.
    expect((await listAll('unicode', `where=${encodeURIComponent(JSON.stringify({ '键': '值' }))}`)).map((o) => o.id)).toEqual([id])
    expect((await listAll('unicode', `q=${encodeURIComponent('שלום')}`)).map((o) => o.id)).toEqual([id])
    const patched = await call('PATCH', `/v1/objects/${id}`, { emoji: '🦄' })
    expect(patched.json<ObjectView>().body).toEqual({ ...body, emoji: '🦄' })
  })

  it('refuses text PostgreSQL cannot store (\\u0000, lone surrogates) with 422, not 500', async () => {
    const url = objectsOf('unicode')
    const doc = await createObject('unicode', { fine: 'yes' })
    const item = `/v1/objects/${doc.id}`
    const cases: { raw: string; pointer: string }[] = [
      { raw: '{"text":"a\\u0000b"}', pointer: '/text' },
      { raw: '{"a\\u0000":1}', pointer: '/a\u0000' },
      { raw: '{"list":["ok","\\ud800"]}', pointer: '/list/1' },
      { raw: '{"nested":{"t":"x\\udc00y"}}', pointer: '/nested/t' },
      { raw: '{"body":{"t":"\\u0000"}}', pointer: '/body/t' },
    ]
    for (const { raw, pointer } of cases) {
      for (const [method, target] of [['POST', url], ['PATCH', item], ['PUT', item]] as const) {
        const problem = expectProblem(await call(method, target, undefined, { raw }), 422, target, 'validation-failed')
        expect(problem.errors).toEqual([{ pointer, location: 'body', message: expect.stringMatching(/U\+0000|surrogate/) }])
      }
    }
    expect((await call('GET', item)).json<ObjectView>()).toEqual(doc)
    // A paired surrogate (an astral character written as an escape) is fine.
    expect((await createObject('unicode', JSON.parse('{"clef":"\\ud834\\udd1e"}') as Body)).body).toEqual({ clef: '𝄞' })
    // Filters with such text are refused too, not a 500.
    for (const query of [`where=${encodeURIComponent('{"text":"\\u0000"}')}`, `q=${encodeURIComponent('a\u0000b')}`]) {
      const target = `${url}?${query}`
      expectProblem(await call('GET', target), 422, target, 'validation-failed')
    }
    // An import line with it is reported by line.
    const importUrl = `${COLLECTIONS}/unicode/import`
    const imported = await t.app.inject({ method: 'POST', url: importUrl, headers: { ...bearer(writer), 'content-type': 'application/x-ndjson' }, payload: '{"ok":1}\n{"t":"\\u0000"}' })
    expect(expectProblem(imported, 400, importUrl).errors).toEqual([{ line: 2, pointer: '/t', message: expect.stringMatching(/U\+0000/) }])
  })

  it('accepts 32 levels of nesting and refuses 33 with 422', async () => {
    const url = objectsOf('deep')
    const ok = await call('POST', url, deepObject(32))
    expect(ok.statusCode, ok.body).toBe(201)
    expect(ok.json<ObjectView>().body).toEqual(deepObject(32))
    // The envelope is not a level of the document.
    expect((await call('POST', url, { body: deepObject(32) })).statusCode).toBe(201)
    // Arrays count as levels too.
    let arrays: unknown = 'x'
    for (let i = 1; i < 32; i++) arrays = [arrays]
    expect((await call('POST', url, { a: arrays })).statusCode).toBe(201)
    for (const payload of [deepObject(33), { a: [arrays] }, { body: deepObject(33) }]) {
      const problem = expectProblem(await call('POST', url, payload), 422, url, 'validation-failed')
      expect(problem.detail).toMatch(/deeper than 32 levels \(MAX_JSON_DEPTH\)/)
      expect(problem.errors).toEqual([{ pointer: '', message: 'must not nest deeper than 32 levels' }])
    }
    // Far deeper bodies stop at the request-wide backstop, before any route reads them.
    const backstop = expectProblem(await call('POST', url, deepObject(1000)), 422, url, 'validation-failed')
    expect(backstop.detail).toMatch(/deeper than 256 levels; stored JSON may nest 32 \(MAX_JSON_DEPTH\)/)
    // A merge that would nest too deep is refused the same way, leaving the document as it was.
    const doc = ok.json<ObjectView>()
    const item = `/v1/objects/${doc.id}`
    expectProblem(await call('PATCH', item, { more: deepObject(32) }), 422, item, 'validation-failed')
    expectProblem(await call('PUT', item, deepObject(33)), 422, item, 'validation-failed')
    expect((await call('GET', item)).json<ObjectView>()).toEqual(doc)
    expect((await listAll('deep')).length).toBe(3)
  })

  it('refuses absurdly deep bodies (deeper than JSON.stringify can go) with 422, never 500', async () => {
    const raw = `${'{"c":'.repeat(20_000)}1${'}'.repeat(20_000)}`
    const url = objectsOf('deep')
    const doc = await createObject('deep', { shallow: true })
    const item = `/v1/objects/${doc.id}`
    const attempts: [Method, string, Record<string, string>][] = [
      ['POST', url, {}],
      ['POST', url, { 'idempotency-key': 'deep-1' }],
      ['PATCH', item, {}],
      ['PUT', item, { 'if-match': '"1"' }],
    ]
    for (const [method, target, headers] of attempts) {
      const problem = expectProblem(await call(method, target, undefined, { raw, headers }), 422, target, 'validation-failed')
      expect(problem.detail).toMatch(/MAX_JSON_DEPTH/)
    }
    expect((await call('GET', item)).json<ObjectView>()).toEqual(doc)
    const importUrl = `${COLLECTIONS}/deep/import`
    const imported = await t.app.inject({ method: 'POST', url: importUrl, headers: { ...bearer(writer), 'content-type': 'application/x-ndjson' }, payload: raw })
    expect(expectProblem(imported, 400, importUrl).errors).toEqual([{ line: 1, pointer: '', message: expect.stringMatching(/deeper than 32/) }])
  })

  it('accepts a document near BODY_LIMIT and refuses one past it with 413', async () => {
    const url = objectsOf('large')
    const options = { app: small, token: smallWriter }
    const near = { text: 'é'.repeat(15 * 1024), filler: 'a'.repeat(29 * 1024) } // ~60 KB of UTF-8
    expect(Buffer.byteLength(JSON.stringify(near))).toBeGreaterThan(59 * 1024)
    expect(Buffer.byteLength(JSON.stringify(near))).toBeLessThan(64 * 1024)
    const created = await call('POST', url, near, options)
    expect(created.statusCode, created.body.slice(0, 200)).toBe(201)
    expect(created.json<ObjectView>().body).toEqual(near)
    const id = created.json<ObjectView>().id
    const over = { text: 'a'.repeat(70 * 1024) }
    const problem = expectProblem(await call('POST', url, over, options), 413, url, 'payload-too-large')
    expect(problem.detail).toMatch(/BODY_LIMIT/)
    const item = `/v1/objects/${id}`
    expectProblem(await call('PUT', item, over, options), 413, item, 'payload-too-large')
    expectProblem(await call('PATCH', item, over, options), 413, item, 'payload-too-large')
    const read = await call('GET', item, undefined, options)
    expect(read.json<ObjectView>().body).toEqual(near)
    expect((await listAll('large', '', options)).length).toBe(1)
  })
})
