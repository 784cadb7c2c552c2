import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGptKey, freePort, json } from './lib/setup.js'
import { ratio, round } from './lib/stats.js'

export interface StartBenchContext {
  /** Each scenario runs this many times, alternating with the baselines; medians are reported. */
  rounds: number
  /** Seconds to wait after /ready before reading the idle RSS (the service settles: jobs start, GC). */
  settleSeconds: number
  logLevel: string
  log: (line: string) => void
}

const ROOT = new URL('..', import.meta.url).pathname
const BIN = join(ROOT, 'bin/agentstore.js')
const GPT = 'bench-start'

/** Resident memory of a process (worker threads included), from /proc (Linux); NaN elsewhere. */
export function rssMb(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('VmRSS:'))
    return line ? round(Number(line.replace(/\D+/g, '')) / 1024, 1) : Number.NaN
  } catch {
    return Number.NaN
  }
}

const median = (values: number[]) => {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const middle = Math.floor(sorted.length / 2)
  return round(sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs a node process to its end; its wall time in ms (it must exit 0). */
async function timed(args: string[], env: Record<string, string> = {}): Promise<{ ms: number; stdout: string }> {
  const started = performance.now()
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += String(chunk)))
  child.stderr.on('data', (chunk) => (stderr += String(chunk)))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  const ms = performance.now() - started
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}: ${stderr}`)
  return { ms: round(ms), stdout }
}

/**
 * A plain node process that opens PGlite (the same packages and extension the service loads) on a
 * data directory and keeps it open: what the embedded database costs before any of the service runs.
 * Prints `{"openMs": …}` once open; RSS is read from outside like the service's.
 */
const BARE_PGLITE = `
const started = performance.now()
const { PGlite } = await import('@electric-sql/pglite')
const { vector } = await import('@electric-sql/pglite-pgvector')
const db = await PGlite.create({ dataDir: process.env.DATA_DIR, extensions: { vector } })
await db.query('select 1')
process.stdout.write(JSON.stringify({ openMs: performance.now() - started }) + '\\n')
setInterval(() => {}, 1000)
`

interface Running {
  pid: number
  stop(): Promise<void>
}

function launch(args: string[], env: Record<string, string>): Running & { firstLine: Promise<string> } {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  const firstLine = new Promise<string>((resolve, reject) => {
    let text = ''
    child.stdout.on('data', (chunk) => {
      text += String(chunk)
      if (text.includes('\n')) resolve(text.split('\n')[0]!)
    })
    child.once('exit', (code) => reject(new Error(`node ${args[0]} exited with ${code}`)))
  })
  firstLine.catch(() => {})
  return {
    pid: child.pid!,
    firstLine,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

/** Polls /ready every 10 ms until it answers 200; its body. */
async function untilReady(base: string, limitMs = 600_000): Promise<Record<string, unknown>> {
  const until = performance.now() + limitMs
  while (performance.now() < until) {
    try {
      const response = await fetch(`${base}/ready`)
      if (response.ok) return (await response.json()) as Record<string, unknown>
      await response.arrayBuffer()
    } catch {
      // Not listening yet.
    }
    await sleep(10)
  }
  throw new Error(`${base} was not ready within ${limitMs} ms`)
}

interface ServeRun {
  readyMs: number
  idleRssMb: number
  ready: Record<string, unknown>
  firstWriteMs?: number
  firstSearchMs?: number
  laterSearchMs?: number
  rssAfterSearchMb?: number
}

/** `agentstore serve` on `dataDir`: time to /ready, idle RSS; with `search`, the first memory write and search. */
async function serveOnce(dataDir: string, context: StartBenchContext, search: boolean): Promise<ServeRun> {
  const port = await freePort()
  const adminToken = randomBytes(24).toString('hex')
  const started = performance.now()
  const server = launch([BIN, 'serve'], { DATA_DIR: dataDir, PORT: String(port), ADMIN_TOKEN: adminToken, RATE_LIMITS: 'off', LOG_LEVEL: context.logLevel })
  const base = `http://127.0.0.1:${port}`
  try {
    const ready = await untilReady(base)
    const readyMs = round(performance.now() - started)
    await sleep(context.settleSeconds * 1000)
    const run: ServeRun = { readyMs, idleRssMb: rssMb(server.pid), ready }
    if (!search) return run
    const key = await createGptKey(base, adminToken, { id: GPT, name: 'Bench' }, ['read', 'write'])
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
    const time = async (request: () => Promise<Response>) => {
      const begun = performance.now()
      await json(await request())
      return round(performance.now() - begun)
    }
    run.firstWriteMs = await time(() =>
      fetch(`${base}/v1/gpts/${GPT}/memories`, { method: 'POST', headers, body: JSON.stringify({ content: `The user prefers dark mode (${randomBytes(4).toString('hex')}).` }) }),
    )
    const searchOnce = (query: string) => time(() => fetch(`${base}/v1/gpts/${GPT}/search`, { method: 'POST', headers, body: JSON.stringify({ query, mode: 'semantic' }) }))
    run.firstSearchMs = await searchOnce('what does the user prefer')
    run.laterSearchMs = await searchOnce('which colour scheme does the user like')
    run.rssAfterSearchMb = rssMb(server.pid)
    return run
  } finally {
    await server.stop()
  }
}

/** The same process as a baseline: a bare PGlite open on `dataDir`, kept open for the settle time. */
async function bareOnce(dataDir: string, context: StartBenchContext): Promise<{ openMs: number; rssMb: number }> {
  const bare = launch(['--input-type=module', '-e', BARE_PGLITE], { DATA_DIR: dataDir })
  try {
    const { openMs } = JSON.parse(await bare.firstLine) as { openMs: number }
    await sleep(context.settleSeconds * 1000)
    return { openMs: round(openMs), rssMb: rssMb(bare.pid) }
  } finally {
    await bare.stop()
  }
}

/** A plain node process: its RSS idle (the floor of any node service). */
async function plainNodeRss(context: StartBenchContext): Promise<number> {
  const plain = launch(['-e', 'process.stdout.write("up\\n"); setInterval(() => {}, 1000)'], {})
  try {
    await plain.firstLine
    await sleep(context.settleSeconds * 1000)
    return rssMb(plain.pid)
  } finally {
    await plain.stop()
  }
}

/**
 * Start cost of the built service on embedded PGlite: time to /ready on a fresh and on a warm data
 * directory, RSS idle and after the first memory write and search (the local model loads then, or
 * has loaded), and the first CLI calls. Baselines of the same run: `node -e ''` (process start),
 * a plain node process's RSS, a bare PGlite open of the same data directory.
 */
export async function runStartBench(context: StartBenchContext) {
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) throw new Error('the start bench runs the build: `npm run bench` makes it first')
  const samples: Record<string, number[]> = {}
  const add = (name: string, value: number | undefined) => {
    if (value !== undefined) (samples[name] ??= []).push(value)
  }
  let readyBody: Record<string, unknown> = {}
  const dirs: string[] = []
  try {
    for (let round_ = 0; round_ < context.rounds; round_++) {
      context.log(`round ${round_ + 1}/${context.rounds}`)
      add('node -e "" (baseline)', (await timed(['-e', ''])).ms)
      add('plain node RSS (baseline)', await plainNodeRss(context))
      const dir = await mkdtemp(join(tmpdir(), 'agentstore-start-'))
      dirs.push(dir)
      const fresh = await serveOnce(dir, context, false)
      add('serve, fresh dir: /ready', fresh.readyMs)
      add('serve, fresh dir: idle RSS', fresh.idleRssMb)
      const bare = await bareOnce(dir, context)
      add('bare PGlite open, warm dir (baseline)', bare.openMs)
      add('bare PGlite RSS, warm dir (baseline)', bare.rssMb)
      const warm = await serveOnce(dir, context, true)
      readyBody = warm.ready
      add('serve, warm dir: /ready', warm.readyMs)
      add('serve, warm dir: idle RSS', warm.idleRssMb)
      add('first memory write (embeds inline)', warm.firstWriteMs)
      add('first semantic search', warm.firstSearchMs)
      add('second semantic search', warm.laterSearchMs)
      add('RSS after first write + search', warm.rssAfterSearchMb)
      add('CLI --version', (await timed([BIN, '--version'])).ms)
      add('CLI gpt list (opens the data dir)', (await timed([BIN, 'gpt', 'list', '--data-dir', dir])).ms)
    }
  } finally {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
  }
  const m = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]))
  const nodeMs = m['node -e "" (baseline)']!
  const nodeRss = m['plain node RSS (baseline)']!
  const bareMs = m['bare PGlite open, warm dir (baseline)']!
  const bareRss = m['bare PGlite RSS, warm dir (baseline)']!
  const row = (name: string, unit: 'ms' | 'MB', baseline: number, baselineName: string) => ({
    measure: name,
    median: m[name],
    unit,
    samples: samples[name]?.join(' '),
    'vs baseline': ratio(m[name]!, baseline),
    baseline: baselineName,
  })
  const rows = [
    row('node -e "" (baseline)', 'ms', nodeMs, 'itself'),
    row('bare PGlite open, warm dir (baseline)', 'ms', bareMs, 'itself'),
    row('serve, fresh dir: /ready', 'ms', bareMs, 'bare PGlite open'),
    row('serve, warm dir: /ready', 'ms', bareMs, 'bare PGlite open'),
    row('CLI --version', 'ms', nodeMs, 'node -e ""'),
    row('CLI gpt list (opens the data dir)', 'ms', bareMs, 'bare PGlite open'),
    row('first memory write (embeds inline)', 'ms', m['second semantic search']!, 'second semantic search'),
    row('first semantic search', 'ms', m['second semantic search']!, 'second semantic search'),
    row('second semantic search', 'ms', m['second semantic search']!, 'itself'),
    row('plain node RSS (baseline)', 'MB', nodeRss, 'itself'),
    row('bare PGlite RSS, warm dir (baseline)', 'MB', nodeRss, 'plain node'),
    row('serve, fresh dir: idle RSS', 'MB', bareRss, 'bare PGlite'),
    row('serve, warm dir: idle RSS', 'MB', bareRss, 'bare PGlite'),
    row('RSS after first write + search', 'MB', bareRss, 'bare PGlite'),
  ]
  return { rounds: context.rounds, settleSeconds: context.settleSeconds, rows, samples, ready: readyBody }
}
