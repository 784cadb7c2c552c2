import type { Redis } from 'ioredis'
import type { Database } from '../db/database.js'
import { LocalEventBus, type EventBus } from './event-bus.js'
import { PostgresEventBus, type BusLogger } from './postgres.bus.js'
import { RedisEventBus } from './redis.bus.js'

/**
 * Redis pub/sub when Redis is configured (it fans out across replicas without holding a database
 * connection per process), else LISTEN/NOTIFY on PostgreSQL, else (embedded, one process) in memory.
 */
export function createEventBus(
  options: { databaseUrl: string | null; database: Database; redis: Redis | null; redisPrefix: string },
  log: BusLogger,
): EventBus {
  if (options.redis) return new RedisEventBus(options.redis, options.redisPrefix, log)
  if (options.databaseUrl !== null && options.database.kind === 'postgres') {
    return new PostgresEventBus(options.databaseUrl, options.database.pool, log)
  }
  return new LocalEventBus()
}
