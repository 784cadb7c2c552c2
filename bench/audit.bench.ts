import { randomBytes } from 'node:crypto'
import { drive, type LoadOptions, type LoadResult } from './lib/load.js'
import { benchDatabase, createGptKey, freePort, json, waitForHealth } from './lib/setup.js'
import { postgresCpuMs, processCpuMs, startProcess, type Started } from './lib/processes.js'
import { ratio } from './lib/stats.js'

export interface AuditBenchContext extends LoadOptions {
  db: 'pglite' | 'postgres'
  postgresUrl: string
  /** Rounds: in each, every setting is driven for one slice of `durationSeconds`, in an order that rotates. */
  rounds: number
  logLevel: string
  log: (line: string) => void
}

export interface AuditReport {
  off: LoadResult[]
  on: LoadResult[]
  /** AUDIT=off again, a service of its own: what the method reads between two identical settings. */
  control: LoadResult[]
  /** Req/s with auditing on over req/s with it off in the same round, the median of the rounds: the issue asks for ≥ 0.95. */
  getRatio: number
  p99Ratio: number
  /** The service's CPU per request, on over off (median of the rounds' ratios; the database's own CPU not counted). */
  cpuRatio: number
  /** PostgreSQL's CPU per request (all its processes), on over off; NaN on PGlite, which runs inside the service. */
  databaseCpuRatio: number
  /** Rows the audited service stored: proof that it really wrote the log. */
  auditRows: number
  /** The same ratios, control over off: how far from 1 this machine's noise alone puts them (an A/A comparison). */
  controlRatios: { requestsPerSecond: number; cpu: number; databaseCpu: number }
}

const GPT = 'bench-gpt'

/** `control` runs AUDIT=off like `off`: an A/A comparison in the same run, which shows the method's own noise. */
type Setting = 'off' | 'on' | 'control'
const SETTINGS: Setting[] = ['off', 'on', 'control']
const ROTATIONS: Setting[][] = [
  ['off', 'on', 'control'],
  ['on', 'control', 'off'],
  ['control', 'off', 'on'],
]
/** After each slice, before its CPU is read: the audited service's flush timer (AUDIT_FLUSH_MS, 1 s) writes its last rows inside its own slice's reading. */
const SETTLE_MS = 1_200

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

interface Seeded {
  database: Awaited<ReturnType<typeof benchDatabase>>
  running: Started
  url: string
  headers: Record<string, string>
  env: Record<string, string>
}

/**
 * The cost of the audit log: GET one document from three services that run side by side, each on a
 * database of its own: AUDIT=off, AUDIT=on, and AUDIT=off again as a control whose ratio to `off`
 * says how far apart two identical settings read on this machine. The load moves from one to the
 * next in short slices, so that the machine's drift (other tenants of its host, seen here as ±30%
 * between seconds) weighs on the three alike; each ratio is taken within a round and the median of
 * the rounds is reported.
 */
export async function runAuditBench(context: AuditBenchContext): Promise<AuditReport> {
  const services = new Map<Setting, Seeded>()
  try {
    for (const setting of SETTINGS) services.set(setting, await startSeeded(context, setting === 'on' ? 'on' : 'off'))
    const results: Record<Setting, LoadResult[]> = { on: [], off: [], control: [] }
    // PGlite runs inside the service, whose own CPU is already counted.
    const databaseCpu = context.db === 'postgres' ? postgresCpuMs : undefined
    for (const setting of SETTINGS) {
      context.log(`warming AUDIT=${setting}…`)
      await drive('warm-up', services.get(setting)!, { connections: context.connections, durationSeconds: 2, warmUpSeconds: 0 })
    }
    for (let round = 0; round < context.rounds; round++) {
      context.log(`round ${round + 1} of ${context.rounds}…`)
      for (const setting of ROTATIONS[round % ROTATIONS.length]!) {
        const service = services.get(setting)!
        const scenario = setting === 'control' ? 'GET one object, AUDIT=off (control)' : `GET one object, AUDIT=${setting}`
        const pid = service.running.child.pid
        results[setting].push(await drive(scenario, service, { ...context, warmUpSeconds: 0, settleMs: SETTLE_MS }, () => processCpuMs(pid), databaseCpu))
      }
    }
    const auditRows = await countAuditRows(context, services.get('on')!)
    const over = (of: Setting, read: (r: LoadResult) => number | undefined) =>
      median(results[of].map((r, round) => ratio(read(r) ?? Number.NaN, read(results.off[round]!) ?? Number.NaN)))
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
    for (const service of services.values()) {
      await service.running.stop()
      await service.database.drop()
    }
  }
}

/** A service on a database of its own, with the GPT, a key and the one document every setting reads. */
async function startSeeded(context: AuditBenchContext, audit: 'on' | 'off'): Promise<Seeded> {
  const database = await benchDatabase(context)
  const adminToken = randomBytes(24).toString('hex')
  const env = { ...database.env, ADMIN_TOKEN: adminToken, RATE_LIMITS: 'off', LOG_LEVEL: context.logLevel, JOBS_ENABLED: 'false', AUDIT: audit }
  const running = await start(env)
  const base = running.url
  const key = await createGptKey(base, adminToken, { id: GPT, name: 'Bench' }, ['read', 'write', 'admin'])
  const headers = { authorization: `Bearer ${key}` }
  const write = { ...headers, 'content-type': 'application/json' }
  await json(await fetch(`${base}/v1/gpts/${GPT}/collections`, { method: 'POST', headers: write, body: JSON.stringify({ name: 'notes' }) }))
  const one: { id: string } = await json(
    await fetch(`${base}/v1/gpts/${GPT}/collections/notes/objects`, { method: 'POST', headers: write, body: JSON.stringify({ title: 'The one', n: 1 }) }),
  )
  return { database, running, url: `${base}/v1/objects/${one.id}`, headers, env }
}

async function start(env: Record<string, string>): Promise<Started> {
  const port = await freePort()
  const running = await startProcess('bin/agentstore.js', ['serve'], { ...env, PORT: String(port) }, port)
  await waitForHealth(running.url)
  return running
}

/**
 * Stops the audited service (a clean stop writes what its buffer holds), then counts its GPT's rows
 * of the measured action by NDJSON export from a fresh service on the same database.
 */
async function countAuditRows(context: AuditBenchContext, audited: Seeded): Promise<number> {
  await audited.running.stop()
  audited.running = await start({ ...audited.env, AUDIT: 'off' })
  context.log('counting the audit rows…')
  const base = audited.running.url
  const response = await fetch(`${base}/v1/gpts/${GPT}/audit?action=getObject`, { headers: { ...audited.headers, accept: 'application/x-ndjson' } })
  if (!response.ok) throw new Error(`audit export: ${response.status} ${await response.text()}`)
  const text = await response.text()
  return text.split('\n').filter((line) => line.trim().length > 0).length
}

/** The rounds as a table and the medians' ratios, with the run's settings (as given on the command line). */
export function printAudit(report: AuditReport, options: { db: string; connections: string; duration: string; rounds: string; rate: string | undefined }): void {
  const rate = options.rate ? ` held to ${options.rate} req/s` : ''
  console.log(`\naudit on ${options.db} — GET one document, ${options.connections} connections${rate}, ${options.duration} s per round, ${options.rounds} rounds of one slice per setting (three services side by side, order rotating), with a control`)
  console.table(
    [...report.off, ...report.on, ...report.control].map((row) => ({ scenario: row.scenario, 'req/s': row.requestsPerSecond, 'p50 ms': row.p50Ms, 'p99 ms': row.p99Ms, 'service CPU ms/request': row.cpuMsPerRequest, 'PostgreSQL CPU ms/request': row.databaseCpuMsPerRequest ?? '', 'non-2xx': row.non2xx })),
  )
  const database = Number.isNaN(report.databaseCpuRatio) ? '' : `, PostgreSQL CPU per request ${report.databaseCpuRatio}`
  console.log(`medians of the rounds' ratios, AUDIT=on ÷ AUDIT=off: req/s ${report.getRatio} (the target is ≥ 0.95), p99 ${report.p99Ratio}, service CPU per request ${report.cpuRatio}${database}; audit rows stored: ${report.auditRows}`)
  const control = report.controlRatios
  const controlDatabase = Number.isNaN(control.databaseCpu) ? '' : `, PostgreSQL CPU per request ${control.databaseCpu}`
  console.log(`control, AUDIT=off ÷ AUDIT=off (the noise of this run): req/s ${control.requestsPerSecond}, service CPU per request ${control.cpu}${controlDatabase}`)
}
