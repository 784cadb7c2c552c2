import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { parseIsoTimestamptz, pgTypes } from './pg-types.js'

const pgParse = pg.types.getTypeParser(1184, 'text') as (text: string) => Date | number | null
const ours = pgTypes.getTypeParser(1184, 'text') as (text: string) => Date | number | null
const time = (value: Date | number | null) => (value instanceof Date ? value.getTime() : value)

describe('timestamptz', () => {
  const iso = [
    '2026-12-04 19:09:12.237+00',
    '2026-12-04 19:09:12+00',
    '2026-12-04 19:09:12.2+00',
    '2026-12-04 19:09:12.23+00',
    '2026-12-04 19:09:12.237519+00',
    '2026-12-04 19:09:12.999999+00',
    '2026-01-01 00:00:00+00',
    '2024-02-29 23:59:59.5+00',
    '2026-12-05 00:39:12.237+05:30',
    '2026-12-04 15:39:12.237-03:30',
    '2026-12-05 01:04:12.237+05:45',
    '2026-12-04 11:09:12.237-08',
    '1850-01-01 00:19:32+00:19:32',
    '1883-11-18 11:59:59-04:56:02',
    '9999-12-31 23:59:59.999+00',
    '1000-01-01 00:00:00+00',
  ]

  it('reads what PostgreSQL sends under DateStyle ISO exactly as pg does', () => {
    for (const text of iso) {
      expect(parseIsoTimestamptz(text), text).not.toBeNull()
      expect(time(ours(text)), text).toBe(time(pgParse(text)))
    }
  })

  it('agrees with pg on random instants at every millisecond, fraction length and whole-hour offset', () => {
    let seed = 7
    const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
    const two = (n: number) => String(n).padStart(2, '0')
    for (let i = 0; i < 2000; i++) {
      const fraction = next(7)
      const digits = String(next(10 ** 6)).padStart(6, '0').slice(0, fraction)
      const offset = next(27) - 12
      const text =
        `${1000 + next(9000)}-${two(1 + next(12))}-${two(1 + next(28))} ${two(next(24))}:${two(next(60))}:${two(next(60))}` +
        `${fraction ? `.${digits}` : ''}${offset < 0 ? '-' : '+'}${two(Math.abs(offset))}`
      expect(time(ours(text)), text).toBe(time(pgParse(text)))
    }
  })

  it("leaves every other form to pg's parser: infinity, BC, years outside 1000-9999, no offset", () => {
    const others = ['infinity', '-infinity', '0044-03-15 12:00:00+00 BC', '0099-01-01 00:00:00+00', '12026-12-04 19:09:12+00', '2026-12-04 19:09:12', '2026-12-04T19:09:12Z', '2026-12-04 19:09:12.+00', '2026-12-04 19:09:12+0x']
    for (const text of others) {
      expect(parseIsoTimestamptz(text), text).toBeNull()
      expect(time(ours(text)), text).toEqual(time(pgParse(text)))
    }
  })
})
