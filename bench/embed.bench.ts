import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { benchDatabase, createGptKey, freePort, json, waitForHealth } from './lib/setup.js'
import { startProcess, type Started } from './lib/processes.js'
import { percentiles, ratio, round, type Percentiles } from './lib/stats.js'

export interface EmbedBenchContext {
  db: 'pglite' | 'postgres'
  postgresUrl: string
  /** Seconds per phase; phases alternate quiet / batches `rounds` times. */
  durationSeconds: number
  rounds: number
  /** GET requests kept in flight at once (closed loop). */
  readers: number
  workers: number
  logLevel: string
  log: (line: string) => void
}

const GPT = 'bench-embed'
const BATCH = 100
const WORDS = ['project', 'deadline', 'prefers', 'dark', 'mode', 'meeting', 'Tuesday', 'invoice', 'customer', 'Berlin', 'coffee', 'allergic', 'peanuts', 'daughter', 'piano', 'lessons', 'budget', 'quarterly', 'review', 'travel', 'Lisbon', 'password', 'reset', 'newsletter', 'vegetarian']

/** A memory of 20–40 words, different each time, as an agent would store one. */
function memoryText(n: number): string {
  const words = Array.from({ length: 20 + (n % 21) }, (_, i) => WORDS[(n * 7 + i * 13 + ((n >> 3) % 5)) % WORDS.length])
  return `Note ${n}: the user ${words.join(' ')}.`
}

/** Resident memory of a process, from /proc (Linux); null elsewhere. */
function rssMb(pid: number): number | null {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('VmRSS:'))
    return line ? round(Number(line.replace(/\D+/g, '')) / 1024, 1) : null
  } catch {
    return null
  }
}

/**
 * GET /v1/gpts/{gpt} latency while batches of 100 memories are written one after another (the local
 * model embeds them in the request, in its worker threads) against the same GET with nothing else
 * going on, the two phases alternating in one run. Also: the first semantic search after the server
 * answers /health (the model loads in its thread on that first need), and the server's RSS.
 */
export async function runEmbedBench(context: EmbedBenchContext) {
  const database = await benchDatabase(context)
  const adminToken = randomBytes(24).toString('hex')
  let running: Started | null = null
  try {
    const port = await freePort()
    running = await startProcess(
      'bin/agentstore.js',
      ['serve'],
      { ...database.env, PORT: String(port), ADMIN_TOKEN: adminToken, RATE_LIMITS: 'off', LOG_LEVEL: context.logLevel, EMBEDDINGS_WORKERS: String(context.workers) },
      port,
    )
    const pid = running.child.pid!
    const base = `http://127.0.0.1:${port}`
    await waitForHealth(base)
    const key = await createGptKey(base, adminToken, { id: GPT, name: 'Bench' }, ['read', 'write'])
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }

    const search = async (query: string) => {
      const started = performance.now()
      await json(await fetch(`${base}/v1/gpts/${GPT}/search`, { method: 'POST', headers, body: JSON.stringify({ query, mode: 'semantic' }) }))
      return performance.now() - started
    }
    const firstSearchMs = round(await search('what does the user prefer'))
    const laterSearches: number[] = []
    for (let i = 0; i < 20; i++) laterSearches.push(await search(`what does the user prefer ${i}`))
    const idleRssMb = rssMb(pid)

    let written = 0
    const writeBatch = async () => {
      const memories = Array.from({ length: BATCH }, () => ({ content: memoryText(written++) }))
      const response = await fetch(`${base}/v1/gpts/${GPT}/memories/batch`, { method: 'POST', headers, body: JSON.stringify({ memories }) })
      const body = (await json(response)) as { memories: { embedding_status: string }[] }
      if (response.status !== 200 || body.memories.some((memory) => memory.embedding_status !== 'ready')) throw new Error('a batch was not embedded in the request')
    }

    /** Closed-loop GETs for the phase's duration, with batches written back to back meanwhile when `batches`. */
    const phase = async (batches: boolean) => {
      const until = performance.now() + context.durationSeconds * 1000
      const samples: number[] = []
      let batchCount = 0
      const reader = async () => {
        while (performance.now() < until) {
          const started = performance.now()
          const response = await fetch(`${base}/v1/gpts/${GPT}`, { headers })
          await response.arrayBuffer()
          if (!response.ok) throw new Error(`GET /v1/gpts/{gpt}: ${response.status}`)
          samples.push(performance.now() - started)
        }
      }
      const writer = async () => {
        while (batches && performance.now() < until) {
          await writeBatch()
          batchCount++
        }
      }
      await Promise.all([writer(), ...Array.from({ length: context.readers }, reader)])
      return { samples, batchCount }
    }

    await phase(false) // warm-up, discarded
    const quiet: number[] = []
    const busy: number[] = []
    let batchCount = 0
    for (let round = 0; round < context.rounds; round++) {
      context.log(`round ${round + 1}/${context.rounds}: quiet, then batches of ${BATCH} memories…`)
      quiet.push(...(await phase(false)).samples)
      const loaded = await phase(true)
      busy.push(...loaded.samples)
      batchCount += loaded.batchCount
    }
    const baseline = percentiles(quiet)
    const during = percentiles(busy)
    return {
      workers: context.workers,
      readers: context.readers,
      baseline,
      during,
      p99Ratio: ratio(during.p99Ms, baseline.p99Ms),
      p50Ratio: ratio(during.p50Ms, baseline.p50Ms),
      memoriesPerSecond: round((batchCount * BATCH) / (context.rounds * context.durationSeconds), 1),
      batches: batchCount,
      firstSearchMs,
      laterSearch: percentiles(laterSearches) satisfies Percentiles,
      rssMb: { idle: idleRssMb, afterBatches: rssMb(pid) },
    }
  } finally {
    await running?.stop()
    await database.drop()
  }
}
