import { beforeAll, describe, expect, it } from 'vitest'
import { bearer } from './helpers/test-app.js'
import { expectProblem } from './helpers/problem.js'
import { type Body, type ObjectView, type ObjectList, GPT, COLLECTIONS, objectsOf, MISSING_ID, t, small, writer, smallWriter, call, createCollection, createObject, listAll, walk, useObjectsApi } from './helpers/objects-api.js'

useObjectsApi({ small: true })

describe('listing documents', () => {
  let seq: ObjectView[]
  let bulkIds: string[]

  beforeAll(async () => {
    await createCollection('seq')
    await createCollection('bulk')
    await createCollection('empty')
    seq = []
    for (let n = 0; n < 25; n++) seq.push(await createObject('seq', { n }))
    const lines = Array.from({ length: 25 }, (_, n) => JSON.stringify({ n })).join('\n')
    const imported = await t.app.inject({ method: 'POST', url: `${COLLECTIONS}/bulk/import`, headers: { ...bearer(writer), 'content-type': 'application/x-ndjson' }, payload: lines })
    expect(imported.statusCode, imported.body).toBe(201)
    bulkIds = (await listAll('bulk', 'order=asc')).map((o) => o.id)
  })

  it('lists newest first by default', async () => {
    const response = await call('GET', objectsOf('seq'))
    expect(response.statusCode).toBe(200)
    const page = response.json<ObjectList>()
    expect(page.has_more).toBe(false)
    expect(page.next_cursor).toBeNull()
    expect(response.headers.link).toBeUndefined()
    expect(page.objects.map((o) => o.body.n)).toEqual(Array.from({ length: 25 }, (_, i) => 24 - i))
    expect(page.objects[0]).toEqual(seq[24])
  })

  it('lists oldest first with order=asc', async () => {
    const objects = await listAll('seq', 'order=asc')
    expect(objects.map((o) => o.id)).toEqual(seq.map((o) => o.id))
  })

  it('answers an empty page for an empty collection and 404 for an unknown one', async () => {
    expect((await call('GET', objectsOf('empty'))).json<ObjectList>()).toEqual({ objects: [], next_cursor: null, has_more: false })
    expectProblem(await call('GET', objectsOf('nope')), 404, objectsOf('nope'), 'not-found')
  })

  it.each(['desc', 'asc'] as const)('walks 25 documents 7 at a time in %s order, each exactly once', async (order) => {
    for (const [collection, expected] of [['seq', seq.map((o) => o.id)], ['bulk', bulkIds]] as const) {
      const { objects, pages } = await walk(`${objectsOf(collection)}?limit=7&order=${order}`)
      expect(pages).toBe(4)
      const ids = objects.map((o) => o.id)
      expect(new Set(ids).size).toBe(25)
      expect(ids).toEqual(order === 'asc' ? expected : [...expected].reverse())
    }
  })

  it('walks with sort=updated_at, and the last changed document comes first', async () => {
    const oldest = seq[0]!
    await new Promise((resolve) => setTimeout(resolve, 5))
    const patched = await call('PATCH', `/v1/objects/${oldest.id}`, { touched: true })
    expect(patched.statusCode).toBe(200)
    const byUpdate = await listAll('seq', 'sort=updated_at')
    expect(byUpdate[0]!.id).toBe(oldest.id)
    expect(byUpdate[0]!.body).toEqual({ n: 0, touched: true })
    const byCreation = await listAll('seq')
    expect(byCreation[24]!.id).toBe(oldest.id)
    const { objects } = await walk(`${objectsOf('seq')}?limit=6&sort=updated_at&order=asc`)
    expect(objects.map((o) => o.id)).toEqual([...seq.slice(1).map((o) => o.id), oldest.id])
  })

  it('follows the page-size limits (1–200, default 50)', async () => {
    expect((await call('GET', `${objectsOf('seq')}?limit=1`)).json<ObjectList>().objects).toHaveLength(1)
    expect((await call('GET', `${objectsOf('seq')}?limit=200`)).json<ObjectList>().objects).toHaveLength(25)
    for (const limit of ['0', '201', '-1', '1.5', 'many']) {
      const url = `${objectsOf('seq')}?limit=${limit}`
      const problem = expectProblem(await call('GET', url), 422, url, 'validation-failed')
      expect(problem.errors).toEqual([expect.objectContaining({ pointer: '/limit', location: 'query' })])
    }
  })

  it('follows MAX_PAGE_SIZE and DEFAULT_PAGE_SIZE from config', async () => {
    await createCollection('paged', undefined, small, smallWriter)
    for (let n = 0; n < 9; n++) await createObject('paged', { n }, { app: small, token: smallWriter })
    const options = { app: small, token: smallWriter }
    const first = await call('GET', objectsOf('paged'), undefined, options)
    expect(first.json<ObjectList>().objects).toHaveLength(4)
    expect(first.json<ObjectList>().has_more).toBe(true)
    expect((await call('GET', `${objectsOf('paged')}?limit=10`, undefined, options)).json<ObjectList>().objects).toHaveLength(9)
    const url = `${objectsOf('paged')}?limit=11`
    expectProblem(await call('GET', url, undefined, options), 422, url, 'validation-failed')
    const { objects, pages } = await walk(objectsOf('paged'), options)
    expect(pages).toBe(3)
    expect(objects.map((o) => o.body.n)).toEqual([8, 7, 6, 5, 4, 3, 2, 1, 0])
  })

  it('refuses malformed cursors and cursors of another list with 400', async () => {
    const page = (await call('GET', `${objectsOf('seq')}?limit=2`)).json<ObjectList>()
    const cursor = page.next_cursor!
    const asc = (await call('GET', `${objectsOf('seq')}?limit=2&order=asc`)).json<ObjectList>().next_cursor!
    const forged = (key: unknown[], scope = `objects:${GPT}/seq:created_at:desc`) =>
      Buffer.from(JSON.stringify({ s: scope, k: key })).toString('base64url')
    const scenarios: { name: string; query: string; detail: RegExp }[] = [
      { name: 'garbage', query: `cursor=${encodeURIComponent('%%%not base64%%%')}`, detail: /malformed/ },
      { name: 'base64 of non-JSON', query: `cursor=${Buffer.from('hello').toString('base64url')}`, detail: /malformed/ },
      { name: 'JSON without a key', query: `cursor=${Buffer.from('{"s":"x"}').toString('base64url')}`, detail: /malformed/ },
      { name: 'a truncated cursor', query: `cursor=${cursor.slice(0, -6)}`, detail: /malformed|another/ },
      { name: 'a cursor of the other order', query: `cursor=${asc}`, detail: /another list or sort order/ },
      { name: 'a cursor reused with the other order', query: `order=asc&cursor=${cursor}`, detail: /another list or sort order/ },
      { name: 'a cursor reused with sort=updated_at', query: `sort=updated_at&cursor=${cursor}`, detail: /another list or sort order/ },
      { name: 'a cursor reused with q', query: `q=x&cursor=${cursor}`, detail: /another list or sort order/ },
      { name: 'a forged key with a bad date', query: `cursor=${forged(['yesterday', MISSING_ID])}`, detail: /malformed/ },
      { name: 'a forged key with a bad id', query: `cursor=${forged([new Date().toISOString(), 'x'])}`, detail: /malformed/ },
      { name: 'a forged key that is too short', query: `cursor=${forged([])}`, detail: /malformed/ },
    ]
    for (const { name, query, detail } of scenarios) {
      const url = `${objectsOf('seq')}?${query}`
      const problem = expectProblem(await call('GET', url), 400, url, 'invalid-cursor')
      expect(problem.detail, name).toMatch(detail)
    }
    // A cursor from another collection.
    const other = `${objectsOf('bulk')}?limit=2&cursor=${cursor}`
    expect(expectProblem(await call('GET', other), 400, other, 'invalid-cursor').detail).toMatch(/another list/)
  })

  describe('filters', () => {
    let work: ObjectView[]
    beforeAll(async () => {
      await createCollection('filtered')
      work = []
      const docs: Body[] = [
        { tag: 'work', title: 'Quarterly report', meta: { lang: 'en', pages: 3 }, labels: ['a', 'b'] },
        { tag: 'home', title: 'Shopping list', meta: { lang: 'de' }, labels: ['b'] },
        { tag: 'work', title: 'Team meeting notes', meta: { lang: 'en' }, labels: ['c'] },
        { tag: 'home', title: 'Garden plan', priority: 1 },
        { tag: 'work', title: 'Budget', priority: 1, meta: { lang: 'fr' } },
      ]
      for (const doc of docs) {
        const view = await createObject('filtered', doc)
        if (doc.tag === 'work') work.push(view)
      }
    })

    const where = (value: unknown) => `where=${encodeURIComponent(JSON.stringify(value))}`
    const containment: { name: string; filter: unknown; titles: string[] }[] = [
      { name: 'one field', filter: { tag: 'work' }, titles: ['Budget', 'Team meeting notes', 'Quarterly report'] },
      { name: 'two fields', filter: { tag: 'home', priority: 1 }, titles: ['Garden plan'] },
      { name: 'a nested object', filter: { meta: { lang: 'en' } }, titles: ['Team meeting notes', 'Quarterly report'] },
      { name: 'an array element', filter: { labels: ['b'] }, titles: ['Shopping list', 'Quarterly report'] },
      { name: 'a number', filter: { meta: { pages: 3 } }, titles: ['Quarterly report'] },
      { name: 'nothing matching', filter: { tag: 'none' }, titles: [] },
      { name: 'the empty object (everything)', filter: {}, titles: ['Budget', 'Garden plan', 'Team meeting notes', 'Shopping list', 'Quarterly report'] },
    ]
    it.each(containment)('where matches by containment: $name', async ({ filter, titles }) => {
      expect((await listAll('filtered', where(filter))).map((o) => o.body.title)).toEqual(titles)
    })

    it('pages through a where filter', async () => {
      const { objects, pages } = await walk(`${objectsOf('filtered')}?limit=2&${where({ tag: 'work' })}`)
      expect(pages).toBe(2)
      expect(objects.map((o) => o.id)).toEqual([...work].reverse().map((o) => o.id))
    })

    const badWhere: { name: string; raw: string; detail: RegExp }[] = [
      { name: 'invalid JSON', raw: '{tag:work}', detail: /not valid JSON/ },
      { name: 'an array', raw: '["work"]', detail: /must be a JSON object/ },
      { name: 'a string', raw: '"work"', detail: /must be a JSON object/ },
      { name: 'a number', raw: '5', detail: /must be a JSON object/ },
      { name: 'null', raw: 'null', detail: /must be a JSON object/ },
    ]
    it.each(badWhere)('rejects a where that is $name with 422', async ({ raw, detail }) => {
      const url = `${objectsOf('filtered')}?where=${encodeURIComponent(raw)}`
      const problem = expectProblem(await call('GET', url), 422, url, 'validation-failed')
      expect(problem.detail).toMatch(detail)
      expect(problem.errors).toEqual([{ pointer: '/where', location: 'query', message: expect.any(String) }])
    })

    it('ranks full-text matches (q) best first, and pages through them', async () => {
      await createCollection('texts')
      const weak = await createObject('texts', { text: 'An apple and a banana' })
      const strong = await createObject('texts', { text: 'apple pie with apple sauce', note: 'apple' })
      await createObject('texts', { text: 'cherry only' })
      const medium = await createObject('texts', { text: 'apple crumble', other: 'apple' })
      const ranked = await listAll('texts', 'q=apple')
      expect(ranked.map((o) => o.id)).toEqual([strong.id, medium.id, weak.id])
      // Paged one at a time, the ranking holds across pages.
      const { objects, pages } = await walk(`${objectsOf('texts')}?q=apple&limit=1`)
      expect(pages).toBe(3)
      expect(objects.map((o) => o.id)).toEqual([strong.id, medium.id, weak.id])
      // Words in nested strings and in several terms (web search syntax).
      expect((await listAll('texts', `q=${encodeURIComponent('banana apple')}`)).map((o) => o.id)).toEqual([weak.id])
      expect((await listAll('texts', 'q=durian')).map((o) => o.id)).toEqual([])
      // q with where.
      expect((await listAll('texts', `q=apple&${where({ other: 'apple' })}`)).map((o) => o.id)).toEqual([medium.id])
    })

    it('pages through q results of equal rank, each exactly once', async () => {
      await createCollection('ties')
      const ids: string[] = []
      for (let i = 0; i < 7; i++) ids.push((await createObject('ties', { text: `kiwi number ${i}` })).id)
      const { objects, pages } = await walk(`${objectsOf('ties')}?q=kiwi&limit=3`)
      expect(pages).toBe(3)
      expect(new Set(objects.map((o) => o.id))).toEqual(new Set(ids))
      expect(objects).toHaveLength(7)
    })

    it('filters by created_after and created_before', async () => {
      await createCollection('dated')
      const early: ObjectView[] = []
      const late: ObjectView[] = []
      for (let i = 0; i < 3; i++) early.push(await createObject('dated', { phase: 'early', i }))
      await new Promise((resolve) => setTimeout(resolve, 20))
      for (let i = 0; i < 3; i++) late.push(await createObject('dated', { phase: 'late', i }))
      const boundaryAfter = encodeURIComponent(early[2]!.created_at)
      const boundaryBefore = encodeURIComponent(late[0]!.created_at)
      const after = await listAll('dated', `created_after=${boundaryAfter}&order=asc`)
      expect(after.map((o) => o.id)).toEqual(late.map((o) => o.id))
      const before = await listAll('dated', `created_before=${boundaryBefore}&order=asc`)
      expect(before.map((o) => o.id)).toEqual(early.map((o) => o.id))
      const between = await listAll('dated', `created_after=${encodeURIComponent(early[0]!.created_at)}&created_before=${boundaryBefore}&order=asc`)
      // Strictly after the first (documents of the same millisecond are not after it).
      expect(between.map((o) => o.id)).toEqual(early.filter((o) => o.created_at > early[0]!.created_at).map((o) => o.id))
      for (const bad of ['yesterday', '2025-13-01T00:00:00Z', '12345']) {
        const url = `${objectsOf('dated')}?created_after=${bad}`
        const problem = expectProblem(await call('GET', url), 422, url, 'validation-failed')
        expect(problem.errors).toEqual([expect.objectContaining({ pointer: '/created_after', location: 'query' })])
      }
    })

    it('rejects an unknown sort, order or query parameter with 422', async () => {
      for (const [query, pointer] of [['sort=title', '/sort'], ['order=up', '/order'], ['colour=red', '/colour']] as const) {
        const url = `${objectsOf('filtered')}?${query}`
        const problem = expectProblem(await call('GET', url), 422, url, 'validation-failed')
        expect(problem.errors?.map((e) => e.pointer)).toContain(pointer)
      }
    })
  })
})
