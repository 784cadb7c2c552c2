import { resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { pino, type DestinationStream } from 'pino'
import { buildApp } from './app.js'
import { checkListen, listenError } from './platform/listen-check.js'
import { loggerOptions, throttledWarning } from './platform/logger.js'
import type { Config } from './config.js'
import { startAdminChannel, type AdminChannel } from './cli/admin-channel.js'
import { cliCommand, shellWord } from './cli/command.js'
import { adminSocketPath } from './platform/db/data-dir-lock.js'
import { migrateToLatest } from './platform/db/migrate.js'
import type { EmbeddedOpening } from './platform/db/pglite-open.js'
import { MemoryRateLimitStore } from './platform/limits/memory.store.js'
import type { RateLimitStore } from './platform/limits/rate-limit.store.js'
import { RedisRateLimitStore } from './platform/limits/redis.store.js'
import { FallbackRateLimitStore } from './platform/limits/fallback.store.js'
import type { EventBus } from './platform/events/event-bus.js'
import { createEventBus } from './platform/events/create-event-bus.js'
import { PgBossJobQueue } from './platform/jobs/pg-boss.queue.js'
import { registerJobs } from './platform/jobs/jobs.queue.js'
import { openConfiguredDatabase, openEmbeddings, readinessChecks } from './runtime.js'
import { buildJobDefinitions } from './jobs.js'
import { createServices, type Services } from './services.js'
import { packageVersion } from './version.js'

const EVENTS_READY_MS = 5000

export interface RunningServer {
  app: FastifyInstance
  url: string
  /** Stops accepting, lets in-flight requests finish (bounded by SHUTDOWN_TIMEOUT_MS), then closes everything. */
  stop(): Promise<void>
}

export interface StartOptions {
  /** The `.env` file the settings were read from besides the environment, named in the start log. */
  envFile?: string | null
  /** Where the log lines go (stdout when not given). */
  logDestination?: DestinationStream
  /** The embedded database's open, started by the caller after it checked HOST and PORT (see cli/serve.ts). */
  embedded?: EmbeddedOpening
}

const LOOPBACK = /^(localhost|.+\.localhost|127(\.\d{1,3}){3}|\[::1\])$/i

/** Why PUBLIC_URL will not do for clients on the internet, or null: GPT Actions call https only. */
export function publicUrlWarning(publicUrl: string): string | null {
  const url = new URL(publicUrl)
  if (url.protocol !== 'http:' || LOOPBACK.test(url.hostname)) return null
  return `PUBLIC_URL ${publicUrl} is plain http on a host other than this machine; GPT Actions require https: serve it behind a TLS proxy and set PUBLIC_URL=https://…`
}

/** Opens the database, migrates, builds the app and listens. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logDestination ? pino(loggerOptions(config.logLevel), options.logDestination) : pino(loggerOptions(config.logLevel))
  if (!options.embedded) await checkListen(config.host, config.port)
  const opened = await openConfiguredDatabase(config, options.embedded)
  const { database } = opened
  let redis: Redis | null = null
  let store: RateLimitStore | null = null
  let channel: AdminChannel | null = null
  let jobs: PgBossJobQueue | null = null
  let events: EventBus | null = null
  let app: FastifyInstance | null = null
  let services: Services | null = null
  let embeddings: Awaited<ReturnType<typeof openEmbeddings>> | null = null
  const cleanup = async () => {
    await channel?.close()
    // The app wrote its rows at close; the admin channel may have recorded more since.
    await services?.auditWriter?.close()
    // Writes of the last moments go to the queue while it still runs (else the backfill finds them).
    await services?.changedItems.flush()
    await jobs?.stop()
    // After the jobs, which embed: its worker threads would keep the process alive.
    await embeddings?.provider.close?.()
    await store?.close()
    await events?.close()
    redis?.disconnect()
    await opened.close()
  }
  try {
    await migrateToLatest(database.db)
    if (config.redisUrl !== null) {
      // ioredis (~20 MB resident) is loaded only when Redis is configured.
      const { createRedis } = await import('./platform/redis.js')
      redis = createRedis(config.redisUrl, logger)
      await redis.connect().catch(() => {})
    }
    events = createEventBus({ databaseUrl: config.databaseUrl, database, redis, redisPrefix: config.redisPrefix }, logger)
    // The local model is not loaded here: it would hold ~150 MB from the start and take a core while the
    // rest starts. Its threads start on the first text to embed, which waits for the load (docs/memory.md).
    embeddings = await openEmbeddings(config, database)
    if (config.jobsEnabled) {
      // Shorter than the HTTP grace period, so that a stop ends within SHUTDOWN_TIMEOUT_MS overall.
      jobs = new PgBossJobQueue({ database, logger, stopTimeoutMs: Math.max(1000, Math.floor(config.shutdownTimeoutMs / 2)) })
    }
    const queue = jobs
    services = createServices({ database, config, events, log: logger, embeddings, jobs: () => queue })
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
          extraction: services.extraction,
          extractionConcurrency: config.extraction.concurrency,
          accounts: services.accounts,
          accountRetentionDays: config.accounts.retentionDays,
          audit: services.audit,
          auditRetentionDays: config.audit.retentionDays,
          oauthTokens: services.oauth.tokens,
          signingKeys: services.signingKeys,
          backups: services.backups,
          retention: services.retention,
          backupSchedule: config.backups.schedule,
          console: services.console,
          runs: services.overview.jobRuns,
        }),
      )
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
    const checks = readinessChecks(database, {
      redis,
      events,
      ...(shared ? { rateLimits: shared } : {}),
      ...(config.backups.schedule !== null ? { backups: services.backups } : {}),
      search: services.embedder.store,
    })
    app = await buildApp({ config, database, services, rateLimitStore: store, readinessChecks: checks, version, logger, events })
    // Taken since checkListen (a race): the same one-line answer.
    await app.listen({ host: config.host, port: config.port }).catch((error: unknown) => {
      throw listenError(error, config.host, config.port)
    })
    const address = app.server.address()
    const port = typeof address === 'object' && address ? address.port : config.port
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
    // Started once listening: pg-boss's start (its schema, queues and schedules checked) is not needed to
    // answer, and took about a sixth of a warm start. An enqueue meanwhile waits for it (PgBossJobQueue).
    await jobs?.start()
    const vectors = services.embedder.store
    await vectors.startIndex((err) => logger.error({ err }, 'building the HNSW index failed; semantic search scans exactly until the next start'))
    if (opened.lock) {
      channel = await startAdminChannel(adminSocketPath(config.dataDir), services, database)
      opened.lock.update({ socket: channel.path })
    }
    app.log.info(
      {
        url,
        version,
        settings: options.envFile ? `environment + ${options.envFile}` : 'environment',
        database: database.kind === 'pglite' ? `embedded PGlite in ${config.dataDir}` : 'PostgreSQL',
        vector: !vectors.indexable ? 'exact scan (no pgvector)' : vectors.state === 'building' ? 'pgvector (HNSW index building; exact scan until then)' : 'pgvector (HNSW)',
        embeddings: `${embeddings.provider.name} (${embeddings.provider.dimensions} dimensions)`,
        llm: services.generation.llm,
        jobs: jobs ? 'on (pg-boss)' : 'off',
        events: events.kind,
        rate_limits: config.rateLimits.length === 0 ? 'off' : store.name,
        admin_api: config.adminToken !== null ? 'on' : 'off (set ADMIN_TOKEN to enable)',
      },
      `agentstore listening on ${url}`,
    )
    const insecure = publicUrlWarning(config.publicUrl)
    if (insecure) app.log.warn({ public_url: config.publicUrl }, insecure)
    // Beside a data directory other than the default, the CLI must be told where it is.
    const cli = `${cliCommand()}${opened.lock && config.dataDir !== resolve('data') ? ` --data-dir ${shellWord(config.dataDir)}` : ''}`
    app.log.info(`first steps: \`${cli} gpt create my-gpt --name "My GPT"\` then \`${cli} key create my-gpt\``)
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
