import { randomBytes } from 'node:crypto'
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { benchDatabase, createGptKey, freePort, json, waitForHealth } from './lib/setup.js'
import { startProcess, type Started } from './lib/processes.js'

export interface MailBenchContext {
  db: 'pglite' | 'postgres'
  /** PostgreSQL server to create the bench database on. */
  postgresUrl: string
  /** Measured mails (after a warm-up of WARMUP). */
  mails: number
  /** Open inbox streams of the recipient. */
  streams: number
  /** Pause between one POST's answer and the next POST. */
  gapMs: number
  logLevel: string
  log: (line: string) => void
}

export interface Latency {
  p50Ms: number
  p99Ms: number
  maxMs: number
  samples: number
}

export interface MailReport {
  mails: number
  streams: number
  /** POST start to arrival, for every (mail, stream) pair. */
  delivery: Latency
  /** POST start to arrival on the last of the streams, per mail. */
  deliveryToAll: Latency
  /** The same-run baseline: POST /v1/gpts/{gpt_id}/mail from start to answer. */
  post: Latency
  /** delivery / post, at p50 and at p99. */
  ratioToPost: { p50: number; p99: number }
  /** Deliveries that never came (within 10 s after the last POST), and extra ones. */
  missing: number
  duplicates: number
  /** Streams on which the mails did not arrive in the order they were sent. */
  outOfOrderStreams: number
}

const GPT = 'bench-mail'
const WARMUP = 20





/** One inbox stream: records when each mail (numbered by its content, `bench <n>`) arrived. */
class InboxStream {
  /** Mail number → arrival times (more than one would be a duplicate). */
  readonly arrivals = new Map<number, number[]>()
  readonly order: number[] = []
  private buffer = ''
  private data: string[] = []
  private opened!: () => void

  readonly ready: Promise<void>
  private request: http.ClientRequest | null = null
  private response: http.IncomingMessage | null = null

  constructor(url: string, token: string) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.opened = resolve
      this.request = http.get(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, agent: false }, (response) => {
        this.response = response
        if (response.statusCode !== 200) return reject(new Error(`inbox stream: ${response.statusCode}`))
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => this.feed(chunk, performance.now()))
        response.on('error', () => {})
      })
      this.request.on('error', reject)
    })
  }

  close(): void {
    this.request?.destroy()
    this.response?.destroy()
  }

  private feed(chunk: string, at: number): void {
    this.buffer += chunk
    for (let newline = this.buffer.indexOf('\n'); newline >= 0; newline = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, newline)
      this.buffer = this.buffer.slice(newline + 1)
      if (line.startsWith('retry:')) this.opened()
      else if (line.startsWith('data:')) this.data.push(line.slice(5).trimStart())
      else if (line === '' && this.data.length > 0) {
        const item = JSON.parse(this.data.join('\n')) as { content: string }
        this.data = []
        const n = Number(item.content.replace(/^bench /, ''))
        const times = this.arrivals.get(n) ?? []
        times.push(at)
        this.arrivals.set(n, times)
        this.order.push(n)
      }
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function latency(values: number[]): Latency {
  const sorted = [...values].sort((a, b) => a - b)
  // Nearest rank.
  const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN
  return { p50Ms: round(at(0.5)), p99Ms: round(at(0.99)), maxMs: round(sorted[sorted.length - 1] ?? Number.NaN), samples: sorted.length }
}

/**
 * Live inbox delivery: one service process, `streams` open inbox streams of one recipient, then
 * `mails` mails POSTed one after another; for each, the time from the POST's start to its arrival on
 * every stream, against the POST's own round trip in the same run.
 */
export async function runMailBench(context: MailBenchContext): Promise<MailReport> {
  const database = await benchDatabase(context)
  const adminToken = randomBytes(24).toString('hex')
  let running: Started | null = null
  const streams: InboxStream[] = []
  try {
    const port = await freePort()
    running = await startProcess(
      'bin/agentstore.js',
      ['serve'],
      { ...database.env, PORT: String(port), ADMIN_TOKEN: adminToken, RATE_LIMITS: 'off', LOG_LEVEL: context.logLevel, JOBS_ENABLED: 'false' },
      port,
    )
    const base = `http://127.0.0.1:${port}`
    await waitForHealth(base)
    const key = await createGptKey(base, adminToken, { id: GPT, name: 'Mail bench' }, ['read', 'write'])
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
    const agent = async (name: string) =>
      (await json<{ id: string }>(await fetch(`${base}/v1/gpts/${GPT}/agents`, { method: 'POST', headers, body: JSON.stringify({ name }) }))).id
    const sender = await agent('sender')
    const recipient = await agent('recipient')

    context.log(`opening ${context.streams} inbox streams…`)
    for (let n = 0; n < context.streams; n++) streams.push(new InboxStream(`${base}/v1/agents/${recipient}/inbox/stream`, key))
    await Promise.all(streams.map((stream) => stream.ready))

    const total = WARMUP + context.mails
    const started: number[] = []
    const posts: number[] = []
    const arrivedEverywhere = (n: number) => streams.every((stream) => stream.arrivals.has(n))
    context.log(`sending ${WARMUP} warm-up and ${context.mails} measured mails…`)
    for (let n = 0; n < total; n++) {
      const begin = performance.now()
      started[n] = begin
      await json(await fetch(`${base}/v1/gpts/${GPT}/mail`, { method: 'POST', headers, body: JSON.stringify({ from: sender, to: [recipient], content: `bench ${n}` }) }))
      posts[n] = performance.now() - begin
      if (n === WARMUP - 1) {
        // Every stream is live before measuring.
        for (let waited = 0; !arrivedEverywhere(n) && waited < 10_000; waited += 10) await sleep(10)
        if (!arrivedEverywhere(n)) throw new Error('the warm-up mail did not reach every stream')
      }
      await sleep(context.gapMs)
    }
    for (let waited = 0; !arrivedEverywhere(total - 1) && waited < 10_000; waited += 10) await sleep(10)
    await sleep(200)

    const delivery: number[] = []
    const toAll: number[] = []
    let missing = 0
    let duplicates = 0
    for (let n = WARMUP; n < total; n++) {
      let last = 0
      let complete = true
      for (const stream of streams) {
        const times = stream.arrivals.get(n)
        if (!times) {
          missing++
          complete = false
          continue
        }
        duplicates += times.length - 1
        const elapsed = times[0]! - started[n]!
        delivery.push(elapsed)
        last = Math.max(last, elapsed)
      }
      if (complete) toAll.push(last)
    }
    const outOfOrderStreams = streams.filter((stream) => stream.order.some((n, index) => index > 0 && n < stream.order[index - 1]!)).length
    const post = latency(posts.slice(WARMUP))
    const each = latency(delivery)
    return {
      mails: context.mails,
      streams: context.streams,
      delivery: each,
      deliveryToAll: latency(toAll),
      post,
      ratioToPost: { p50: round(each.p50Ms / post.p50Ms), p99: round(each.p99Ms / post.p99Ms) },
      missing,
      duplicates,
      outOfOrderStreams,
    }
  } finally {
    for (const stream of streams) stream.close()
    await running?.stop()
    await database.drop()
  }
}

const round = (value: number) => Math.round(value * 100) / 100
