import { readFileSync } from 'node:fs'
import { exploreFusion, type Candidates } from './retrieval.fusion.js'
import { loadSet, type Summary } from './retrieval.set.js'

/**
 * Replays the fusions of retrieval.fusion.ts over the candidate lists of a retrieval report, without
 * the model or a database: to try a fusion in seconds rather than rerun the bench.
 *
 *   npx tsx bench/retrieval.replay.ts bench/results/retrieval-pglite-….json [variant name part]
 */
const [file, only] = process.argv.slice(2)
if (!file) throw new Error('usage: tsx bench/retrieval.replay.ts <retrieval report JSON> [variant]')
const report = JSON.parse(readFileSync(file, 'utf8')) as { set: 'small' | 'large'; candidates: Candidates[] }
const set = loadSet(report.set)
const rows = exploreFusion(report.candidates, set.memories.map((m) => m.content))
const cells = (s: Summary) => `${s['MRR@5'].toFixed(3)} ${s['hit@1'].toFixed(3)} ${s['recall@5'].toFixed(3)}`
console.log(`${report.set} set, ${report.candidates.length} queries; MRR@5 hit@1 recall@5 on dev | test | all`)
for (const row of rows) if (!only || row.variant.includes(only)) console.log(`${row.variant.padEnd(42)} ${cells(row.dev)} | ${cells(row.test)} | ${cells(row.all)}`)
