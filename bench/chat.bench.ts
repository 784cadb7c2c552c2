import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { startFakeLlmServer, type FakeLlmServer } from '../test/helpers/fake-llm-server.js'
import { benchDatabase, createGptKey, freePort, json, waitForHealth } from './lib/setup.js'
import { portFromLog, startProcess, type Started } from './lib/processes.js'
import { percentiles, ratio, type Percentiles } from './lib/stats.js'

export interface ChatBenchContext {
  db: 'pglite' | 'postgres'
  /** PostgreSQL server to create the bench database on. */
  postgresUrl: string
  /** Measured generations each way (after WARMUP each). */
  requests: number
  /** Tokens the fake provider streams per reply, and the pause before each. */
  tokens: number
  tokenMs: number
  logLevel: string
  log: (line: string) => void
}

export interface ChatReport {
  requests: number
  tokens: number
  tokenMs: number
  /** POST {fake}/v1/chat/completions, stream: true. */
  direct: {
    /** Request start to the first `data:` chunk with non-empty delta content. */
    firstContent: Percentiles
    /** Request start to `data: [DONE]`. */
    total: Percentiles
  }
  /** POST /v1/sessions/{id}/generate with Accept: text/event-stream (a fresh session with one user message each). */
  service: {
    /** Request start to the `message` event (the pending AI message). */
    message: Percentiles
    /** Request start to the first `delta` event. */
    firstDelta: Percentiles
    /** Request start to the `done` event. */
    done: Percentiles
  }
  /** POST {bare}/generate/{id}: the same durable work on a bare node:http + pg server (bench/chat.baseline.ts). */
  bare: { firstDelta: Percentiles; done: Percentiles }
  /** service first delta / direct first content, at p50 and p99. */
  firstByteRatio: { p50: number; p99: number }
  /** bare first delta / direct first content: the floor of the ratio above on this machine. */
  bareFirstByteRatio: { p50: number; p99: number }
  /** service done / direct [DONE], at p50 and p99. */
  totalRatio: { p50: number; p99: number }
}

const GPT = 'bench-chat'
const WARMUP = 5
const PROMPT = 'Tell me a story.'

/**
 * POSTs `body` and reads the Server-Sent Events of the answer as they arrive; `mark` names the events
 * to time (the first of each name counts). Resolves at the end of the response with the times since
 * the request started, and every event.
 */
function timedStream(
  url: string,
  agent: http.Agent,
  headers: Record<string, string>,
  body: unknown,
  mark: (event: { event: string; data: string }) => string | null,
): Promise<{ marks: Map<string, number>; events: { event: string; data: string }[] }> {
  return new Promise((resolve, reject) => {
    const begin = performance.now()
    const marks = new Map<string, number>()
    const events: { event: string; data: string }[] = []
    const text = JSON.stringify(body)
    const request = http.request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), accept: 'text/event-stream' } },
      (response) => {
        if (response.statusCode !== 200) {
          let error = ''
          response.setEncoding('utf8')
          response.on('data', (chunk: string) => (error += chunk))
          response.on('end', () => reject(new Error(`${url}: ${response.statusCode} ${error}`)))
          return
        }
        let buffer = ''
        let name = 'message'
        let data: string[] = []
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => {
          const at = performance.now() - begin
          buffer += chunk
          for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
            const line = buffer.slice(0, newline)
            buffer = buffer.slice(newline + 1)
            if (line.startsWith('event:')) name = line.slice(6).trim()
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart())
            else if (line === '') {
              if (data.length > 0) {
                const event = { event: name, data: data.join('\n') }
                events.push(event)
                const label = mark(event)
                if (label !== null && !marks.has(label)) marks.set(label, at)
              }
              name = 'message'
              data = []
            }
          }
        })
        response.on('end', () => resolve({ marks, events }))
        response.on('error', reject)
      },
    )
    request.on('error', reject)
    request.end(text)
  })
}

/**
 * Time to the first streamed token through the service (POST …/generate, SSE) against straight from
 * the provider it relays (a local fake speaking OpenAI's streaming protocol), and through a bare
 * server doing the same durable work; one generation at a time, the three in rotating order, plus the
 * time to the end of each stream.
 */
export async function runChatBench(context: ChatBenchContext): Promise<ChatReport> {
  const database = await benchDatabase(context)
  const adminToken = randomBytes(24).toString('hex')
  const tokens = Array.from({ length: context.tokens }, (_, n) => (n === 0 ? 'Once' : ` t${n}`))
  const expected = tokens.join('')
  let fake: FakeLlmServer | null = null
  let running: Started | null = null
  let bareRunning: Started | null = null
  const bareDir = context.db === 'pglite' ? await mkdtemp(join(tmpdir(), 'agentstore-bench-bare-')) : null
  const serviceAgent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const directAgent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const bareAgent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  try {
    fake = await startFakeLlmServer({ tokens, delayMs: context.tokenMs })
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
        JOBS_ENABLED: 'false',
        LLM_PROVIDER: 'openai',
        LLM_BASE_URL: fake.openaiBaseUrl,
        LLM_API_KEY: 'sk-bench',
        LLM_MODEL: 'fake-model',
      },
      port,
    )
    const base = `http://127.0.0.1:${port}`
    await waitForHealth(base)
    const key = await createGptKey(base, adminToken, { id: GPT, name: 'Chat bench' }, ['read', 'write'])
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
    const bareEnv = { BENCH_GPT_ID: GPT, BENCH_PROMPT: PROMPT, LLM_BASE_URL: fake.openaiBaseUrl, ...(bareDir ? { DATA_DIR: bareDir } : { DATABASE_URL: database.env.DATABASE_URL! }) }
    bareRunning = await startProcess('bench/chat.baseline.ts', [], bareEnv, portFromLog)
    const bareUrl = bareRunning.url

    const direct = async () => {
      const { marks } = await timedStream(
        `${fake!.openaiBaseUrl}/chat/completions`,
        directAgent,
        { authorization: 'Bearer sk-bench' },
        { model: 'fake-model', stream: true, messages: [{ role: 'user', content: PROMPT }] },
        ({ data }) => {
          if (data === '[DONE]') return 'done'
          const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string } }[] }
          return chunk.choices?.[0]?.delta?.content ? 'first' : null
        },
      )
      if (!marks.has('first') || !marks.has('done')) throw new Error('the direct stream had no content or no [DONE]')
      return { first: marks.get('first')!, total: marks.get('done')! }
    }
    // A fresh session per generation: the history sent to the provider stays one message long, and no
    // generation waits for the previous one of its session (409 while running).
    const prepare = async () => {
      const session = await json<{ id: string }>(await fetch(`${base}/v1/gpts/${GPT}/sessions`, { method: 'POST', headers, body: JSON.stringify({ user_id: 'bench' }) }))
      await json(await fetch(`${base}/v1/sessions/${session.id}/messages`, { method: 'POST', headers, body: JSON.stringify({ sender: 'user', content: PROMPT }) }))
      return session.id
    }
    const service = async (sessionId: string) => {
      const { marks, events } = await timedStream(`${base}/v1/sessions/${sessionId}/generate`, serviceAgent, { authorization: headers.authorization }, {}, ({ event }) =>
        event === 'message' || event === 'delta' || event === 'done' || event === 'error' ? event : null,
      )
      const done = events.find((event) => event.event === 'done')
      if (!done || marks.has('error')) throw new Error(`the generation did not finish: ${JSON.stringify(events.slice(-2))}`)
      const content = (JSON.parse(done.data) as { content: string }).content
      if (content !== expected) throw new Error(`the generated message differs from the provider's reply: ${content.slice(0, 80)}`)
      return { message: marks.get('message')!, first: marks.get('delta')!, done: marks.get('done')! }
    }

    const bare = async () => {
      const session = await json<{ id: string }>(await fetch(`${bareUrl}/sessions`, { method: 'POST' }))
      const { marks } = await timedStream(`${bareUrl}/generate/${session.id}`, bareAgent, {}, {}, ({ event }) => (event === 'delta' || event === 'done' ? event : null))
      if (!marks.has('delta') || !marks.has('done')) throw new Error('the bare server did not relay the reply')
      return { first: marks.get('delta')!, done: marks.get('done')! }
    }

    const samples = { directFirst: [] as number[], directTotal: [] as number[], message: [] as number[], firstDelta: [] as number[], done: [] as number[], bareFirst: [] as number[], bareDone: [] as number[] }
    context.log(`${WARMUP} warm-up and ${context.requests} measured generations each way…`)
    for (let n = 0; n < WARMUP + context.requests; n++) {
      const sessionId = await prepare()
      // The order rotates, so that each of the three goes first in turn.
      let viaService: Awaited<ReturnType<typeof service>> | undefined
      let straight: Awaited<ReturnType<typeof direct>> | undefined
      let viaBare: Awaited<ReturnType<typeof bare>> | undefined
      const runs = [async () => (straight = await direct()), async () => (viaService = await service(sessionId)), async () => (viaBare = await bare())]
      for (let step = 0; step < runs.length; step++) await runs[(n + step) % runs.length]!()
      if (n < WARMUP || !straight || !viaService || !viaBare) continue
      samples.directFirst.push(straight.first)
      samples.directTotal.push(straight.total)
      samples.message.push(viaService.message)
      samples.firstDelta.push(viaService.first)
      samples.done.push(viaService.done)
      samples.bareFirst.push(viaBare.first)
      samples.bareDone.push(viaBare.done)
    }
    const directFirst = percentiles(samples.directFirst)
    const directTotal = percentiles(samples.directTotal)
    const firstDelta = percentiles(samples.firstDelta)
    const done = percentiles(samples.done)
    const bareFirst = percentiles(samples.bareFirst)
    return {
      requests: context.requests,
      tokens: context.tokens,
      tokenMs: context.tokenMs,
      direct: { firstContent: directFirst, total: directTotal },
      service: { message: percentiles(samples.message), firstDelta, done },
      bare: { firstDelta: bareFirst, done: percentiles(samples.bareDone) },
      firstByteRatio: { p50: ratio(firstDelta.p50Ms, directFirst.p50Ms), p99: ratio(firstDelta.p99Ms, directFirst.p99Ms) },
      bareFirstByteRatio: { p50: ratio(bareFirst.p50Ms, directFirst.p50Ms), p99: ratio(bareFirst.p99Ms, directFirst.p99Ms) },
      totalRatio: { p50: ratio(done.p50Ms, directTotal.p50Ms), p99: ratio(done.p99Ms, directTotal.p99Ms) },
    }
  } finally {
    serviceAgent.destroy()
    directAgent.destroy()
    bareAgent.destroy()
    await bareRunning?.stop()
    await running?.stop()
    await fake?.close()
    await database.drop()
    if (bareDir) await rm(bareDir, { recursive: true, force: true })
  }
}
