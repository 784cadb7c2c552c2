import { describe, expect, it, vi } from 'vitest'
import { BusCache, broadcastInvalidation } from './bus-cache.js'
import type { EventBus } from './event-bus.js'

const bus = (live: boolean) => ({ live, publish: vi.fn(async () => {}) }) as unknown as EventBus & { live: boolean }

describe('BusCache', () => {
  it('answers within the TTL, then forgets', () => {
    const cache = new BusCache<string>({ bus: null, ttlMs: 100, maxEntries: 10 })
    cache.set('a', 'A', 1000)
    expect(cache.get('a', 1099)).toBe('A')
    expect(cache.get('a', 1100)).toBeUndefined()
    expect(cache.get('a', 1000)).toBeUndefined()
  })

  it('keeps nothing with a TTL of 0', () => {
    const cache = new BusCache<string>({ bus: null, ttlMs: 0, maxEntries: 10 })
    cache.set('a', 'A', 1000)
    expect(cache.get('a', 1000)).toBeUndefined()
  })

  it('keeps nothing and forgets everything while the bus is not live', () => {
    const events = bus(true)
    const cache = new BusCache<string>({ bus: events, ttlMs: 100, maxEntries: 10 })
    cache.set('a', 'A', 1000)
    events.live = false
    expect(cache.live).toBe(false)
    expect(cache.get('a', 1000)).toBeUndefined()
    cache.set('b', 'B', 1000)
    events.live = true
    expect(cache.get('a', 1000)).toBeUndefined()
    expect(cache.get('b', 1000)).toBeUndefined()
  })

  it('drops the entry written first past its bound', () => {
    const cache = new BusCache<number>({ bus: null, ttlMs: 100, maxEntries: 2 })
    cache.set('a', 1, 0)
    cache.set('b', 2, 0)
    cache.set('a', 3, 0)
    cache.set('c', 4, 0)
    expect([cache.get('a', 0), cache.get('b', 0), cache.get('c', 0)]).toEqual([undefined, 2, 4])
  })

  it('updates a value in place without making it younger, and deletes by key or by a test', () => {
    const cache = new BusCache<number>({ bus: null, ttlMs: 100, maxEntries: 10 })
    cache.set('a', 1, 0)
    cache.set('b', 2, 50)
    cache.update('a', (n) => n + 10)
    cache.update('missing', (n) => n + 10)
    expect(cache.get('a', 99)).toBe(11)
    expect(cache.get('a', 100)).toBeUndefined()
    expect(cache.get('missing', 60)).toBeUndefined()
    cache.deleteWhere((value, key) => value === 2 && key === 'b')
    expect(cache.get('b', 60)).toBeUndefined()
  })
})

describe('broadcastInvalidation', () => {
  it('publishes, and logs rather than throws when the bus fails', async () => {
    const warn = vi.fn()
    const events = bus(true)
    await broadcastInvalidation(events, 'c', { id: 'x' }, { warn }, 'a thing')
    expect(events.publish).toHaveBeenCalledWith('c', { id: 'x' })
    vi.mocked(events.publish).mockRejectedValueOnce(new Error('down'))
    await broadcastInvalidation(events, 'c', { id: 'y' }, { warn }, 'a thing')
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ err: expect.any(Error) }), 'could not broadcast a thing invalidation')
    await expect(broadcastInvalidation(null, 'c', {}, { warn }, 'a thing')).resolves.toBeUndefined()
  })
})
