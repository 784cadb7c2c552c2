import { describe, expect, it } from 'vitest'
import { uuidv7 } from './uuidv7-pool.js'

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('pooled uuidv7', () => {
  it('gives version-7 ids whose first 48 bits are the time', () => {
    // Ahead of any id this process made before (ids never go back in time, see below).
    const at = Date.now() + 10_000_000
    const id = uuidv7(at)
    expect(id).toMatch(UUID_V7)
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at)
  })

  it('keeps ids of one millisecond in order, and unique, across refills of the random pool', () => {
    const now = Date.now() + 20_000_000
    const ids = Array.from({ length: 5000 }, () => uuidv7(now))
    expect(new Set(ids).size).toBe(ids.length)
    expect([...ids].sort()).toEqual(ids)
    for (const id of ids) expect(id).toMatch(UUID_V7)
  })

  it('never goes back when the clock does', () => {
    const now = Date.now() + 30_000_000
    const later = uuidv7(now)
    const earlierClock = uuidv7(now - 5000)
    expect(earlierClock > later).toBe(true)
  })

  it('fills the random tail from the pool (not a constant)', () => {
    const tails = new Set(Array.from({ length: 100 }, () => uuidv7().slice(-8)))
    expect(tails.size).toBeGreaterThan(90)
  })
})
