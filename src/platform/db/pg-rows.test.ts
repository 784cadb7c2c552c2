import { describe, expect, it } from 'vitest'
import { createTestDatabase } from '../../../test/helpers/test-database.js'
import { installFastRows, resultWith, type FieldDescription } from './pg-rows.js'

const field = (name: string, dataTypeID = 25, format = 'text'): FieldDescription => ({ name, dataTypeID, format })

describe('rows built from a template kept as a fast object', () => {
  const cases: [string, FieldDescription[], unknown[] | null][] = [
    ['a document row', [field('id', 2950), field('body', 3802), field('version', 23), field('created_at', 1184)], ['0190a1b2-0000-7000-8000-000000000000', '{"a": [1, 2]}', '3', '2026-12-04 21:56:35.123+00']],
    ['a null value', [field('user_id'), field('n', 23)], [null, '7']],
    ['a repeated column name (the last value wins)', [field('id'), field('id', 16)], ['x', 't']],
    ['a column named __proto__', [field('__proto__'), field('constructor')], ['p', 'c']],
    ['a column named with odd characters', [field('a b'), field(''), field('é\u0000')], ['1', '2', '3']],
    ['no columns (a write without RETURNING)', [], null],
    ['a binary column', [field('raw', 17, 'binary')], [Buffer.from('ab')]],
  ]

  it.each(cases)('makes the same fields, parsers and row as pg for %s', (_name, fields, row) => {
    const theirs = resultWith('pg', fields, row)
    const ours = resultWith('ours', fields, row)
    expect(ours.fields).toBe(fields)
    expect(ours.parsers).toBe(theirs.parsers)
    if (row === null) return
    expect(Object.entries(ours.row!)).toEqual(Object.entries(theirs.row!))
    expect(Object.getPrototypeOf(ours.row)).toBe(Object.getPrototypeOf(theirs.row))
  })

  it('gives each row an object of its own: changing one leaves the next untouched', () => {
    const fields = [field('n', 23)]
    const first = resultWith('ours', fields, ['1']).row!
    first.n = 99
    first.extra = true
    expect(resultWith('ours', fields, ['2']).row).toEqual({ n: 2 })
  })

  it('is installed on pg, and rows read through the database are what the columns say', async () => {
    expect(installFastRows()).toBe(true)
    const test = await createTestDatabase()
    try {
      const { rows } = await test.database.pool.query(`select 1::int as "__proto__", 'x' as id, null::text as "user_id", '{"k": [true]}'::jsonb as body, 2::int as id`)
      expect(Object.entries(rows[0] as object)).toEqual([['__proto__', 1], ['id', 2], ['user_id', null], ['body', { k: [true] }]])
      expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype)
    } finally {
      await test.drop()
    }
  })
})
