import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import type { Database } from '../src/platform/db/database.js'
import { LocalEventBus } from '../src/platform/events/event-bus.js'
import { MemoryRateLimitStore } from '../src/platform/limits/memory.store.js'
import { loggerOptions } from '../src/platform/logger.js'
import type { SearchRepository } from '../src/modules/search/search.repo.js'
import type { VectorStore } from '../src/modules/search/vector-store.js'
import { openEmbeddings, readinessChecks } from '../src/runtime.js'
import { createServices } from '../src/services.js'
import { json } from './lib/setup.js'
import { percentiles, ratio, timed, type Percentiles } from './lib/stats.js'
import type { SearchBenchContext } from './search.bench.js'
import { generator, GPT, MODEL, TOP_K, WARMUP } from './search.load.js'

export interface HttpResult {
  size: number
  queries: number
  /** POST /v1/gpts/{gpt}/search, semantic, memories only, top_k 10: embeds the query with the local model. */
  http: Percentiles
  /** The local model embedding one query, alone. */
  embed: Percentiles
  /** SearchRepository.semantic (HNSW) with the vector of the same query, alone. */
  repository: Percentiles
  /** http / repository at p50 and p99. */
  httpOverRepository: { p50: number; p99: number }
}

/**
 * The app in this process over the same database (PGlite admits one process), listening on loopback:
 * POST /v1/gpts/{gpt}/search in semantic mode, against the embedding alone and the repository alone,
 * alternating, one request at a time.
 */
export async function measureHttp(
  context: SearchBenchContext,
  database: Database,
  repo: SearchRepository,
  store: VectorStore,
  size: number,
  dir: string,
): Promise<HttpResult> {
  context.log(`timing the HTTP search at ${size} (the local model embeds each query)…`)
  const config = loadConfig({ ADMIN_TOKEN: randomBytes(24).toString('hex'), RATE_LIMITS: 'off', DATA_DIR: dir, JOBS_ENABLED: 'false', LOG_LEVEL: context.logLevel })
  const logger = pino(loggerOptions(config.logLevel))
  const events = new LocalEventBus()
  const embeddings = await openEmbeddings(config, database)
  const services = createServices({ database, config, events, log: logger, embeddings })
  // As a service's start does (src/main.ts): the index the bench built is taken up, not built again.
  await services.embedder.store.startIndex((error) => {
    throw error
  })
  if (services.embedder.store.mode !== 'hnsw' || embeddings.provider.model !== MODEL) throw new Error('the app would not search these vectors with HNSW')
  const rateLimitStore = new MemoryRateLimitStore()
  const app = await buildApp({ config, database, services, rateLimitStore, readinessChecks: readinessChecks(database), version: 'bench', logger, events })
  try {
    await app.listen({ host: '127.0.0.1', port: 0 })
    const address = app.server.address()
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
    const key = await services.keys.createKey(GPT, { scopes: ['read'] })
    const headers = { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' }
    const words = ['meeting', 'invoice', 'holiday', 'allergy', 'birthday', 'project', 'deadline', 'coffee', 'flight', 'doctor', 'password', 'garden']
    const random = generator(99)
    const pick = () => words[Math.floor(random() * words.length)]!
    const count = Math.min(context.queries, 100)
    const texts = Array.from({ length: WARMUP + count }, (_, n) => `What did the user say about the ${pick()} and the ${pick()} (${n})?`)
    const times = { http: [] as number[], embed: [] as number[], repository: [] as number[] }
    for (const [index, text] of texts.entries()) {
      const posted = await timed(async () => {
        const body = await json<{ results: unknown[]; vector_backend: string }>(
          await fetch(`${base}/v1/gpts/${GPT}/search`, { method: 'POST', headers, body: JSON.stringify({ query: text, mode: 'semantic', sources: ['memories'], top_k: TOP_K }) }),
        )
        if (body.results.length !== TOP_K || body.vector_backend !== 'hnsw') throw new Error(`unexpected search answer: ${JSON.stringify(body).slice(0, 200)}`)
      })
      const embedded = await timed(() => embeddings.provider.embed([text]))
      const searched = await timed(() => repo.semantic(GPT, 'memories', store, embedded.value[0]!, {}, TOP_K))
      if (index < WARMUP) continue
      times.http.push(posted.ms)
      times.embed.push(embedded.ms)
      times.repository.push(searched.ms)
    }
    const httpTimes = percentiles(times.http)
    const repositoryTimes = percentiles(times.repository)
    return {
      size,
      queries: count,
      http: httpTimes,
      embed: percentiles(times.embed),
      repository: repositoryTimes,
      httpOverRepository: { p50: ratio(httpTimes.p50Ms, repositoryTimes.p50Ms), p99: ratio(httpTimes.p99Ms, repositoryTimes.p99Ms) },
    }
  } finally {
    await app.close()
    await rateLimitStore.close()
    await events.close()
    await embeddings.provider.close?.()
  }
}
