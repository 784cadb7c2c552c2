import { randomBytes } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { pino, type Logger } from 'pino'
import { Writable } from 'node:stream'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { loggerOptions } from '../../src/platform/logger.js'
import { LocalEventBus, type EventBus } from '../../src/platform/events/event-bus.js'
import { MemoryRateLimitStore } from '../../src/platform/limits/memory.store.js'
import type { RateLimitStore } from '../../src/platform/limits/rate-limit.store.js'
import type { ReadinessCheck } from '../../src/platform/readiness.js'
import { openEmbeddings, readinessChecks } from '../../src/runtime.js'
import { silentJobLogger, type JobDefinition, type JobLogger, type JobQueue } from '../../src/platform/jobs/jobs.queue.js'
import { buildJobDefinitions, type JobDependencies } from '../../src/jobs.js'
import { createServices, type Services } from '../../src/services.js'
import type { LoginThrottleOptions } from '../../src/modules/accounts/login-throttle.js'
import { createTestDatabase, type TestDatabase } from './test-database.js'
import { sharedLocalEmbeddings } from './shared-embeddings.js'
import { LocalEmbeddingsProvider } from '../../src/platform/embeddings/local.embeddings.js'

export interface TestApp {
  app: FastifyInstance
  config: Config
  services: Services
  db: TestDatabase
  adminToken: string
  /** Every log line the app wrote, parsed. */
  logs: Record<string, unknown>[]
  close(): Promise<void>
}

export interface TestAppOptions {
  env?: Record<string, string>
  rateLimitStore?: RateLimitStore
  readinessChecks?: (defaults: ReadinessCheck[]) => ReadinessCheck[]
  /** Reuse another test app's database (two app instances over one database). */
  db?: TestDatabase
  /** The event bus between processes (default: in memory). */
  events?: EventBus
  /** Routes a test adds before the app is ready. */
  extend?: (app: FastifyInstance) => void
  /** The background job queue memories hand remote embedding to (default: none). */
  jobs?: () => JobQueue | null
  /** Failed-login delays (default: the service's own). */
  loginThrottle?: LoginThrottleOptions
}

function capturingLogger(lines: Record<string, unknown>[]): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  // The service's own options (serializers, redaction) at info level: what a test finds in `logs` is what production writes.
  return pino(loggerOptions('info'), stream)
}

/** An app over its own fresh database, with rate limits off unless the test sets RATE_LIMITS. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const adminToken = randomBytes(24).toString('hex')
  const config = loadConfig({ ADMIN_TOKEN: adminToken, RATE_LIMITS: 'off', PUBLIC_URL: 'http://agentstore.test', ...options.env })
  const db = options.db ?? (await createTestDatabase())
  const logs: Record<string, unknown>[] = []
  const logger = capturingLogger(logs)
  const events = options.events ?? new LocalEventBus()
  const opened = await openEmbeddings(config, db.database)
  const embeddings = opened.provider instanceof LocalEmbeddingsProvider && config.embeddings.workers === 1 ? { ...opened, provider: sharedLocalEmbeddings() } : opened
  const services = createServices({ database: db.database, config, events, log: logger, embeddings, jobs: options.jobs, loginThrottle: options.loginThrottle })
  await services.embedder.store.ensureIndex()
  const store = options.rateLimitStore ?? new MemoryRateLimitStore()
  const defaults = readinessChecks(db.database, { search: services.embedder.store })
  const app = await buildApp({
    config,
    database: db.database,
    services,
    rateLimitStore: store,
    readinessChecks: options.readinessChecks ? options.readinessChecks(defaults) : defaults,
    events,
    version: '0.0.0-test',
    logger,
  })
  options.extend?.(app)
  await app.ready()
  return {
    app,
    config,
    services,
    db,
    adminToken,
    logs,
    async close() {
      await app.close()
      await embeddings.provider.close?.()
      await store.close()
      if (!options.db) await db.drop()
    },
  }
}

/** Creates a GPT and a key for it through the services; returns the bearer token. */
export async function createGptWithKey(
  services: Services,
  gptId: string,
  scopes: ('read' | 'write' | 'admin')[] = ['read', 'write'],
): Promise<{ gptId: string; token: string; keyId: string }> {
  await services.gpts.getGpt(gptId).catch(() => services.gpts.createGpt({ id: gptId, name: gptId }))
  const key = await services.keys.createKey(gptId, { scopes })
  return { gptId, token: key.key, keyId: key.id }
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** The secret part of a key `ak_<32 hex id>_<secret>` (the secret is base64url: it may hold `_` itself). */
export function keySecret(token: string): string {
  const match = /^ak_[0-9a-f]{32}_(.+)$/.exec(token)
  if (!match) throw new Error(`not an API key: ${token.slice(0, 12)}…`)
  return match[1]!
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** An inject with these headers and, when `payload` is given, it as a JSON body (a given content-type wins). */
export function injectJson(app: FastifyInstance, method: HttpMethod, url: string, headers: Record<string, string>, payload?: unknown): Promise<LightMyRequestResponse> {
  if (payload === undefined) return app.inject({ method, url, headers })
  return app.inject({ method, url, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(payload) })
}

/** The service's job list over a test app's own services, as `main.ts` builds it (retentions at their defaults). */
export function serviceJobs(t: TestApp, logger: JobLogger): JobDefinition[] {
  const { embeddingWorker, generation, accounts, audit, signingKeys, backups } = t.services
  return buildJobDefinitions({
    database: t.db.database,
    logger,
    keyRetentionDays: 30,
    embeddingWorker,
    generation,
    extraction: t.services.extraction,
    extractionConcurrency: t.config.extraction.concurrency,
    accounts,
    accountRetentionDays: 30,
    audit,
    oauthTokens: t.services.oauth.tokens,
    signingKeys,
    backups,
    retention: t.services.retention,
    console: t.services.console,
  })
}

/** The service's job list for a database of `kind`, over stand-ins for the services: its names and schedules only. */
export function jobListOn(kind: 'pglite' | 'postgres'): JobDefinition[] {
  const stub = {} as never
  return buildJobDefinitions({ database: { db: stub, kind }, logger: silentJobLogger, embeddingWorker: stub, generation: stub, accounts: stub, accountRetentionDays: 30 } as unknown as JobDependencies)
}
