import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { sql } from 'kysely'
import { pino } from 'pino'
import { uuidv7 } from 'uuidv7'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openDatabase, type Database } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { LocalEventBus } from '../src/platform/events/event-bus.js'
import { MemoryRateLimitStore } from '../src/platform/limits/memory.store.js'
import { loggerOptions } from '../src/platform/logger.js'
import { USE_LITE_DIMENSIONS, USE_LITE_MODEL } from '../src/platform/embeddings/use-lite.model.js'
import { SearchRepository } from '../src/modules/search/search.repo.js'
import { HNSW_DEFAULTS, VectorStore } from '../src/modules/search/vector-store.js'
import { openEmbeddings, readinessChecks, vectorBackend } from '../src/runtime.js'
import { createServices } from '../src/services.js'
import { json } from './lib/setup.js'
import { percentiles, ratio, round, type Percentiles } from './lib/stats.js'

export interface SearchBenchContext {
  /** Memories of the searched GPT, ascending; the data grows from one size to the next. */
  sizes: number[]
  /** Measured queries per size and mode (after WARMUP). */
  queries: number
  /** Memories of a second GPT, in the same HNSW graph, that the GPT filter must drop. */
  otherRows: number
  /** A size is skipped when its HNSW build is predicted to take longer than this. */
  maxBuildSeconds: number
  /** maintenance_work_mem for the index build ('default': PGlite's own, 64MB). */
  maintenanceWorkMem: string
  /** random: uniform unit vectors (the brief's worst case for HNSW); clustered: points around 1,000 topic centres. */
  vectors: 'random' | 'clustered'
  logLevel: string
  log: (line: string) => void
}

export interface SizeResult {
  size: number
  /** Memories loaded for this size (rows added since the last size), and how long it took. */
  loadSeconds: number
  /** VectorStore.ensureIndex() from scratch over every vector of the table. */
  buildSeconds: number
  /** The query plan of the HNSW mode uses the HNSW index (a sanity check). */
  hnswIndexUsed: boolean
  hnsw: Percentiles
  exact: Percentiles
  /** exact / hnsw at p50 and p99: how many times faster the index is. */
  exactOverHnsw: { p50: number; p99: number }
  /** Mean fraction of the exact top 10 that HNSW returned, and the worst query's. */
  recallAt10: { mean: number; min: number }
  /** Mean cosine similarity of the exact 1st and 10th hits (how far the neighbours stand out from the rest). */
  exactSimilarity: { first: number; tenth: number }
}

export interface SkippedSize {
  size: number
  reason: string
}

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

export interface SearchReport {
  database: string
  model: string
  dims: number
  topK: number
  queries: number
  otherRows: number
  vectors: 'random' | 'clustered'
  efSearch: number
  /** maintenance_work_mem during the index builds. */
  maintenanceWorkMem: string
  results: SizeResult[]
  skipped: SkippedSize[]
  http: HttpResult | null
}

const GPT = 'bench-search'
const OTHER_GPT = 'bench-search-other'
const TOP_K = 10
const WARMUP = 10
const BATCH = 1000
const DIMS = USE_LITE_DIMENSIONS
const MODEL = USE_LITE_MODEL

/** A seeded generator (mulberry32), so that every run loads and queries the same vectors. */
function generator(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** Standard normal coordinates (Box–Muller). */
function normals(random: () => number): number[] {
  const vector: number[] = []
  while (vector.length < DIMS) {
    const radius = Math.sqrt(-2 * Math.log(1 - random()))
    const angle = 2 * Math.PI * random()
    vector.push(radius * Math.cos(angle), radius * Math.sin(angle))
  }
  return vector
}

function unit(vector: number[]): number[] {
  const norm = Math.hypot(...vector)
  return vector.map((value) => value / norm)
}

const CENTRES = 1000
/** Per-coordinate noise around a centre: members of one topic have a cosine similarity of ~0.35, other vectors ~0. */
const SPREAD = 0.06

/**
 * Unit vectors: uniformly random directions, or points scattered around CENTRES fixed topic centres
 * (closer to what a text model gives: neighbours stand out from the rest).
 */
function vectorSource(kind: 'random' | 'clustered', seed: number): (count: number) => number[][] {
  const random = generator(seed)
  const centreRandom = generator(1)
  const centres = kind === 'clustered' ? Array.from({ length: CENTRES }, () => unit(normals(centreRandom))) : []
  const one = () => {
    const noise = normals(random)
    if (kind === 'random') return unit(noise)
    const centre = centres[Math.floor(random() * CENTRES)]!
    return unit(centre.map((value, index) => value + noise[index]! * SPREAD))
  }
  return (count) => Array.from({ length: count }, one)
}

/** Bytes per vector of pgvector's in-memory HNSW build graph, from its notice (64MB held 25,657 vectors of 512 dims). */
const graphBytes = (vectors: number) => vectors * (4 * DIMS + 570)

function megabytes(setting: string): number {
  const match = /^(\d+)\s*(kB|MB|GB)$/.exec(setting)
  if (!match) return Number.NaN
  return Number(match[1]) * { kB: 1 / 1024, MB: 1, GB: 1024 }[match[2] as 'kB' | 'MB' | 'GB']
}

const vectorText = (vector: number[]) => `[${vector.map((value) => value.toFixed(6)).join(',')}]`

/** `count` memories of one GPT, each with its vector, in multi-row INSERTs of BATCH rows. */
async function loadMemories(database: Database, gptId: string, from: number, count: number, source: (count: number) => number[][]): Promise<void> {
  for (let start = 0; start < count; start += BATCH) {
    const size = Math.min(BATCH, count - start)
    const ids = Array.from({ length: size }, () => uuidv7())
    const vectors = source(size)
    await database.db.transaction().execute(async (trx) => {
      await sql`
        insert into memories (gpt_id, id, user_id, content, embedding_status)
        values ${sql.join(ids.map((id, index) => sql`(${gptId}, ${id}, ${'user-' + ((from + start + index) % 50)}, ${`Memory ${from + start + index} of ${gptId}`}, 'ready')`))}
      `.execute(trx)
      await sql`
        insert into embeddings (gpt_id, memory_id, model, dims, embedding)
        values ${sql.join(ids.map((id, index) => sql`(${gptId}, ${id}, ${MODEL}, ${DIMS}, ${vectorText(vectors[index]!)}::vector)`))}
      `.execute(trx)
    })
  }
}

async function time<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const begin = performance.now()
  const value = await run()
  return { ms: performance.now() - begin, value }
}

/** The plan of the HNSW query shape (the repository's join, candidates and ordering) names the HNSW index. */
async function usesHnswIndex(database: Database, store: VectorStore, query: number[]): Promise<boolean> {
  return store.withSearchSettings(database.db, async (db) => {
    const { rows } = await sql<{ 'QUERY PLAN': string }>`
      explain select x.id from embeddings e join memories x on x.gpt_id = e.gpt_id and x.id = e.memory_id
      where ${store.candidates(GPT, 'memories')} and x.gpt_id = ${GPT}
      order by ${store.distance(query)} limit ${TOP_K}
    `.execute(db)
    return rows.some((row) => row['QUERY PLAN'].includes(`embeddings_hnsw_${DIMS}`))
  })
}

/**
 * Vector search over memories at growing sizes: SearchRepository.semantic with the HNSW index against
 * the exact scan of the same rows, alternating query by query, with recall@10 of HNSW against the exact
 * answer; once, the full HTTP search (which embeds the query with the local model) against the
 * repository call alone. Embedded PGlite only: it ships pgvector, the PostgreSQL here does not.
 * The rows are inserted with SQL (seeded random unit vectors, uniform or clustered), not through the
 * API, which would embed each with the local model.
 */
export async function runSearchBench(context: SearchBenchContext): Promise<SearchReport> {
  const dir = await mkdtemp(join(tmpdir(), 'agentstore-bench-search-'))
  let database: Database | null = null
  try {
    database = await openDatabase({ kind: 'pglite', dataDir: dir })
    await migrateToLatest(database.db)
    if ((await vectorBackend(database)) !== 'pgvector') throw new Error('this PGlite has no pgvector')
    await sql`insert into gpts (id, name) values (${GPT}, 'Search bench'), (${OTHER_GPT}, 'Search bench (other)')`.execute(database.db)
    // The pool has one connection: a session setting holds for every later statement.
    if (context.maintenanceWorkMem !== 'default') await sql`select set_config('maintenance_work_mem', ${context.maintenanceWorkMem}, false)`.execute(database.db)
    const { rows: settings } = await sql<{ mem: string }>`select current_setting('maintenance_work_mem') as mem`.execute(database.db)
    const maintenanceWorkMem = settings[0]?.mem ?? '?'

    const hnsw = new VectorStore(database.db, 'pgvector', DIMS, MODEL)
    const exact = new VectorStore(database.db, 'pgvector', DIMS, MODEL, { forceExact: true })
    const repo = new SearchRepository(database.db)
    const queries = vectorSource(context.vectors, 7)(WARMUP + context.queries)
    const source = vectorSource(context.vectors, 42)

    context.log(`loading ${context.otherRows} memories of a second GPT…`)
    await loadMemories(database, OTHER_GPT, 0, context.otherRows, source)

    const results: SizeResult[] = []
    const skipped: SkippedSize[] = []
    let http: HttpResult | null = null
    let loaded = 0
    for (const size of [...context.sizes].sort((a, b) => a - b)) {
      const needed = graphBytes(size + context.otherRows) / 2 ** 20
      if (needed > megabytes(maintenanceWorkMem)) {
        // pgvector then inserts the rest one by one: once here (a loaded machine), 40,000 vectors took 399 s with 64MB, 222 s with 512MB.
        const reason = `the HNSW build graph (~${Math.round(needed)} MB) would not fit maintenance_work_mem (${maintenanceWorkMem}); past that pgvector inserts vector by vector, far slower — raise --maintenance-work-mem`
        context.log(`skipping ${size}: ${reason}`)
        skipped.push({ size, reason })
        continue
      }
      const last = results[results.length - 1]
      if (last) {
        // HNSW builds grow a little faster than linearly; scale by n·log n from the last build.
        const predicted = last.buildSeconds * ((size + context.otherRows) * Math.log(size + context.otherRows)) / ((last.size + context.otherRows) * Math.log(last.size + context.otherRows))
        if (predicted > context.maxBuildSeconds) {
          const reason = `HNSW build predicted at ~${Math.round(predicted)} s from the ${last.size} build (${last.buildSeconds} s), over --max-build-seconds ${context.maxBuildSeconds}`
          context.log(`skipping ${size}: ${reason}`)
          skipped.push({ size, reason })
          continue
        }
      }
      // Dropped before loading: inserting into a live HNSW index row by row is slower than a build.
      await sql.raw(`drop index if exists embeddings_hnsw_${DIMS}`).execute(database.db)
      context.log(`loading ${size - loaded} memories (to ${size})…`)
      const load = await time(() => loadMemories(database!, GPT, loaded, size - loaded, source))
      loaded = size
      await sql`analyze memories`.execute(database.db)
      await sql`analyze embeddings`.execute(database.db)
      context.log(`building the HNSW index over ${size + context.otherRows} vectors…`)
      const build = await time(() => hnsw.ensureIndex())
      context.log(`built in ${round(build.ms / 1000, 1)} s; querying…`)
      const hnswIndexUsed = await usesHnswIndex(database, hnsw, queries[0]!)

      const times = { hnsw: [] as number[], exact: [] as number[] }
      const recalls: number[] = []
      const similarity = { first: 0, tenth: 0 }
      for (const [index, query] of queries.entries()) {
        const run = (store: VectorStore) => time(() => repo.semantic(GPT, 'memories', store, query, {}, TOP_K))
        // Alternating which goes first, so that neither always runs on a warmer cache.
        let fast: Awaited<ReturnType<typeof run>>
        let slow: Awaited<ReturnType<typeof run>>
        if (index % 2 === 0) {
          fast = await run(hnsw)
          slow = await run(exact)
        } else {
          slow = await run(exact)
          fast = await run(hnsw)
        }
        if (index < WARMUP) continue
        times.hnsw.push(fast.ms)
        times.exact.push(slow.ms)
        const found = new Set(fast.value.map((hit) => hit.id))
        recalls.push(slow.value.filter((hit) => found.has(hit.id)).length / Math.max(1, slow.value.length))
        similarity.first += (slow.value[0]?.score ?? Number.NaN) / context.queries
        similarity.tenth += (slow.value[TOP_K - 1]?.score ?? Number.NaN) / context.queries
      }
      const hnswTimes = percentiles(times.hnsw)
      const exactTimes = percentiles(times.exact)
      results.push({
        size,
        loadSeconds: round(load.ms / 1000, 1),
        buildSeconds: round(build.ms / 1000, 1),
        hnswIndexUsed,
        hnsw: hnswTimes,
        exact: exactTimes,
        exactOverHnsw: { p50: ratio(exactTimes.p50Ms, hnswTimes.p50Ms), p99: ratio(exactTimes.p99Ms, hnswTimes.p99Ms) },
        recallAt10: { mean: round(recalls.reduce((a, b) => a + b, 0) / recalls.length, 3), min: round(Math.min(...recalls), 3) },
        exactSimilarity: { first: round(similarity.first, 3), tenth: round(similarity.tenth, 3) },
      })
      if (http === null) http = await measureHttp(context, database, repo, hnsw, size, dir)
    }
    return {
      database: 'pglite (embedded, pgvector)',
      model: MODEL,
      dims: DIMS,
      topK: TOP_K,
      queries: context.queries,
      otherRows: context.otherRows,
      vectors: context.vectors,
      efSearch: HNSW_DEFAULTS.efSearch,
      maintenanceWorkMem,
      results,
      skipped,
      http,
    }
  } finally {
    await database?.close()
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * The app in this process over the same database (PGlite admits one process), listening on loopback:
 * POST /v1/gpts/{gpt}/search in semantic mode, against the embedding alone and the repository alone,
 * alternating, one request at a time.
 */
async function measureHttp(
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
      const posted = await time(async () => {
        const body = await json<{ results: unknown[]; vector_backend: string }>(
          await fetch(`${base}/v1/gpts/${GPT}/search`, { method: 'POST', headers, body: JSON.stringify({ query: text, mode: 'semantic', sources: ['memories'], top_k: TOP_K }) }),
        )
        if (body.results.length !== TOP_K || body.vector_backend !== 'hnsw') throw new Error(`unexpected search answer: ${JSON.stringify(body).slice(0, 200)}`)
      })
      const embedded = await time(() => embeddings.provider.embed([text]))
      const searched = await time(() => repo.semantic(GPT, 'memories', store, embedded.value[0]!, {}, TOP_K))
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
