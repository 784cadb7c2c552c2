import { describe, expect, it } from 'vitest'
import type { ObjectRow } from './objects.repo.js'
import { toObjectJson, toObjectView } from './objects.view.js'

const row = (overrides: Partial<ObjectRow>): ObjectRow => ({
  gpt_id: 'gpt-1',
  id: '0190a1b2-0000-7000-8000-000000000001',
  collection: 'notes',
  body: { title: 'A "quoted" note', tags: ['x', 'y'], n: 1.5 },
  user_id: null,
  version: 3,
  created_at: new Date('2026-12-05T10:00:00.001Z'),
  updated_at: new Date('2026-12-05T11:30:00.120Z'),
  ...overrides,
})

/** The body as PostgreSQL prints jsonb: a space after each colon and comma. */
const jsonbText = (body: unknown) => JSON.stringify(body).replace(/("(?:[^"\\]|\\.)*"|[^",:]+)([,:])/g, '$1$2 ')

describe('toObjectJson', () => {
  it.each([
    ['a shared document', row({})],
    ['a per-user document', row({ user_id: 'end-user "7"' })],
    ['names that need escaping', row({ gpt_id: 'g\\1', collection: 'c"2', user_id: 'u\n3' })],
  ])('reads back as the view of %s, member for member and in the same order', (_, stored) => {
    const text = toObjectJson({ ...stored, body: jsonbText(stored.body), rank: null })
    const view = toObjectView(stored)
    expect(JSON.parse(text)).toEqual(view)
    expect(Object.keys(JSON.parse(text) as object)).toEqual(Object.keys(view))
  })
})
