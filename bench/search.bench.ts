import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { openDatabase, type Database } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { SearchRepository } from '../src/modules/search/search.repo.js'
import { HNSW_DEFAULTS, VectorStore } from '../src/modules/search/vector-store.js'
import { vectorBackend } from '../src/runtime.js'
import { percentiles, ratio, round, timed, type Percentiles } from './lib/stats.js'
import { measureHttp, type HttpResult } from './search.http.js'
import { DIMS, GPT, graphBytes, loadMemories, megabytes, MODEL, OTHER_GPT, TOP_K, vectorSource, WARMUP } from './search.load.js'

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
      const load = await timed(() => loadMemories(database!, GPT, loaded, size - loaded, source))
      loaded = size
      await sql`analyze memories`.execute(database.db)
      await sql`analyze embeddings`.execute(database.db)
      context.log(`building the HNSW index over ${size + context.otherRows} vectors…`)
      const build = await timed(() => hnsw.ensureIndex())
      context.log(`built in ${round(build.ms / 1000, 1)} s; querying…`)
      const hnswIndexUsed = await usesHnswIndex(database, hnsw, queries[0]!)

      const times = { hnsw: [] as number[], exact: [] as number[] }
      const recalls: number[] = []
      const similarity = { first: 0, tenth: 0 }
      for (const [index, query] of queries.entries()) {
        const run = (store: VectorStore) => timed(() => repo.semantic(GPT, 'memories', store, query, {}, TOP_K))
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
