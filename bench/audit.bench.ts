import { randomBytes } from 'node:crypto'
import { drive, type LoadOptions, type LoadResult } from './lib/load.js'
import { benchDatabase, freePort, json, waitForHealth } from './lib/setup.js'
import { postgresCpuMs, processCpuMs, startProcess, type Started } from './lib/processes.js'
import { ratio } from './lib/stats.js'

export interface AuditBenchContext extends LoadOptions {
  db: 'pglite' | 'postgres'
  postgresUrl: string
  /** Rounds per setting; the three settings rotate (off, on, control; on, control, off; …) so that drift weighs on all alike. */
  rounds: number
  logLevel: string
  log: (line: string) => void
}

export interface AuditReport {
  off: LoadResult[]
  on: LoadResult[]
  /** AUDIT=off again, in rounds of their own: what the method reads between two identical settings. */
  control: LoadResult[]
  /** Median req/s with auditing on over the median with it off: the issue asks for ≥ 0.95. */
  getRatio: number
  p99Ratio: number
  /** The service's CPU per request, on over off (median of rounds; the database's own CPU not counted). */
  cpuRatio: number
  /** PostgreSQL's CPU per request (all its processes), on over off; NaN on PGlite, which runs inside the service. */
  databaseCpuRatio: number
  /** Rows the audited rounds stored: proof that the "on" rounds really wrote the log. */
  auditRows: number
  /** The same ratios, control over off: how far from 1 this machine's noise alone puts them (an A/A comparison). */
  controlRatios: { requestsPerSecond: number; cpu: number; databaseCpu: number }
}

const GPT = 'bench-gpt'

/** `control` runs AUDIT=off like `off`: an A/A comparison in the same run, which shows the method's own noise. */
type Setting = 'off' | 'on' | 'control'
const ROTATIONS: Setting[][] = [
  ['off', 'on', 'control'],
  ['on', 'control', 'off'],
  ['control', 'off', 'on'],
]

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

/**
 * The cost of the audit log: GET one document, with AUDIT=off and AUDIT=on, on one database, in the same
 * run, beside a control (AUDIT=off in rounds of its own) whose ratio to `off` says how far apart two
 * identical settings read on this machine. The service restarts between rounds (PGlite admits one
 * process per data directory), so each round measures one setting alone on this 2-core machine.
 */
export async function runAuditBench(context: AuditBenchContext): Promise<AuditReport> {
  const database = await benchDatabase(context)
  const adminToken = randomBytes(24).toString('hex')
  let running: Started | null = null
  const start = async (audit: 'on' | 'off') => {
    const port = await freePort()
    const env = { ...database.env, PORT: String(port), ADMIN_TOKEN: adminToken, RATE_LIMITS: 'off', LOG_LEVEL: context.logLevel, JOBS_ENABLED: 'false', AUDIT: audit }
    running = await startProcess('bin/agentstore.js', ['serve'], env, port)
    await waitForHealth(running.url)
    return running.url
  }
  try {
    let base = await start('on')
    const admin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }
    await json(await fetch(`${base}/v1/admin/gpts`, { method: 'POST', headers: admin, body: JSON.stringify({ id: GPT, name: 'Bench' }) }))
    const key: { key: string } = await json(
      await fetch(`${base}/v1/admin/gpts/${GPT}/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ scopes: ['read', 'write', 'admin'] }) }),
    )
    const headers = { authorization: `Bearer ${key.key}` }
    await json(await fetch(`${base}/v1/gpts/${GPT}/collections`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'notes' }) }))
    const one: { id: string } = await json(
      await fetch(`${base}/v1/gpts/${GPT}/collections/notes/objects`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'The one', n: 1 }),
      }),
    )
    const results: Record<Setting, LoadResult[]> = { on: [], off: [], control: [] }
    // PGlite runs inside the service, whose own CPU is already counted.
    const databaseCpu = context.db === 'postgres' ? postgresCpuMs : undefined
    const order: Setting[] = []
    for (let round = 0; round < context.rounds; round++) order.push(...ROTATIONS[round % ROTATIONS.length]!)
    for (const setting of order) {
      await running!.stop()
      base = await start(setting === 'on' ? 'on' : 'off')
      const scenario = setting === 'control' ? 'GET one object, AUDIT=off (control)' : `GET one object, AUDIT=${setting}`
      context.log(`driving ${scenario}…`)
      const pid = running!.child.pid
      results[setting].push(await drive(scenario, { url: `${base}/v1/objects/${one.id}`, headers }, context, () => processCpuMs(pid), databaseCpu))
    }
    // The last service stops cleanly, writing what its buffer holds; a fresh one counts the rows.
    await running!.stop()
    base = await start('off')
    const auditRows = await countAuditRows(base, headers)
    const over = (of: Setting, read: (r: LoadResult) => number | undefined) =>
      ratio(median(results[of].map((r) => read(r) ?? Number.NaN)), median(results.off.map((r) => read(r) ?? Number.NaN)))
    return {
      off: results.off,
      on: results.on,
      control: results.control,
      getRatio: over('on', (r) => r.requestsPerSecond),
      p99Ratio: over('on', (r) => r.p99Ms),
      cpuRatio: over('on', (r) => r.cpuMsPerRequest),
      databaseCpuRatio: over('on', (r) => r.databaseCpuMsPerRequest),
      auditRows,
      controlRatios: {
        requestsPerSecond: over('control', (r) => r.requestsPerSecond),
        cpu: over('control', (r) => r.cpuMsPerRequest),
        databaseCpu: over('control', (r) => r.databaseCpuMsPerRequest),
      },
    }
  } finally {
    await (running as Started | null)?.stop()
    await database.drop()
  }
}

/** Walks the GPT's audit log by NDJSON export and counts its lines. */
async function countAuditRows(base: string, headers: Record<string, string>): Promise<number> {
  const response = await fetch(`${base}/v1/gpts/${GPT}/audit?action=getObject`, { headers: { ...headers, accept: 'application/x-ndjson' } })
  if (!response.ok) throw new Error(`audit export: ${response.status} ${await response.text()}`)
  const text = await response.text()
  return text.split('\n').filter((line) => line.trim().length > 0).length
}

/** The rounds as a table and the medians' ratios, with the run's settings (as given on the command line). */
export function printAudit(report: AuditReport, options: { db: string; connections: string; duration: string; rounds: string }): void {
  console.log(`\naudit on ${options.db} — GET one document, ${options.connections} connections, ${options.duration} s per round, ${options.rounds} rounds per setting, rotating with a control`)
  console.table(
    [...report.off, ...report.on, ...report.control].map((row) => ({ scenario: row.scenario, 'req/s': row.requestsPerSecond, 'p50 ms': row.p50Ms, 'p99 ms': row.p99Ms, 'service CPU ms/request': row.cpuMsPerRequest, 'PostgreSQL CPU ms/request': row.databaseCpuMsPerRequest ?? '', 'non-2xx': row.non2xx })),
  )
  const database = Number.isNaN(report.databaseCpuRatio) ? '' : `, PostgreSQL CPU per request ${report.databaseCpuRatio}`
  console.log(`medians, AUDIT=on ÷ AUDIT=off: req/s ${report.getRatio} (the target is ≥ 0.95), p99 ${report.p99Ratio}, service CPU per request ${report.cpuRatio}${database}; audit rows stored: ${report.auditRows}`)
  const control = report.controlRatios
  const controlDatabase = Number.isNaN(control.databaseCpu) ? '' : `, PostgreSQL CPU per request ${control.databaseCpu}`
  console.log(`control, AUDIT=off ÷ AUDIT=off (the noise of this run): req/s ${control.requestsPerSecond}, service CPU per request ${control.cpu}${controlDatabase}`)
}
