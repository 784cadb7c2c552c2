import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js'
import { channelName, LocalEventBus, type EventBus } from './event-bus.js'
import { PostgresEventBus } from './postgres.bus.js'
import { RedisEventBus } from './redis.bus.js'

const silent = { warn: () => {} }

function collector(bus: EventBus, channel: string) {
  const received: Record<string, unknown>[] = []
  const waiters: (() => void)[] = []
  const unsubscribe = bus.subscribe(channel, (payload) => {
    received.push(payload)
    waiters.splice(0).forEach((wake) => wake())
  })
  const waitFor = async (count: number, timeoutMs = 3000) => {
    const deadline = Date.now() + timeoutMs
    while (received.length < count && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        waiters.push(resolve)
        setTimeout(resolve, 50)
      })
    }
    return received
  }
  return { received, waitFor, unsubscribe }
}

describe('channel names', () => {
  it.each(['keys.invalidate', 'mail.agent_1'])('accepts %s', (name) => expect(channelName(name)).toBe(`agentstore.${name}`))
  it.each(['', 'Upper', 'has space', 'x'.repeat(42), '1digit', 'semi;colon'])('refuses %j', (name) => {
    expect(() => channelName(name)).toThrow(/invalid event channel/)
  })
})

describe('LocalEventBus', () => {
  it('delivers to every subscriber of the channel, after publish returns, and stops after unsubscribe', async () => {
    const bus = new LocalEventBus()
    const a = collector(bus, 'test.one')
    const b = collector(bus, 'test.one')
    const other = collector(bus, 'test.two')
    const publishing = bus.publish('test.one', { n: 1 })
    // Like the networked buses, delivery never happens inside the publisher's call.
    expect(a.received).toEqual([])
    await publishing
    expect(await a.waitFor(1)).toEqual([{ n: 1 }])
    expect(await b.waitFor(1)).toEqual([{ n: 1 }])
    a.unsubscribe()
    await bus.publish('test.one', { n: 2 })
    expect(await b.waitFor(2)).toEqual([{ n: 1 }, { n: 2 }])
    expect(a.received).toEqual([{ n: 1 }])
    expect(other.received).toEqual([])
  })
})

describe.skipIf(!process.env.TEST_DATABASE_URL)('PostgresEventBus (LISTEN/NOTIFY)', () => {
  let db: TestDatabase
  const buses: PostgresEventBus[] = []
  afterAll(async () => {
    for (const bus of buses) await bus.close()
    await db?.drop()
  })

  it('carries a publish of one process to the subscribers of another', async () => {
    db = await createTestDatabase()
    const [one, two] = [0, 1].map(() => new PostgresEventBus(db.url!, db.database.pool, silent))
    buses.push(one!, two!)
    const heard = collector(two!, 'test.cross')
    const own = collector(one!, 'test.cross')
    await two!.ready()
    await one!.ready()
    await one!.publish('test.cross', { key_id: 'k1' })
    expect(await heard.waitFor(1)).toEqual([{ key_id: 'k1' }])
    expect(await own.waitFor(1)).toEqual([{ key_id: 'k1' }])
    heard.unsubscribe()
    await one!.publish('test.cross', { key_id: 'k2' })
    expect(await own.waitFor(2)).toEqual([{ key_id: 'k1' }, { key_id: 'k2' }])
    expect(heard.received).toHaveLength(1)
  })
})

describe.skipIf(!process.env.REDIS_URL)('RedisEventBus (pub/sub)', () => {
  const clients: Redis[] = []
  const buses: RedisEventBus[] = []
  afterAll(async () => {
    for (const bus of buses) await bus.close()
    for (const client of clients) client.disconnect()
  })

  it('carries a publish of one process to the subscribers of another', async () => {
    const channel = `test.r${randomBytes(4).toString('hex')}`
    const [one, two] = [0, 1].map(() => {
      const client = new Redis(process.env.REDIS_URL!)
      clients.push(client)
      const bus = new RedisEventBus(client, silent)
      buses.push(bus)
      return bus
    })
    const heard = collector(two!, channel)
    await new Promise((resolve) => setTimeout(resolve, 200))
    await one!.publish(channel, { gpt_id: 'g' })
    expect(await heard.waitFor(1)).toEqual([{ gpt_id: 'g' }])
  })
})

describe.skipIf(!process.env.TEST_DATABASE_URL)('PostgresEventBus close', () => {
  it('ends a listening connection that is still being opened when close is called', async () => {
    const db = await createTestDatabase()
    try {
      const bus = new PostgresEventBus(db.url!, db.database.pool, silent)
      bus.subscribe('test.race', () => {})
      await bus.close()
      // Had the connection survived, this database could not be dropped without force and the
      // process would hold an idle client: count the backends listening on it.
      await new Promise((resolve) => setTimeout(resolve, 200))
      const { rows } = await db.database.pool.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and query like 'LISTEN%'",
      )
      expect(rows[0]!.n).toBe(0)
    } finally {
      await db.drop()
    }
  })
})
