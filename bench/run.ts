// `npm run bench -- [documents] [--db pglite|postgres] [--duration 10] [--connections 50] [--documents 100000]`
import { mkdirSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { runDocumentsBench } from './documents.bench.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    db: { type: 'string', default: 'pglite' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    documents: { type: 'string', default: '100000' },
    'log-level': { type: 'string', default: 'warn' },
    'postgres-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
})
const suites = positionals.length > 0 ? positionals : ['documents']
const db = values.db === 'postgres' ? 'postgres' : values.db === 'pglite' ? 'pglite' : null
if (db === null) throw new Error('--db is pglite or postgres')

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`)
for (const suite of suites) {
  if (suite !== 'documents') throw new Error(`unknown bench "${suite}" (available: documents)`)
  const started = new Date()
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
  console.log(`\n${suite} on ${db} — ${values.connections} connections, ${values.duration} s per scenario, ${values.documents} documents`)
  console.table(
    rows.map((row) => ({ scenario: row.scenario, 'req/s': row.requestsPerSecond, 'p50 ms': row.p50Ms, 'p99 ms': row.p99Ms, 'vs baseline': row.ratioToBaseline, 'non-2xx': row.non2xx })),
  )
  console.log('"vs baseline": req/s over the baseline measured just before the scenario (PostgreSQL) or once (PGlite)')
  console.log(`deep page p50 / first page p50: ${report.deepToFirstPageP50}`)
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
  const file = new URL(`./results/${suite}-${db}-${started.toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url)
  writeFileSync(file, `${JSON.stringify({ suite, db, started, options: values, ...report }, null, 2)}\n`)
  console.log(`written: ${file.pathname}`)
}
