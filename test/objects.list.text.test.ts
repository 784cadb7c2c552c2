import { beforeAll, describe, expect, it } from 'vitest'
import { type Body, type ObjectList, type ObjectView, call, createCollection, createObject, nested, objectsOf, useObjectsApi } from './helpers/objects-api.js'

useObjectsApi()

// Bodies whose stored text (jsonb's) and JSON.stringify's differ, or that a hand-built answer could break.
const BODIES: [string, Body][] = [
  ['empty', {}],
  ['nested arrays and objects', { a: [1, [2, [3, { b: null }]]], c: { d: { e: [] } } }],
  ['numbers', { int: 42, neg: -7, frac: 0.1, tiny: 1.5e-7, big: 1e21, max: Number.MAX_SAFE_INTEGER, zero: 0, exp: 6.02e23 }],
  ['escapes', { quote: 'say "hi"', backslash: 'C:\\path', newline: 'a\nb\tc\r', control: '\u0001\u001f', slash: '</script>' }],
  ['unicode', { emoji: '🙂', accents: 'Ærøskøbing', cjk: '漢字', separators: '\u2028\u2029' }],
  ['keys of every length', { z: 1, aa: 2, b: 3, longer_key: 4, '': 5, 'with space': 6, __proto__x: 7 }],
  ['booleans and null', { t: true, f: false, n: null }],
]

describe('a page of documents answered from the stored JSON text', () => {
  const created = new Map<string, ObjectView>()

  beforeAll(async () => {
    await createCollection('shapes')
    for (const [name, body] of BODIES) created.set(name, await createObject('shapes', { name, ...body }))
  })

  it('lists each document exactly as reading it answers, member for member and in the same order', async () => {
    const response = await call('GET', `${objectsOf('shapes')}?order=asc`)
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('application/json')
    const page = response.json<ObjectList>()
    expect(page).toMatchObject({ next_cursor: null, has_more: false })
    expect(page.objects.map((object) => object.body.name)).toEqual(BODIES.map(([name]) => name))
    for (const listed of page.objects) {
      const read = await call('GET', nested('shapes', listed.id))
      const object = read.json<ObjectView>()
      expect(listed).toEqual(object)
      expect(Object.keys(listed)).toEqual(Object.keys(object))
      expect(Object.keys(listed.body)).toEqual(Object.keys(object.body))
      expect(listed).toEqual(created.get(String(listed.body.name)))
    }
  })

  it('answers the next cursor and has_more as JSON, and a page that follows it', async () => {
    const first = await call('GET', `${objectsOf('shapes')}?limit=3`)
    const page = first.json<ObjectList>()
    expect(page.objects).toHaveLength(3)
    expect(page.has_more).toBe(true)
    expect(typeof page.next_cursor).toBe('string')
    expect(first.headers.link).toContain(`cursor=${encodeURIComponent(page.next_cursor!)}`)
    const rest = (await call('GET', `${objectsOf('shapes')}?limit=10&cursor=${encodeURIComponent(page.next_cursor!)}`)).json<ObjectList>()
    expect(rest).toMatchObject({ next_cursor: null, has_more: false })
    expect(new Set([...page.objects, ...rest.objects].map((object) => object.id)).size).toBe(BODIES.length)
  })
})
