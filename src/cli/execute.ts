import type { Config } from '../config.js'
import { processAlive, readLock } from '../platform/db/data-dir-lock.js'
import { startEmbedded } from '../platform/db/pglite-open.js'
import type { EventBus } from '../platform/events/event-bus.js'
import { callAdminChannel } from './admin-channel.client.js'
import type { OperationName } from './operations.js'

export type RunOperation = (name: OperationName, args: unknown) => Promise<unknown>

/**
 * Runs an operation where the data is: through the running embedded server's admin channel when
 * one holds DATA_DIR (PGlite allows one process per directory), else in this process.
 */
export async function executeOperation(config: Config, name: OperationName, args: unknown): Promise<unknown> {
  return withOperations(config, (run) => run(name, args), name === 'migrate.status' || name === 'migrate.up')
}

/**
 * Gives `use` a way to run several operations in a row (a long job in steps, with progress between
 * them) over one database connection, or over the running server's admin channel.
 */
export async function withOperations<T>(config: Config, use: (run: RunOperation) => Promise<T>, skipMigrations = false): Promise<T> {
  if (config.databaseUrl === null) {
    const holder = readLock(config.dataDir)
    if (holder?.socket && holder.pid !== process.pid && processAlive(holder.pid)) {
      const socket = holder.socket
      return use((name, args) => callAdminChannel(socket, name, args))
    }
  }
  // PGlite's open starts before the service's modules load, so that the two overlap (as in serve).
  const embedded = config.databaseUrl === null ? startEmbedded(config.dataDir, config.pgliteSharedBuffersMb) : undefined
  // Loaded only here: a command sent to the running server above needs none of the service.
  const [{ migrateToLatest }, { createEventBus }, { openConfiguredDatabase, openEmbeddings }, { createServices }, { runOperation }] = await Promise.all([
    import('../platform/db/migrate.js'),
    import('../platform/events/create-event-bus.js'),
    import('../runtime.js'),
    import('../services.js'),
    import('./operations.js'),
  ]).catch(async (error: unknown) => {
    await embedded?.abandon()
    throw error
  })
  const opened = await openConfiguredDatabase(config, embedded)
  const log = {
    warn: (object: object, message: string) => {
      process.stderr.write(`agentstore: ${message} (${String((object as { err?: unknown }).err)})\n`)
    },
  }
  // ioredis only when Redis is configured.
  const redis = config.redisUrl === null ? null : (await import('../platform/redis.js')).createRedis(config.redisUrl, { ...log, info: () => {} })
  await redis?.connect().catch(() => {})
  // Revocations made here reach the caches of running servers through the same bus they listen on.
  const bus = createEventBus({ databaseUrl: config.databaseUrl, database: opened.database, redis, redisPrefix: config.redisPrefix }, log)
  // A one-shot command only publishes: it has no cache worth keeping fresh, so it opens no listening
  // connection (LISTEN on PostgreSQL, a Redis subscriber).
  const events: EventBus = {
    kind: bus.kind,
    live: true,
    publish: (channel, payload) => bus.publish(channel, payload),
    subscribe: () => () => {},
    ready: async () => true,
    check: async () => 'publish only',
    close: () => bus.close(),
  }
  try {
    if (!skipMigrations) await migrateToLatest(opened.database.db)
    const embeddings = await openEmbeddings(config, opened.database)
    const services = createServices({ database: opened.database, config, events, log, embeddings })
    try {
      return await use((name, args) => runOperation({ services, database: opened.database }, name, args))
    } finally {
      // What the operator did (keys made or revoked, accounts made) reaches the audit log before the database closes.
      await services.auditWriter?.close()
      // A command that embedded (reindex) started the model's threads; they would keep the process alive.
      await embeddings.provider.close?.()
    }
  } finally {
    await events.close()
    redis?.disconnect()
    await opened.close()
  }
}
