// `npm run bench -- [documents] [mail] [--db pglite|postgres] [--duration 10] [--connections 50] [--documents 100000] [--mails 200] [--streams 100] [--gap-ms 10]`
import { mkdirSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { runDocumentsBench } from './documents.bench.js'
import { runMailBench } from './mail.bench.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    db: { type: 'string', default: 'pglite' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    documents: { type: 'string', default: '100000' },
    mails: { type: 'string', default: '200' },
    streams: { type: 'string', default: '100' },
    'gap-ms': { type: 'string', default: '10' },
    'log-level': { type: 'string', default: 'warn' },
    'postgres-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
})
const db = values.db === 'postgres' ? 'postgres' : values.db === 'pglite' ? 'pglite' : null
if (db === null) throw new Error('--db is pglite or postgres')

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`)

/** Each suite runs, prints its table and returns the report written to bench/results/. */
const available: Record<string, () => Promise<object>> = {
  async documents() {
    const report = await runDocumentsBench({
      db,
      postgresUrl: values['postgres-url']!,
      durationSeconds: Number(values.duration),
      connections: Number(values.connections),
      documents: Number(values.documents),
      logLevel: values['log-level']!,
      log,
    })
    const rows = [...report.results, { ...report.baseline, scenario: `${report.baseline.scenario} (median)`, ratioToBaseline: 1 }]
    console.log(`\ndocuments on ${db} — ${values.connections} connections, ${values.duration} s per scenario, ${values.documents} documents`)
    console.table(
      rows.map((row) => ({ scenario: row.scenario, 'req/s': row.requestsPerSecond, 'p50 ms': row.p50Ms, 'p99 ms': row.p99Ms, 'vs baseline': row.ratioToBaseline, 'non-2xx': row.non2xx })),
    )
    console.log('"vs baseline": req/s over the baseline measured just before the scenario (PostgreSQL) or once (PGlite)')
    console.log(`deep page p50 / first page p50: ${report.deepToFirstPageP50}`)
    return report
  },
  async mail() {
    const report = await runMailBench({
      db,
      postgresUrl: values['postgres-url']!,
      mails: Number(values.mails),
      streams: Number(values.streams),
      gapMs: Number(values['gap-ms']),
      logLevel: values['log-level']!,
      log,
    })
    const ratio = (ms: number, to: number) => Math.round((ms / to) * 100) / 100
    console.log(`\nmail on ${db} — ${report.streams} open inbox streams of one agent, ${report.mails} mails sent one after another (${values['gap-ms']} ms apart)`)
    console.table(
      [
        { scenario: 'POST /mail round trip (baseline)', latency: report.post },
        { scenario: 'POST start → SSE delivery, each stream', latency: report.delivery },
        { scenario: `POST start → SSE delivery, last of ${report.streams} streams`, latency: report.deliveryToAll },
      ].map(({ scenario, latency }) => ({
        scenario,
        'p50 ms': latency.p50Ms,
        'p99 ms': latency.p99Ms,
        'max ms': latency.maxMs,
        samples: latency.samples,
        'p50 vs POST': ratio(latency.p50Ms, report.post.p50Ms),
        'p99 vs POST': ratio(latency.p99Ms, report.post.p99Ms),
      })),
    )
    console.log(`missing deliveries: ${report.missing}, duplicates: ${report.duplicates}, streams out of order: ${report.outOfOrderStreams}`)
    return report
  },
}

const suites = positionals.length > 0 ? positionals : ['documents']
for (const suite of suites) {
  if (!available[suite]) throw new Error(`unknown bench "${suite}" (available: ${Object.keys(available).join(', ')})`)
}
for (const suite of suites) {
  const started = new Date()
  const report = await available[suite]!()
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
  const file = new URL(`./results/${suite}-${db}-${started.toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url)
  writeFileSync(file, `${JSON.stringify({ suite, db, started, options: values, ...report }, null, 2)}\n`)
  console.log(`written: ${file.pathname}`)
}
