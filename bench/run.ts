// `npm run bench -- [documents] [mail] [search] [chat] [auth] [embed] [start] [vacuum] [--db pglite|postgres] [--duration 10] [--connections 50] [--documents 100000] [--mails 200] [--streams 100] [--gap-ms 10]`
// Every bench that starts the service starts its build (`node bin/agentstore.js serve`, as `npm start` does); `npm run bench` builds first.
//   documents: [--rounds 3] (the scenario list driven that many times; each scenario reports its median round)
//   search (PGlite only): [--memories 10000,100000] [--queries 200] [--other-memories 300] [--max-build-seconds 600]
//     [--maintenance-work-mem 512MB|default] [--vectors random|clustered]
//   chat: [--requests 50] [--tokens 50] [--token-ms 2]
//   auth: [--requests 50] (per path; 2000 is a steadier figure)
//   audit: [--rounds 3] (GET one document from three services side by side, AUDIT=off, on, and off again as a control; each round drives each for one slice of --duration s, order rotating) [--rate N] (requests per second held to, for CPU per request at equal work)
//   embed: [--duration 10] (per phase) [--rounds 3] [--readers 2] [--workers 1] (EMBEDDINGS_WORKERS of the server)
//   start (PGlite): [--rounds 3] [--settle-seconds 3]
//   extract (PGlite, in process, fake LLM): [--turns 100] [--every 10,25] (LLM tokens per 100 chat turns)
//   retrieval (PGlite, in process): [--set small|large] (the labelled set; recall@5, MRR@5, hit@1 per mode and kind)
//   vacuum (PGlite, in process): [--replies 2000] [--saves 40] [--audit-rows 200000] (with and without the database.vacuum job's work between rounds)
//   scale: [--sizes 10000,100000,1000000] (documents and memories each; default 10k,100k,1M on postgres, 10k,100k on pglite) [--queries 200] (per operation, fewer past 20 s)
import { mkdirSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { printDocuments, runDocumentsBench } from './documents.bench.js'
import { runMailBench } from './mail.bench.js'
import { runSearchBench } from './search.bench.js'
import { runChatBench } from './chat.bench.js'
import { runAuthBench } from './auth.bench.js'
import { printAudit, runAuditBench } from './audit.bench.js'
import { runEmbedBench } from './embed.bench.js'
import { runStartBench } from './start.bench.js'
import { runRetrievalBench } from './retrieval.bench.js'
import { printScale, runScaleBench } from './scale.bench.js'
import { runExtractBench } from './extract.bench.js'
import { printVacuum, runVacuumBench } from './vacuum.bench.js'
import { printFusion } from './retrieval.fusion.js'
import { ratio } from './lib/stats.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    db: { type: 'string', default: 'pglite' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    rate: { type: 'string' },
    documents: { type: 'string', default: '100000' },
    mails: { type: 'string', default: '200' },
    streams: { type: 'string', default: '100' },
    'gap-ms': { type: 'string', default: '10' },
    memories: { type: 'string', default: '10000,100000' },
    queries: { type: 'string', default: '200' },
    'other-memories': { type: 'string', default: '300' },
    'max-build-seconds': { type: 'string', default: '600' },
    'maintenance-work-mem': { type: 'string', default: '512MB' },
    vectors: { type: 'string', default: 'random' },
    requests: { type: 'string', default: '50' },
    tokens: { type: 'string', default: '50' },
    'token-ms': { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    readers: { type: 'string', default: '2' },
    workers: { type: 'string', default: '1' },
    'settle-seconds': { type: 'string', default: '3' },
    set: { type: 'string', default: 'large' },
    sizes: { type: 'string' },
    turns: { type: 'string', default: '100' },
    every: { type: 'string', default: '10,25' },
    replies: { type: 'string', default: '2000' },
    saves: { type: 'string', default: '40' },
    'audit-rows': { type: 'string', default: '200000' },
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
      rounds: Number(values.rounds),
      logLevel: values['log-level']!,
      log,
    })
    printDocuments(report, { db, connections: values.connections!, duration: values.duration!, documents: values.documents!, rounds: values.rounds! })
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
  async search() {
    if (db !== 'pglite') log('search runs on embedded PGlite whatever --db says: HNSW needs pgvector, which this PostgreSQL lacks')
    const report = await runSearchBench({
      sizes: values.memories!.split(',').map((size) => Number(size.trim())),
      queries: Number(values.queries),
      otherRows: Number(values['other-memories']),
      maxBuildSeconds: Number(values['max-build-seconds']),
      maintenanceWorkMem: values['maintenance-work-mem']!,
      vectors: values.vectors === 'clustered' ? 'clustered' : 'random',
      logLevel: values['log-level']!,
      log,
    })
    console.log(
      `\nsearch on ${report.database} — SearchRepository.semantic over memories, top_k ${report.topK}, ${report.queries} ${report.vectors} unit query vectors (${report.dims} dims) per mode, ` +
        `HNSW (ef_search ${report.efSearch}, iterative scan) vs exact scan, alternating; plus ${report.otherRows} vectors of another GPT in the same index`,
    )
    console.table(
      report.results.flatMap((row) =>
        (['exact', 'hnsw'] as const).map((mode) => ({
          memories: row.size,
          mode,
          'p50 ms': row[mode].p50Ms,
          'p99 ms': row[mode].p99Ms,
          'exact/hnsw p50': mode === 'hnsw' ? row.exactOverHnsw.p50 : '',
          'exact/hnsw p99': mode === 'hnsw' ? row.exactOverHnsw.p99 : '',
          'recall@10 (mean/min)': mode === 'hnsw' ? `${row.recallAt10.mean} / ${row.recallAt10.min}` : '',
        })),
      ),
    )
    for (const row of report.results) {
      console.log(
        `${row.size} memories: loaded in ${row.loadSeconds} s (SQL), HNSW build ${row.buildSeconds} s (VectorStore.ensureIndex, maintenance_work_mem ${report.maintenanceWorkMem}), ` +
          `plan uses the HNSW index: ${row.hnswIndexUsed}; exact hits' mean similarity: 1st ${row.exactSimilarity.first}, 10th ${row.exactSimilarity.tenth}`,
      )
    }
    for (const skipped of report.skipped) console.log(`${skipped.size} memories: SKIPPED — ${skipped.reason}`)
    if (report.vectors === 'random') {
      console.log('uniformly random vectors are the worst case for HNSW recall (the true neighbours barely stand out); --vectors clustered is closer to text embeddings')
    }
    if (report.http) {
      const h = report.http
      console.log(`\nat ${h.size} memories, ${h.queries} text queries, one at a time (the app runs in this process over the same PGlite)`)
      console.table([
        { step: 'POST /v1/gpts/{gpt}/search (semantic)', 'p50 ms': h.http.p50Ms, 'p99 ms': h.http.p99Ms, 'vs repository p50': h.httpOverRepository.p50, 'vs repository p99': h.httpOverRepository.p99 },
        { step: 'local model: embed the query', 'p50 ms': h.embed.p50Ms, 'p99 ms': h.embed.p99Ms, 'vs repository p50': ratio(h.embed.p50Ms, h.repository.p50Ms), 'vs repository p99': ratio(h.embed.p99Ms, h.repository.p99Ms) },
        { step: 'SearchRepository.semantic (HNSW), baseline', 'p50 ms': h.repository.p50Ms, 'p99 ms': h.repository.p99Ms, 'vs repository p50': 1, 'vs repository p99': 1 },
      ])
    }
    return report
  },
  async chat() {
    const report = await runChatBench({
      db,
      postgresUrl: values['postgres-url']!,
      requests: Number(values.requests),
      tokens: Number(values.tokens),
      tokenMs: Number(values['token-ms']),
      logLevel: values['log-level']!,
      log,
    })
    console.log(
      `\nchat on ${db} — ${report.requests} streamed generations each way, alternating, one at a time; the fake OpenAI-compatible provider streams ${report.tokens} tokens ${report.tokenMs} ms apart`,
    )
    console.table([
      { path: 'direct: provider first content chunk (baseline)', ...cells(report.direct.firstContent), 'vs direct p50': 1, 'vs direct p99': 1 },
      { path: 'service: first `delta` event', ...cells(report.service.firstDelta), 'vs direct p50': report.firstByteRatio.p50, 'vs direct p99': report.firstByteRatio.p99 },
      { path: 'bare node:http + pg, same stored reply: first `delta`', ...cells(report.bare.firstDelta), 'vs direct p50': report.bareFirstByteRatio.p50, 'vs direct p99': report.bareFirstByteRatio.p99 },
      { path: 'service: `message` event', ...cells(report.service.message), 'vs direct p50': '', 'vs direct p99': '' },
      { path: 'direct: whole stream ([DONE])', ...cells(report.direct.total), 'vs direct p50': 1, 'vs direct p99': 1 },
      { path: 'service: `done` event', ...cells(report.service.done), 'vs direct p50': report.totalRatio.p50, 'vs direct p99': report.totalRatio.p99 },
      { path: 'bare: `done` event', ...cells(report.bare.done), 'vs direct p50': ratio(report.bare.done.p50Ms, report.direct.total.p50Ms), 'vs direct p99': ratio(report.bare.done.p99Ms, report.direct.total.p99Ms) },
    ])
    return report
  },
  async auth() {
    const report = await runAuthBench({ db, postgresUrl: values['postgres-url']!, requests: Number(values.requests), logLevel: values['log-level']!, log })
    console.log(`\nauth on ${db} — GET /v1/me through the app in process, ${report.requests} requests per path, interleaved`)
    console.table(
      Object.entries(report.results).map(([path, latency]) => ({
        path,
        ...cells(latency),
        'vs valid key p50': ratio(latency.p50Ms, report.results['valid key'].p50Ms),
      })),
    )
    console.log(`unknown id / known id with a wrong secret: p50 ${report.unknownOverWrongSecret.p50}, p99 ${report.unknownOverWrongSecret.p99}`)
    return report
  },
  async audit() {
    const load = { durationSeconds: Number(values.duration), connections: Number(values.connections), ...(values.rate ? { rate: Number(values.rate) } : {}) }
    const report = await runAuditBench({ db, postgresUrl: values['postgres-url']!, ...load, rounds: Number(values.rounds), logLevel: values['log-level']!, log })
    printAudit(report, { db, connections: values.connections!, duration: values.duration!, rounds: values.rounds!, rate: values.rate })
    return report
  },
  async embed() {
    const report = await runEmbedBench({
      db,
      postgresUrl: values['postgres-url']!,
      durationSeconds: Number(values.duration),
      rounds: Number(values.rounds),
      readers: Number(values.readers),
      workers: Number(values.workers),
      logLevel: values['log-level']!,
      log,
    })
    console.log(
      `\nembed on ${db} — GET /v1/gpts/{gpt} by ${report.readers} clients in a closed loop, quiet vs while batches of 100 memories are written back to back ` +
        `(local model, EMBEDDINGS_WORKERS=${report.workers}), ${values.rounds} alternating rounds of ${values.duration} s each`,
    )
    console.table([
      { phase: 'quiet (baseline)', ...cells(report.baseline), 'p50 vs quiet': 1, 'p99 vs quiet': 1 },
      { phase: 'during memory batches', ...cells(report.during), 'p50 vs quiet': report.p50Ratio, 'p99 vs quiet': report.p99Ratio },
    ])
    console.log(`memories embedded and stored: ${report.memoriesPerSecond}/s (${report.batches} batches)`)
    console.log(`first semantic search after /health: ${report.firstSearchMs} ms; the next 20: p50 ${report.laterSearch.p50Ms} ms, p99 ${report.laterSearch.p99Ms} ms`)
    console.log(`server RSS: ${report.rssMb.idle} MB idle (model loaded), ${report.rssMb.afterBatches} MB after the batches`)
    return report
  },
  async start() {
    if (db !== 'pglite') log('start runs the embedded service (PGlite) whatever --db says')
    const report = await runStartBench({ rounds: Number(values.rounds), settleSeconds: Number(values['settle-seconds']), logLevel: values['log-level']!, log })
    console.log(
      `\nstart on pglite — \`node bin/agentstore.js serve\` (the build), medians of ${report.rounds} rounds; RSS (VmRSS, worker threads included) read ${report.settleSeconds} s after /ready; ` +
        'each round: a fresh data directory, then the same one warm; baselines measured in the same rounds',
    )
    console.table(report.rows.map(({ samples: _samples, ...row }) => row))
    console.log(`/ready on the warm directory: ${JSON.stringify(report.ready)}`)
    return report
  },
  async retrieval() {
    if (values.set !== 'small' && values.set !== 'large') throw new Error('--set is small or large')
    if (db !== 'pglite') log('retrieval runs on embedded PGlite whatever --db says (the ranking does not depend on the database)')
    const report = await runRetrievalBench({ set: values.set, logLevel: values['log-level']!, log })
    console.log(`\nretrieval on the ${report.set} set (${Object.entries(report.counts).map(([name, count]) => `${count} ${name}`).join(', ')}), memories only, top 5`)
    console.table(report.results.map(({ mode, rank, kind, ...summary }) => ({ rank, kind, mode, ...summary })))
    for (const note of report.notes) console.log(`note: ${note}`)
    console.log(`hybrid put no relevant memory first for ${report.hybridMisses.length} queries (listed in the JSON report)`)
    console.log('\nhybrid fusions replayed over the same candidate lists (semantic and keyword, 30 each); queries split in halves by a hash of their id')
    printFusion(report.fusion)
    return report
  },
  async extract() {
    const reports = await runExtractBench({ turns: Number(values.turns), everyTurns: values.every!.split(',').map(Number), logLevel: values['log-level']!, log })
    console.log(`\nextraction LLM cost over ${values.turns} chat turns (user + AI message each), fake provider`)
    console.table(reports.map((r) => ({ 'run every': r.everyTurns, runs: r.runs, 'tokens in': r.tokensIn, 'tokens out': r.tokensOut, 'tokens / 100 turns': r.tokensPer100Turns, 'out / in': ratio(r.tokensOut, r.tokensIn) })))
    return { reports }
  },
  async vacuum() {
    if (db !== 'pglite') log('vacuum runs embedded PGlite (PostgreSQL has autovacuum) whatever --db says')
    const report = await runVacuumBench({ replies: Number(values.replies), saves: Number(values.saves), auditRows: Number(values['audit-rows']), log })
    printVacuum(report)
    return report
  },
  async scale() {
    const sizes = (values.sizes ?? (db === 'postgres' ? '10000,100000,1000000' : '10000,100000')).split(',').map(Number)
    const report = await runScaleBench({ db, postgresUrl: values['postgres-url']!, sizes, queries: Number(values.queries), logLevel: values['log-level']!, log })
    printScale(report)
    return report
  },
}

function cells(latency: { p50Ms: number; p99Ms: number; maxMs: number; samples: number }) {
  return { 'p50 ms': latency.p50Ms, 'p99 ms': latency.p99Ms, 'max ms': latency.maxMs, samples: latency.samples }
}

const suites = positionals.length > 0 ? positionals : ['documents']
for (const suite of suites) {
  if (!available[suite]) throw new Error(`unknown bench "${suite}" (available: ${Object.keys(available).join(', ')})`)
}
for (const suite of suites) {
  const started = new Date()
  const report = await available[suite]!()
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
  // These suites run on PGlite whatever --db says.
  const suiteDb = ['search', 'start', 'retrieval'].includes(suite) ? 'pglite' : db
  const file = new URL(`./results/${suite}-${suiteDb}-${started.toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url)
  writeFileSync(file, `${JSON.stringify({ suite, db: suiteDb, started, options: values, ...report }, null, 2)}\n`)
  console.log(`written: ${file.pathname}`)
}
