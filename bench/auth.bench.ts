import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openDatabase } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { LocalEventBus } from '../src/platform/events/event-bus.js'
import { MemoryRateLimitStore } from '../src/platform/limits/memory.store.js'
import { loggerOptions } from '../src/platform/logger.js'
import { openEmbeddings, readinessChecks } from '../src/runtime.js'
import { createServices } from '../src/services.js'
import { benchDatabase } from './lib/setup.js'
import { percentiles, ratio, type Percentiles } from './lib/stats.js'

export interface AuthBenchContext {
  db: 'pglite' | 'postgres'
  postgresUrl: string
  requests: number
  logLevel: string
  log: (line: string) => void
}

const PATHS = ['valid key', 'known id, wrong secret', 'unknown id', 'revoked key'] as const
type Path = (typeof PATHS)[number]

/**
 * Time to a 401 for a token whose id exists (wrong secret) against one whose id does not: if they
 * differ, timing tells an attacker which key ids exist. GET /v1/me through the whole app in this
 * process, the paths interleaved so that both see the same machine; a valid key is the baseline.
 */
export async function runAuthBench(context: AuthBenchContext) {
  const target = await benchDatabase(context)
  const database = await openDatabase(
    context.db === 'postgres' ? { kind: 'postgres', url: target.env.DATABASE_URL!, poolSize: 10 } : { kind: 'pglite', dataDir: target.env.DATA_DIR! },
  )
  try {
    await migrateToLatest(database.db)
    const config = loadConfig({ RATE_LIMITS: 'off', JOBS_ENABLED: 'false', LOG_LEVEL: context.logLevel })
    const logger = pino(loggerOptions(config.logLevel))
    const events = new LocalEventBus()
    const embeddings = await openEmbeddings(config, database)
    const services = createServices({ database, config, events, log: logger, embeddings })
    const app = await buildApp({ config, database, services, rateLimitStore: new MemoryRateLimitStore(), readinessChecks: readinessChecks(database), version: 'bench', logger, events })
    try {
      await services.gpts.createGpt({ id: 'bench-auth', name: 'bench' })
      const valid = (await services.keys.createKey('bench-auth', {})).key
      const revokedKey = await services.keys.createKey('bench-auth', {})
      await services.keys.revokeKey(null, revokedKey.id)
      const secret = () => randomBytes(32).toString('base64url')
      const tokens: Record<Path, () => string> = {
        'valid key': () => valid,
        'known id, wrong secret': () => `${valid.slice(0, 35)}_${secret()}`,
        // The same unknown ids again and again, as a scan that retries would send them.
        'unknown id': () => `ak_${'0'.repeat(31)}${Math.floor(Math.random() * 8)}_${secret()}`,
        'revoked key': () => revokedKey.key,
      }
      const samples: Record<Path, number[]> = { 'valid key': [], 'known id, wrong secret': [], 'unknown id': [], 'revoked key': [] }
      context.log(`${context.requests} requests per path, interleaved…`)
      for (let round = -50; round < context.requests; round++) {
        for (const path of PATHS) {
          const authorization = `Bearer ${tokens[path]()}`
          const started = process.hrtime.bigint()
          const response = await app.inject({ url: '/v1/me', headers: { authorization } })
          const ms = Number(process.hrtime.bigint() - started) / 1e6
          if (response.statusCode !== (path === 'valid key' ? 200 : 401)) throw new Error(`${path}: ${response.statusCode}`)
          if (round >= 0) samples[path].push(ms)
        }
      }
      const results = Object.fromEntries(PATHS.map((path) => [path, percentiles(samples[path])])) as Record<Path, Percentiles>
      return {
        requests: context.requests,
        results,
        unknownOverWrongSecret: {
          p50: ratio(results['unknown id'].p50Ms, results['known id, wrong secret'].p50Ms),
          p99: ratio(results['unknown id'].p99Ms, results['known id, wrong secret'].p99Ms),
        },
      }
    } finally {
      await app.close()
      await embeddings.provider.close?.()
    }
  } finally {
    await database.close()
    await target.drop()
  }
}
