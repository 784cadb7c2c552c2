import { randomBytes } from 'node:crypto'
import { drive, type LoadOptions, type LoadResult } from './lib/load.js'
import { benchDatabase, createGptKey, freePort, json, waitForHealth } from './lib/setup.js'
import { portFromLog, startProcess, type Started } from './lib/processes.js'
import { ratio, round } from './lib/stats.js'

export interface BenchContext extends LoadOptions {
  db: 'pglite' | 'postgres'
  /** PostgreSQL server to create the bench database on. */
  postgresUrl: string
  documents: number
  /** Times the scenario list is driven; each scenario reports its round with the median ratio to the baseline. */
  rounds: number
  logLevel: string
  log: (line: string) => void
}

const GPT = 'bench-gpt'




/** Loads `count` documents into collection `big` through the import endpoint, 10,000 per request. */
async function loadDocuments(base: string, headers: Record<string, string>, count: number): Promise<void> {
  for (let start = 0; start < count; start += 10_000) {
    const lines: string[] = []
    for (let n = start; n < Math.min(count, start + 10_000); n++) {
      lines.push(JSON.stringify({ n, title: `Document ${n}`, tags: [n % 2 ? 'odd' : 'even'], text: `Lorem ipsum ${n} dolor sit amet` }))
    }
    await json(await fetch(`${base}/v1/gpts/${GPT}/collections/big/import`, { method: 'POST', headers: { ...headers, 'content-type': 'application/x-ndjson' }, body: lines.join('\n') }))
  }
}

/** GET requests take this many documents' paths in turn in the scenario of many. */
const MANY = 2000

/**
 * Walks the newest-first list: a cursor about 90% of the way through it, and the paths of the first
 * MANY documents.
 */
async function walkList(base: string, headers: Record<string, string>, count: number): Promise<{ cursor: string; paths: string[] }> {
  let cursor: string | null = null
  const paths: string[] = []
  for (let seen = 0; seen < count * 0.9; seen += 200) {
    const page: { objects: { id: string }[]; next_cursor: string | null } = await json(
      await fetch(`${base}/v1/gpts/${GPT}/collections/big/objects?limit=200${cursor ? `&cursor=${cursor}` : ''}`, { headers }),
    )
    if (paths.length < MANY) paths.push(...page.objects.map((object) => `/v1/objects/${object.id}`))
    if (!page.next_cursor) break
    cursor = page.next_cursor
  }
  if (!cursor) throw new Error('no deep cursor')
  return { cursor, paths: paths.slice(0, MANY) }
}


export interface DocumentsReport {
  /**
   * `ratioToBaseline`: over the one-row select (the issue's figure). `ratioToBare`, for the list and
   * POST: over a bare server doing the same list or insert, which tells the database's share of the
   * gap from the service's.
   */
  results: (LoadResult & { ratioToBaseline: number; bare?: LoadResult; ratioToBare?: number })[]
  baseline: LoadResult
  /** A bare Fastify doing the baseline's select, measured after its own node:http baseline: the framework's floor. */
  fastifyFloor: (LoadResult & { ratioToBaseline: number }) | null
  deepToFirstPageP50: number
}

/**
 * The document store under load: GET one object (the same one, then 2,000 in turn), the first and a
 * deep page of a large collection, and POST, each against a bare node:http + pg server doing the same
 * primary-key select on the same database in the same run.
 */
export async function runDocumentsBench(context: BenchContext): Promise<DocumentsReport> {
  const database = await benchDatabase(context)
  const adminToken = randomBytes(24).toString('hex')
  let running: Started | null = null
  let baselineProcess: Started | null = null
  let floorProcess: Started | null = null
  try {
    const port = await freePort()
    running = await startProcess(
      'bin/agentstore.js',
      ['serve'],
      {
        ...database.env,
        PORT: String(port),
        ADMIN_TOKEN: adminToken,
        RATE_LIMITS: 'off',
        LOG_LEVEL: context.logLevel,
        IMPORT_BODY_LIMIT: '20mb',
        JOBS_ENABLED: 'false',
      },
      port,
    )
    const base = `http://127.0.0.1:${port}`
    await waitForHealth(base)
    const key = await createGptKey(base, adminToken, { id: GPT, name: 'Bench' }, ['read', 'write', 'admin'])
    const headers = { authorization: `Bearer ${key}` }
    const jsonHeaders = { ...headers, 'content-type': 'application/json' }
    for (const name of ['big', 'small']) {
      await json(await fetch(`${base}/v1/gpts/${GPT}/collections`, { method: 'POST', headers: jsonHeaders, body: JSON.stringify({ name }) }))
    }
    context.log(`loading ${context.documents} documents…`)
    await loadDocuments(base, headers, context.documents)
    const one: { id: string } = await json(
      await fetch(`${base}/v1/gpts/${GPT}/collections/small/objects`, { method: 'POST', headers: jsonHeaders, body: JSON.stringify({ title: 'The one', n: 1 }) }),
    )
    const { cursor, paths } = await walkList(base, headers, context.documents)
    const list = `${base}/v1/gpts/${GPT}/collections/big/objects?limit=50`
    const posted = JSON.stringify({ title: 'Posted', n: 2 })
    const scenarios = [
      ['GET one object', { url: `${base}/v1/objects/${one.id}`, headers }, null],
      [`GET one of ${paths.length} objects in turn`, { url: base, headers, paths }, null],
      ['list first page', { url: list, headers }, 'list'],
      ['list deep page (90%)', { url: `${list}&cursor=${cursor}`, headers }, null],
      ['POST object', { url: `${base}/v1/gpts/${GPT}/collections/small/objects`, method: 'POST' as const, headers: jsonHeaders, body: posted }, 'insert'],
    ] as const
    const driveBare = (server: Started, path: 'list' | 'insert') =>
      drive(
        `bare node:http + pg ${path === 'list' ? 'list of 50' : 'insert'}`,
        path === 'list' ? { url: `${server.url}/list` } : { url: `${server.url}/insert`, method: 'POST', headers: { 'content-type': 'application/json' }, body: posted },
        context,
      )
    const baselineEnv = { ...database.env, BENCH_GPT_ID: GPT, BENCH_OBJECT_ID: one.id }
    const driveBaseline = (url: string) => drive('baseline: node:http + pg select', { url }, context)
    // On PostgreSQL the baseline runs beside the service and is measured right before each scenario,
    // so that each ratio compares two runs made moments apart on this shared, noisy machine.
    baselineProcess = context.db === 'postgres' ? await startProcess('bench/baseline-server.ts', [], baselineEnv, portFromLog) : null
    const rounds = new Map<string, { result: LoadResult; baseline: LoadResult | null; bare: LoadResult | null }[]>()
    for (let pass = 1; pass <= Math.max(1, context.rounds); pass++) {
      for (const [scenario, request, same] of scenarios) {
        if (baselineProcess) context.log('driving baseline…')
        const baseline = baselineProcess ? await driveBaseline(baselineProcess.url) : null
        context.log(`driving ${scenario} (round ${pass})…`)
        const result = await drive(scenario, request, context)
        if (baselineProcess && same) context.log(`driving the bare ${same}…`)
        const bare = baselineProcess && same ? await driveBare(baselineProcess, same) : null
        rounds.set(scenario, [...(rounds.get(scenario) ?? []), { result, baseline, bare }])
      }
    }
    let fastifyFloor: DocumentsReport['fastifyFloor'] = null
    if (baselineProcess) {
      floorProcess = await startProcess('bench/baseline-server.ts', [], { ...baselineEnv, BENCH_BASELINE: 'fastify' }, portFromLog)
      context.log('driving baseline, then bare Fastify…')
      const before = await driveBaseline(baselineProcess.url)
      const floor = await drive('bare Fastify + pg select', { url: floorProcess.url }, context)
      fastifyFloor = { ...floor, ratioToBaseline: round(floor.requestsPerSecond / before.requestsPerSecond) }
    }
    if (!baselineProcess) {
      // PGlite admits one process per data directory: the baseline opens it once the service is gone.
      await running?.stop()
      running = await startProcess('bench/baseline-server.ts', [], baselineEnv, portFromLog)
      context.log('driving baseline…')
      const baseline = await driveBaseline(running.url)
      for (const [scenario, , same] of scenarios) {
        const bare = same ? await driveBare(running, same) : null
        for (const measured of rounds.get(scenario)!) Object.assign(measured, { baseline, bare })
      }
    }
    // Each scenario's round with the median ratio: a real pair of runs made moments apart, not a mix of rounds.
    const results = scenarios.map(([scenario]) => {
      const ranked = rounds
        .get(scenario)!
        .map((measured) => ({ ...measured, ratio: round(measured.result.requestsPerSecond / measured.baseline!.requestsPerSecond) }))
        .sort((a, b) => a.ratio - b.ratio)
      const { result, bare, ratio } = ranked[Math.floor(ranked.length / 2)]!
      const row = { ...result, ratioToBaseline: ratio }
      return bare ? { ...row, bare, ratioToBare: round(result.requestsPerSecond / bare.requestsPerSecond) } : row
    })
    const first = results.find((result) => result.scenario === 'list first page')!
    const deep = results.find((result) => result.scenario === 'list deep page (90%)')!
    const sorted = [...rounds.values()].flat().map((measured) => measured.baseline!).sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)
    return {
      results,
      baseline: sorted[Math.floor(sorted.length / 2)]!,
      fastifyFloor,
      deepToFirstPageP50: round(deep.p50Ms / Math.max(first.p50Ms, 0.001)),
    }
  } finally {
    await running?.stop()
    await baselineProcess?.stop()
    await floorProcess?.stop()
    await database.drop()
  }
}

/** The report as a table, with the run's settings (as given on the command line). */
export function printDocuments(report: DocumentsReport, options: { db: string; connections: string; duration: string; documents: string; rounds: string }): void {
  const rows: { scenario: string; requestsPerSecond: number; p50Ms: number; p99Ms: number; ratioToBaseline: number; ratioToBare?: number; non2xx: number }[] = [
    ...report.results,
    ...(report.fastifyFloor ? [report.fastifyFloor] : []),
    ...report.results.flatMap((result) => (result.bare ? [{ ...result.bare, ratioToBaseline: ratio(result.bare.requestsPerSecond, report.baseline.requestsPerSecond) }] : [])),
    { ...report.baseline, scenario: `${report.baseline.scenario} (median)`, ratioToBaseline: 1 },
  ]
  console.log(`\ndocuments on ${options.db} — ${options.connections} connections, ${options.duration} s per scenario, ${options.documents} documents, ${options.rounds} rounds (each scenario shows its round with the median ratio to the baseline)`)
  console.table(
    rows.map((row) => ({ scenario: row.scenario, 'req/s': row.requestsPerSecond, 'p50 ms': row.p50Ms, 'p99 ms': row.p99Ms, 'vs baseline': row.ratioToBaseline, 'vs bare same work': row.ratioToBare ?? '', 'non-2xx': row.non2xx })),
  )
  console.log('"vs baseline": req/s over the one-row select measured just before the scenario (PostgreSQL) or once (PGlite)')
  console.log('"vs bare same work": req/s over node:http + pg doing the same list of 50 or insert, measured right after the scenario')
  console.log(`deep page p50 / first page p50: ${report.deepToFirstPageP50}`)
}
