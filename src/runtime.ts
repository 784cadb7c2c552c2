import type { Redis } from 'ioredis'
import type { Config } from './config.js'
import type { DataDirLock } from './platform/db/data-dir-lock.js'
import { openDatabase, type Database } from './platform/db/database.js'
import { migrationStatus } from './platform/db/migrate.js'
import { startEmbedded, type EmbeddedOpening } from './platform/db/pglite-open.js'
import { sql } from 'kysely'
import type { ReadinessCheck } from './platform/readiness.js'
import type { EventBus } from './platform/events/event-bus.js'
import type { EmbeddingsProvider } from './platform/embeddings/embeddings.provider.js'
import { createEmbeddingsProvider } from './platform/embeddings/create-embeddings-provider.js'
import type { SearchBackendState, VectorBackend } from './modules/search/vector-store.js'

/** The database of a process: embedded PGlite under an exclusive lock of DATA_DIR, or PostgreSQL. */
export interface OpenedDatabase {
  database: Database
  lock: DataDirLock | null
  close(): Promise<void>
}

export async function openConfiguredDatabase(
  config: Pick<Config, 'databaseUrl' | 'databasePoolSize' | 'dataDir' | 'pgliteSharedBuffersMb'>,
  /** The embedded open, when the caller started it already (serve does, to overlap it with loading). */
  started?: EmbeddedOpening,
): Promise<OpenedDatabase> {
  if (config.databaseUrl !== null) {
    const database = await openDatabase({ kind: 'postgres', url: config.databaseUrl, poolSize: config.databasePoolSize })
    return { database, lock: null, close: () => database.close() }
  }
  const embedded = started ?? startEmbedded(config.dataDir, config.pgliteSharedBuffersMb)
  const { lock } = embedded
  try {
    const database = await openDatabase({ kind: 'pglite', dataDir: config.dataDir, opening: embedded.pglite })
    return {
      database,
      lock,
      async close() {
        await database.close()
        lock.release()
      },
    }
  } catch (error) {
    await embedded.abandon()
    throw error
  }
}

export async function vectorBackend(database: Database): Promise<'pgvector' | 'exact'> {
  const { rows } = await sql<{ present: boolean }>`select exists (select 1 from pg_extension where extname = 'vector') as present`.execute(database.db)
  return rows[0]?.present ? 'pgvector' : 'exact'
}

/** The embeddings provider of the configuration and the vector backend the database offers. */
export async function openEmbeddings(
  config: Pick<Config, 'embeddings'>,
  database: Database,
): Promise<{ provider: EmbeddingsProvider; backend: VectorBackend }> {
  return { provider: await createEmbeddingsProvider(config.embeddings), backend: await vectorBackend(database) }
}

export interface ReadinessParts {
  redis?: Redis | null
  events?: EventBus
  /** Present when budgets are shared: degraded while they fall back to per-process ones. */
  rateLimits?: { degraded: boolean }
  /** Present when backups are scheduled: degraded while the newest one is overdue. */
  backups?: { check(): Promise<string> }
  /** What answers semantic search now (exact, building, hnsw): an index build never holds up readiness. */
  search?: { readonly state: SearchBackendState }
}

export function readinessChecks(database: Database, parts: ReadinessParts = {}): ReadinessCheck[] {
  const { redis = null, events, rateLimits, backups, search } = parts
  const checks: ReadinessCheck[] = [
    {
      name: 'database',
      critical: true,
      async run() {
        await database.ping()
        return database.kind
      },
    },
    {
      name: 'migrations',
      critical: true,
      async run() {
        const pending = (await migrationStatus(database.db)).filter((migration) => !migration.applied)
        if (pending.length > 0) throw new Error(`pending: ${pending.map((migration) => migration.name).join(', ')}`)
        return 'current'
      },
    },
    { name: 'vector', critical: false, run: () => vectorBackend(database) },
  ]
  if (search) checks.push({ name: 'search', critical: false, run: async () => search.state })
  if (events) checks.push(eventsCheck(events))
  if (rateLimits) {
    checks.push({
      name: 'rate_limits',
      critical: false,
      async run() {
        if (rateLimits.degraded) throw new Error('per process while Redis is unreachable (each process allows a full budget)')
        return 'shared (redis)'
      },
    })
  }
  if (backups) checks.push({ name: 'backups', critical: false, run: () => backups.check() })
  if (redis) {
    checks.push({
      name: 'redis',
      critical: false,
      async run() {
        if (redis.status !== 'ready') throw new Error(`not connected (${redis.status})`)
        await redis.ping()
        return 'ok'
      },
    })
  }
  return checks
}

/**
 * Until the bus has been live once, the process is not ready: it would miss revocations and live
 * events. A later loss only degrades it (API key checks then read the database every time), so that
 * a Redis outage does not take every replica out of service.
 */
function eventsCheck(events: EventBus): ReadinessCheck {
  let wasLive = false
  return {
    name: 'events',
    get critical() {
      return !wasLive
    },
    async run() {
      const state = await events.check()
      wasLive = true
      return state
    },
  }
}
