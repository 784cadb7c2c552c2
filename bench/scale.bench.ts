import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { sql } from 'kysely'
import { openDatabase, type Database } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { USE_LITE_DIMENSIONS, USE_LITE_MODEL } from '../src/platform/embeddings/use-lite.model.js'
import { benchDatabase, freePort, json, waitForHealth } from './lib/setup.js'
import { startProcess, type Started } from './lib/processes.js'
import { percentiles, ratio, round, type Percentiles } from './lib/stats.js'
import { COMMON_WORD, RARE_WORD, USERS, databaseBytes, embeddingIsVector, loadDocuments, loadMemories } from './scale.load.js'

export interface ScaleContext {
  db: 'pglite' | 'postgres'
  postgresUrl: string
  /** Documents and memories of the GPT at each step (both grow together), ascending. */
  sizes: number[]
  /** Requests per operation and size, fewer when one takes long (see BUDGET_MS). */
  queries: number
  logLevel: string
  log: (line: string) => void
}

export interface ScaleRow extends Percentiles {
  size: number
  operation: string
  /** p50 at this size ÷ p50 of the same operation at the smallest size. */
  p50VsSmallest: number
}

export interface ScaleReport {
  database: string
  rows: ScaleRow[]
  /** Per size: load time, the wait for the HNSW build after start, the service's RSS after the measurements, the database's size, what answered semantic search. */
  sizes: { size: number; loadSeconds: number; indexSeconds: number; rssMb: number; databaseMb: number; search: string }[]
}

const GPT = 'scale-gpt'
const WARMUP = 2
/** An operation stops after this much time once it has 3 samples, so that a slow one reports fewer. */
const BUDGET_MS = 20_000
const REQUEST_TIMEOUT_MS = 600_000
const SEMANTIC_QUERIES = ['what does the user like to eat', 'places the user visited', 'plans for the weekend', 'favourite music', 'things bought online']

/**
 * The document store and memory search as the data grows: the rows are written with SQL straight into the
 * service's tables (generate_series; the import API would embed every memory with the local model, hours at
 * 1M), then the service starts on them and each operation is timed request by request over HTTP.
 */
export async function runScaleBench(context: ScaleContext): Promise<ScaleReport> {
  const target = await benchDatabase(context)
  const adminToken = randomBytes(24).toString('hex')
  const source = context.db === 'postgres' ? { kind: 'postgres' as const, url: target.env.DATABASE_URL!, poolSize: 2 } : { kind: 'pglite' as const, dataDir: target.env.DATA_DIR! }
  let service: Started | null = null
  const rows: ScaleRow[] = []
  const sizes: ScaleReport['sizes'] = []
  try {
    let loaded = 0
    for (const size of [...context.sizes].sort((a, b) => a - b)) {
      const load = await loadStep(context, source, loaded, size)
      loaded = size
      const port = await freePort()
      // HNSW on PGlite is built after listen: the first size that has one waits for it.
      service = await startProcess('bin/agentstore.js', ['serve'], { ...target.env, PORT: String(port), ADMIN_TOKEN: adminToken, RATE_LIMITS: 'off', JOBS_ENABLED: 'false', LOG_LEVEL: context.logLevel }, port)
      // Its warnings and errors show beside the bench's, and a full pipe never stalls it.
      service.child.stdout?.pipe(process.stderr)
      await waitForHealth(service.url)
      const building = performance.now()
      const search = await searchReady(service.url, context)
      const indexSeconds = round((performance.now() - building) / 1000, 1)
      const key = await gptKey(service.url, adminToken)
      for (const [operation, request] of operations(service.url, key)) {
        context.log(`${size}: ${operation}…`)
        const measured = await measure(request, context.queries)
        rows.push({ size, operation, ...measured, p50VsSmallest: ratio(measured.p50Ms, rows.find((row) => row.operation === operation)?.p50Ms ?? measured.p50Ms) })
      }
      sizes.push({ size, loadSeconds: load.seconds, indexSeconds, rssMb: rssMb(service.child.pid), databaseMb: round(load.bytes / 2 ** 20, 0), search })
      await service.stop()
      service = null
    }
    return { database: context.db, rows, sizes }
  } finally {
    await service?.stop()
    await target.drop()
  }
}

/** Adds rows up to `size` with the service stopped (PGlite admits one process per data directory). */
async function loadStep(context: ScaleContext, source: Parameters<typeof openDatabase>[0], loaded: number, size: number): Promise<{ seconds: number; bytes: number }> {
  const database: Database = await openDatabase(source)
  try {
    await migrateToLatest(database.db)
    if (loaded === 0) {
      await sql`insert into gpts (id, name) values (${GPT}, 'Scale bench')`.execute(database.db)
      await sql`insert into collections (gpt_id, name) values (${GPT}, 'big')`.execute(database.db)
    }
    const vector = await embeddingIsVector(database)
    // Vectors inserted one by one into a live HNSW graph take tens of ms each; the service rebuilds it at start.
    await sql.raw(`drop index if exists embeddings_hnsw_${USE_LITE_DIMENSIONS}`).execute(database.db)
    const begin = performance.now()
    // Steps of 100,000 rows: one statement per step keeps PGlite's memory bounded and shows progress.
    for (let from = loaded + 1; from <= size; from += 100_000) {
      const to = Math.min(size, from + 99_999)
      context.log(`loading documents and memories ${from}–${to}…`)
      await loadDocuments(database, GPT, from, to)
      await loadMemories(database, GPT, from, to, USE_LITE_MODEL, USE_LITE_DIMENSIONS, vector)
    }
    await sql`analyze`.execute(database.db)
    return { seconds: round((performance.now() - begin) / 1000, 1), bytes: await databaseBytes(database) }
  } finally {
    await database.close()
  }
}

async function searchReady(base: string, context: ScaleContext): Promise<string> {
  for (;;) {
    const ready = (await (await fetch(`${base}/ready`)).json()) as { checks?: Record<string, { state: string }> }
    const state = ready.checks?.search?.state ?? 'exact'
    if (state !== 'building') return state
    context.log('waiting for the HNSW build…')
    await new Promise((resolve) => setTimeout(resolve, 2000))
  }
}

async function gptKey(base: string, adminToken: string): Promise<string> {
  const made: { key: string } = await json(
    await fetch(`${base}/v1/admin/gpts/${GPT}/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scopes: ['read', 'write', 'admin'] }),
    }),
  )
  return made.key
}

type Request = (index: number) => { url: string; init?: RequestInit }

function operations(base: string, key: string): [string, Request][] {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
  const objects = `${base}/v1/gpts/${GPT}/collections/big/objects`
  const get = (url: string): Request => () => ({ url, init: { headers } })
  const search = (body: (index: number) => object): Request => (index) => ({ url: `${base}/v1/gpts/${GPT}/search`, init: { method: 'POST', headers, body: JSON.stringify(body(index)) } })
  const query = (index: number) => SEMANTIC_QUERIES[index % SEMANTIC_QUERIES.length]!
  return [
    ['documents: first page of 50', get(`${objects}?limit=50`)],
    ['documents: where tag (1%)', get(`${objects}?limit=50&where=${encodeURIComponent('{"tag":"t7"}')}`)],
    [`documents: q common word (1/64)`, get(`${objects}?limit=50&q=${COMMON_WORD}`)],
    [`documents: q rare word (1/10,000)`, get(`${objects}?limit=50&q=${RARE_WORD}`)],
    ['memories: first page of 50', get(`${base}/v1/gpts/${GPT}/memories?limit=50`)],
    ['memories: one user\'s page', get(`${base}/v1/gpts/${GPT}/memories?limit=50&user_id=user-7`)],
    ['search keyword, memories', search(() => ({ query: `${COMMON_WORD} ${RARE_WORD}`, mode: 'keyword', sources: ['memories'] }))],
    ['search semantic, one user', search((index) => ({ query: query(index), mode: 'semantic', sources: ['memories'], filters: { user_id: `user-${index % USERS}` } }))],
    ['search hybrid, one user', search((index) => ({ query: query(index), mode: 'hybrid', sources: ['memories'], filters: { user_id: `user-${index % USERS}` } }))],
    ['search semantic, whole GPT', search((index) => ({ query: query(index), mode: 'semantic', sources: ['memories'] }))],
    ['search hybrid, whole GPT', search((index) => ({ query: query(index), mode: 'hybrid', sources: ['memories'] }))],
  ]
}

/** Sequential requests: WARMUP, then up to `count` timed, fewer once BUDGET_MS is spent (at least 3). */
async function measure(request: Request, count: number): Promise<Percentiles> {
  const times: number[] = []
  const begin = performance.now()
  for (let index = 0; index < WARMUP + count; index++) {
    const { url, init } = request(index)
    const start = performance.now()
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    await response.arrayBuffer()
    if (!response.ok) throw new Error(`${url}: ${response.status}`)
    if (index >= WARMUP) times.push(performance.now() - start)
    if (times.length >= 3 && performance.now() - begin > BUDGET_MS) break
    // A slow first request (a minute-long scan) is measured once more rather than warmed up twice.
    if (index === 0 && performance.now() - start > BUDGET_MS) index = WARMUP - 1
  }
  return percentiles(times)
}

/** VmRSS of the service process (PGlite's database included; PostgreSQL's backends are not). */
function rssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN)
  return round(kb / 1024, 0)
}

export function printScale(report: ScaleReport): void {
  const smallest = Math.min(...report.rows.map((row) => row.size))
  console.log(`\nscale on ${report.database} — sequential requests over HTTP; ratios: p50 at this size ÷ p50 of the same operation at ${smallest}`)
  console.table(report.rows.map((row) => ({ size: row.size, operation: row.operation, 'p50 ms': row.p50Ms, 'p99 ms': row.p99Ms, samples: row.samples, 'p50 vs smallest': row.p50VsSmallest })))
  console.table(report.sizes)
}
