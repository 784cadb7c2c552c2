import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { pino } from 'pino'
import { buildApp } from './app.js'
import { loggerOptions, throttledWarning } from './platform/logger.js'
import type { Config } from './config.js'
import { startAdminChannel, type AdminChannel } from './cli/admin-channel.js'
import { adminSocketPath } from './platform/db/data-dir-lock.js'
import { migrateToLatest } from './platform/db/migrate.js'
import { MemoryRateLimitStore } from './platform/limits/memory.store.js'
import type { RateLimitStore } from './platform/limits/rate-limit.store.js'
import { RedisRateLimitStore } from './platform/limits/redis.store.js'
import { FallbackRateLimitStore } from './platform/limits/fallback.store.js'
import type { EventBus } from './platform/events/event-bus.js'
import { createEventBus } from './platform/events/create-event-bus.js'
import { PgBossJobQueue } from './platform/jobs/pg-boss.queue.js'
import { buildJobDefinitions, registerJobs } from './platform/jobs/registry.js'
import { createRedis } from './platform/redis.js'
import { openConfiguredDatabase, openEmbeddings, readinessChecks } from './runtime.js'
import { createServices } from './services.js'
import { packageVersion } from './version.js'

const EVENTS_READY_MS = 5000

export interface RunningServer {
  app: FastifyInstance
  url: string
  /** Stops accepting, lets in-flight requests finish (bounded by SHUTDOWN_TIMEOUT_MS), then closes everything. */
  stop(): Promise<void>
}

/** Opens the database, migrates, builds the app and listens. */
export async function startServer(config: Config): Promise<RunningServer> {
  const logger = pino(loggerOptions(config.logLevel))
  const opened = await openConfiguredDatabase(config)
  const { database } = opened
  let redis: Redis | null = null
  let store: RateLimitStore | null = null
  let channel: AdminChannel | null = null
  let jobs: PgBossJobQueue | null = null
  let events: EventBus | null = null
  let app: FastifyInstance | null = null
  const cleanup = async () => {
    await channel?.close()
    await jobs?.stop()
    await store?.close()
    await events?.close()
    redis?.disconnect()
    await opened.close()
  }
  try {
    await migrateToLatest(database.db)
    if (config.redisUrl !== null) {
      redis = createRedis(config.redisUrl, logger)
      await redis.connect().catch(() => {})
    }
    events = createEventBus({ databaseUrl: config.databaseUrl, database, redis, redisPrefix: config.redisPrefix }, logger)
    const embeddings = await openEmbeddings(config, database)
    if (config.jobsEnabled) {
      // Shorter than the HTTP grace period, so that a stop ends within SHUTDOWN_TIMEOUT_MS overall.
      jobs = new PgBossJobQueue({ database, logger, stopTimeoutMs: Math.max(1000, Math.floor(config.shutdownTimeoutMs / 2)) })
    }
    const queue = jobs
    const services = createServices({ database, config, events, log: logger, embeddings, jobs: () => queue })
    await services.embedder.store.ensureIndex()
    // The first start makes the key that signs access tokens; there is no default one.
    await services.signingKeys.ensure()
    // Embedded: this is the only process, so every unfinished generation was interrupted by the last stop.
    const interrupted = await services.generation.recoverInterrupted(database.kind === 'pglite')
    if (interrupted > 0) logger.warn({ interrupted }, 'marked generations interrupted by the last stop as failed')
    const version = packageVersion()
    if (jobs) {
      registerJobs(
        jobs,
        buildJobDefinitions({
          database,
          logger,
          embeddingWorker: services.embeddingWorker,
          generation: services.generation,
          accounts: services.accounts,
          accountRetentionDays: config.accounts.retentionDays,
        }),
      )
      await jobs.start()
    }
    // Subscriptions made by the services must be live before this process answers: a key revoked
    // elsewhere would otherwise keep working here until its cache entry expires.
    if (!(await events.ready(EVENTS_READY_MS))) {
      logger.warn({ events: events.kind }, `event bus not live after ${EVENTS_READY_MS} ms; /ready answers 503 until it is`)
    }
    const shared = redis
      ? new FallbackRateLimitStore(new RedisRateLimitStore(redis, `${config.redisPrefix}rl:`), new MemoryRateLimitStore(), {
          registry: services.registry,
          onFallback: throttledWarning(logger, 'redis unreachable: rate limits are per process until it is back'),
        })
      : null
    store = shared ?? new MemoryRateLimitStore()
    const checks = readinessChecks(database, { redis, events, ...(shared ? { rateLimits: shared } : {}) })
    app = await buildApp({ config, database, services, rateLimitStore: store, readinessChecks: checks, version, logger, events })
    await app.listen({ host: config.host, port: config.port })
    const address = app.server.address()
    const port = typeof address === 'object' && address ? address.port : config.port
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
    if (opened.lock) {
      channel = await startAdminChannel(adminSocketPath(config.dataDir), services, database)
      opened.lock.update({ socket: channel.path })
    }
    app.log.info(
      {
        url,
        version,
        database: database.kind === 'pglite' ? `embedded PGlite in ${config.dataDir}` : 'PostgreSQL',
        vector: services.embedder.store.mode === 'hnsw' ? 'pgvector (HNSW)' : 'exact scan (no pgvector)',
        embeddings: `${embeddings.provider.name} (${embeddings.provider.dimensions} dimensions)`,
        llm: services.generation.llm,
        jobs: jobs ? 'on (pg-boss)' : 'off',
        events: events.kind,
        rate_limits: config.rateLimits.length === 0 ? 'off' : store.name,
        admin_api: config.adminToken !== null ? 'on' : 'off (set ADMIN_TOKEN to enable)',
      },
      `agentstore listening on ${url}`,
    )
    app.log.info('first steps: `npx agentstore gpt create my-gpt --name "My GPT"` then `npx agentstore key create my-gpt`')
    const running = app
    let stopping: Promise<void> | null = null
    return {
      app: running,
      url,
      stop() {
        stopping ??= (async () => {
          const timer = setTimeout(() => {
            running.log.warn('in-flight requests did not finish in time; closing connections')
            running.server.closeAllConnections()
          }, config.shutdownTimeoutMs)
          timer.unref()
          // close() drops the connections idle at that moment only; a keep-alive connection whose
          // in-flight request finishes later would hold the stop until the timer above fires.
          const reaper = setInterval(() => running.server.closeIdleConnections(), 100)
          reaper.unref()
          await running.close()
          clearInterval(reaper)
          clearTimeout(timer)
          await cleanup()
        })()
        return stopping
      },
    }
  } catch (error) {
    await app?.close()
    await cleanup()
    throw error
  }
}
