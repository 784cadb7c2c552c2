import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js'
import { channelName, DeliveryProbe, LocalEventBus, type EventBus } from './event-bus.js'
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('channel names', () => {
  it.each(['keys.invalidate', 'mail.agent_1'])('accepts %s', (name) => expect(channelName(name)).toBe(`agentstore.${name}`))
  it.each(['', 'Upper', 'has space', 'x'.repeat(42), '1digit', 'semi;colon'])('refuses %j', (name) => {
    expect(() => channelName(name)).toThrow(/invalid event channel/)
  })
})

describe('DeliveryProbe', () => {
  it('fails the check, and only the check, when publishing alone outlasts the timeout', async () => {
    const unhandled: unknown[] = []
    const record = (reason: unknown) => void unhandled.push(reason)
    process.on('unhandledRejection', record)
    try {
      const probe = new DeliveryProbe()
      // A database too busy to take the NOTIFY within the timeout (seen under load): the timer fires first.
      const slowPublish = () => new Promise<void>((resolve) => setTimeout(resolve, 100))
      await expect(probe.roundTrip(slowPublish, 10)).rejects.toThrow('a published probe was not heard back within 10 ms')
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', record)
    }
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
    expect(bus.live).toBe(true)
    expect(await bus.ready(0)).toBe(true)
    expect(await bus.check()).toBe('in process')
  })
})

describe.skipIf(!process.env.TEST_DATABASE_URL)('PostgresEventBus (LISTEN/NOTIFY)', () => {
  let db: TestDatabase
  const buses: PostgresEventBus[] = []

  afterAll(async () => {
    for (const bus of buses) await bus.close()
    await db?.drop()
  })

  const listeners = async () => {
    const { rows } = await db.database.pool.query<{ pid: number }>(
      "select pid from pg_stat_activity where datname = current_database() and query like 'LISTEN%'",
    )
    return rows.map((row) => row.pid)
  }

  it('carries a publish of one process to the subscribers of another', async () => {
    db = await createTestDatabase()
    const [one, two] = [0, 1].map(() => new PostgresEventBus(db.url!, db.database.pool, silent))
    buses.push(one!, two!)
    const heard = collector(two!, 'test.cross')
    const own = collector(one!, 'test.cross')
    expect(await two!.ready(5000)).toBe(true)
    expect(await one!.ready(5000)).toBe(true)
    await one!.publish('test.cross', { key_id: 'k1' })
    expect(await heard.waitFor(1)).toEqual([{ key_id: 'k1' }])
    expect(await own.waitFor(1)).toEqual([{ key_id: 'k1' }])
    heard.unsubscribe()
    await one!.publish('test.cross', { key_id: 'k2' })
    expect(await own.waitFor(2)).toEqual([{ key_id: 'k1' }, { key_id: 'k2' }])
    expect(heard.received).toHaveLength(1)
    expect(await one!.check()).toMatch(/^postgres \(probe heard back in \d+ ms\)$/)
  })

  it('listens again to every channel after its connection is killed, and is not live meanwhile', async () => {
    const bus = new PostgresEventBus(db.url!, db.database.pool, silent)
    buses.push(bus)
    const heard = collector(bus, 'test.again')
    expect(await bus.ready(5000)).toBe(true)
    await db.database.pool.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [await listeners()])
    await sleep(100)
    expect(bus.live).toBe(false)
    expect(await bus.ready(5000)).toBe(true)
    expect(await bus.check()).toMatch(/^postgres \(probe heard back/)
    await bus.publish('test.again', { n: 1 })
    expect(await heard.waitFor(1)).toEqual([{ n: 1 }])
  })

  it('ends a listening connection that is still being opened when close is called, without warnings', async () => {
    const warnings: unknown[] = []
    // The buses of the tests above reconnect when their connections are killed: closed first, so that
    // no connection of theirs comes back while this one is counted.
    for (const earlier of buses.splice(0)) await earlier.close()
    await expect.poll(listeners).toEqual([])
    const before = await listeners()
    const bus = new PostgresEventBus(db.url!, db.database.pool, { warn: (...args: unknown[]) => warnings.push(args) })
    const unsubscribe = bus.subscribe('test.race', () => {})
    await bus.close()
    // Unsubscribing after close (as the services do while stopping) is silent.
    unsubscribe()
    // Had the connection survived, the process would hold an idle LISTEN client.
    await sleep(200)
    expect(await listeners()).toEqual(before)
    expect(warnings).toEqual([])
  })

  it('stops cleanly after it was live: no warning when its services unsubscribe while stopping', async () => {
    const warnings: unknown[] = []
    const bus = new PostgresEventBus(db.url!, db.database.pool, { warn: (...args: unknown[]) => warnings.push(args) })
    const unsubscribe = bus.subscribe('test.stop', () => {})
    expect(await bus.ready(5000)).toBe(true)
    const before = (await listeners()).length
    await bus.close()
    unsubscribe()
    await sleep(200)
    expect((await listeners()).length).toBe(before - 1)
    expect(warnings).toEqual([])
  })
})

describe.skipIf(!process.env.REDIS_URL)('RedisEventBus (pub/sub)', () => {
  const clients: Redis[] = []
  const buses: RedisEventBus[] = []

  afterAll(async () => {
    for (const bus of buses) await bus.close()
    for (const client of clients) client.disconnect()
  })

  const client = () => {
    const redis = new Redis(process.env.REDIS_URL!, { lazyConnect: true })
    clients.push(redis)
    return redis
  }

  const bus = (prefix: string, warn: (...args: unknown[]) => void = () => {}) => {
    const publisher = client()
    void publisher.connect()
    const created = new RedisEventBus(publisher, prefix, { warn })
    buses.push(created)
    return created
  }

  it('carries a publish of one process to the subscribers of another, under its prefix only', async () => {
    const prefix = `test:${randomBytes(4).toString('hex')}:`
    const [one, two] = [bus(prefix), bus(prefix)]
    const foreign = bus(`other:${randomBytes(4).toString('hex')}:`)
    const heard = collector(two, 'test.cross')
    const elsewhere = collector(foreign, 'test.cross')
    expect(await two.ready(5000)).toBe(true)
    expect(await foreign.ready(5000)).toBe(true)
    await one.publish('test.cross', { gpt_id: 'g' })
    expect(await heard.waitFor(1)).toEqual([{ gpt_id: 'g' }])
    // Another deployment on the same Redis (another REDIS_PREFIX) hears nothing of it.
    await sleep(100)
    expect(elsewhere.received).toEqual([])
    const spy = client()
    await spy.connect()
    expect(await spy.pubsub('NUMSUB', `${prefix}test.cross`)).toEqual([`${prefix}test.cross`, 1])
    expect(await two.check()).toMatch(/^redis \(probe heard back in \d+ ms\)$/)
  })

  it('subscribes race-free: 30 fresh processes, each subscribing while its connection is still being made, are all live', async () => {
    // A channel subscribed between the TCP connect and the end of the handshake used to put the
    // connection in subscriber mode too early: its ready check then failed and subscriptions were
    // lost (7 of 40 processes heard nothing on one of their channels with the former bus).
    const prefix = `test:${randomBytes(4).toString('hex')}:`
    const warnings: unknown[] = []
    const started = await Promise.all(
      Array.from({ length: 30 }, async (_, index) => {
        const fresh = bus(prefix, (...args) => warnings.push(args))
        const first = collector(fresh, 'keys.invalidate')
        await sleep(index % 10)
        return { fresh, heard: [first, collector(fresh, 'chat.generation')] }
      }),
    )
    expect(await Promise.all(started.map(({ fresh }) => fresh.ready(5000)))).toEqual(started.map(() => true))
    const publisher = started[0]!.fresh
    await publisher.publish('keys.invalidate', { key_id: 'k' })
    await publisher.publish('chat.generation', { message_id: 'm' })
    for (const { heard } of started) {
      expect(await heard[0]!.waitFor(1)).toEqual([{ key_id: 'k' }])
      expect(await heard[1]!.waitFor(1)).toEqual([{ message_id: 'm' }])
    }
    expect(warnings).toEqual([])
  })

  it('subscribes again to every channel after its connection is killed, and is not live meanwhile', async () => {
    const prefix = `test:${randomBytes(4).toString('hex')}:`
    const subscriberBus = bus(prefix)
    const heard = collector(subscriberBus, 'keys.invalidate')
    expect(await subscriberBus.ready(5000)).toBe(true)
    const admin = client()
    await admin.connect()
    const list = (await admin.client('LIST')) as string
    const ids = list.split('\n').filter((line) => line.includes(` name=${prefix}events `)).map((line) => /\bid=(\d+)/.exec(line)![1]!)
    expect(ids).toHaveLength(1)
    await admin.client('KILL', 'ID', ids[0]!)
    await sleep(20)
    expect(subscriberBus.live).toBe(false)
    expect(await subscriberBus.ready(5000)).toBe(true)
    await bus(prefix).publish('keys.invalidate', { key_id: 'after' })
    expect(await heard.waitFor(1)).toEqual([{ key_id: 'after' }])
  })

  it('opens no subscriber connection in a process that only publishes', async () => {
    const prefix = `test:${randomBytes(4).toString('hex')}:`
    bus(prefix)
    await sleep(200)
    const admin = client()
    await admin.connect()
    expect(((await admin.client('LIST')) as string).includes(` name=${prefix}events `)).toBe(false)
  })
})
