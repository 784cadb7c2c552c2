import { Redis } from 'ioredis'

/**
 * A Redis client that never queues commands while disconnected: callers get an error at once and
 * fall back, instead of requests hanging while Redis is away. It keeps reconnecting in the background.
 */
export function createRedis(url: string, log: { warn(object: object, message: string): void; info(message: string): void }): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    connectTimeout: 2000,
    lazyConnect: true,
    retryStrategy: (times) => Math.min(times * 200, 5000),
  })
  let down = false
  redis.on('error', (error) => {
    if (!down) log.warn({ err: error }, 'redis unavailable; rate limits per process, events paused until it is back')
    down = true
  })
  redis.on('ready', () => {
    if (down) log.info('redis available again')
    down = false
  })
  return redis
}
