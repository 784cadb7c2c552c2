import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openDatabase } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { LocalEventBus } from '../src/platform/events/event-bus.js'
import { MemoryRateLimitStore } from '../src/platform/limits/memory.store.js'
import { loggerOptions } from '../src/platform/logger.js'
import { openEmbeddings, readinessChecks } from '../src/runtime.js'
import { createServices } from '../src/services.js'
import { startFakeLlmServer } from '../test/helpers/fake-llm-server.js'

const GPT = 'bench-extract'
const TOPICS = ['tea', 'sailing', 'jazz', 'hiking', 'chess', 'ramen', 'opera', 'cycling', 'pottery', 'sushi']

export interface ExtractBenchReport {
  turns: number
  everyTurns: number
  runs: number
  tokensIn: number
  tokensOut: number
  tokensPer100Turns: number
  note: string
}

/**
 * The LLM cost of extraction per 100 chat turns (a user message and the AI's reply each), with a run
 * every `everyTurns` turns as automatic extraction would, against the fake provider, whose token
 * counts are ~4 characters a token over the whole prompt (system, messages, schema) and the answer.
 */
export async function runExtractBench(context: { turns: number; everyTurns: number[]; logLevel: string; log(line: string): void }): Promise<ExtractBenchReport[]> {
  const fake = await startFakeLlmServer()
  const reports: ExtractBenchReport[] = []
  try {
    for (const everyTurns of context.everyTurns) {
      const dir = await mkdtemp(join(tmpdir(), 'agentstore-extract-'))
      const config = loadConfig({ ADMIN_TOKEN: randomBytes(24).toString('hex'), RATE_LIMITS: 'off', DATA_DIR: dir, JOBS_ENABLED: 'false', LOG_LEVEL: context.logLevel, LLM_PROVIDER: 'openai', LLM_BASE_URL: fake.openaiBaseUrl })
      const database = await openDatabase({ kind: 'pglite', dataDir: dir })
      const logger = pino(loggerOptions(config.logLevel))
      const events = new LocalEventBus()
      const store = new MemoryRateLimitStore()
      await migrateToLatest(database.db)
      const embeddings = await openEmbeddings(config, database)
      const services = createServices({ database, config, events, log: logger, embeddings })
      await services.embedder.store.ensureIndex()
      const app = await buildApp({ config, database, services, rateLimitStore: store, readinessChecks: readinessChecks(database), version: 'bench', logger, events })
      try {
        await services.gpts.createGpt({ id: GPT, name: GPT })
        const session = await services.sessions.createSession(GPT, { user_id: 'bench-user' })
        let tokensIn = 0
        let tokensOut = 0
        let runs = 0
        let batch: string[] = []
        for (let turn = 1; turn <= context.turns; turn++) {
          const topic = TOPICS[turn % TOPICS.length]!
          const user = await services.messages.insertMessage(GPT, session.id, { sender: 'user', content: `Turn ${turn}: I have been thinking about ${topic} a lot lately, and I really enjoy ${topic} on weekends with friends.` })
          await services.messages.insertMessage(GPT, session.id, { sender: 'ai', content: `That sounds lovely. What do you enjoy most about ${topic}? Many people find it relaxing after a long week.` })
          batch.push(user.id)
          if (turn % everyTurns !== 0 && turn !== context.turns) continue
          // The model's answer: one fact per distinct topic of the batch (at most 3), as a real model would.
          const decisions = batch.slice(0, 3).map((id, index) => ({ action: 'add', content: `The user enjoys ${TOPICS[(turn - index) % TOPICS.length]} on weekends.`, memory_id: null, message_ids: [id] }))
          fake.script({ tokens: [JSON.stringify({ decisions })] })
          const { run } = await services.extraction.requestRun(GPT, session.id, null)
          await services.extraction.idle()
          const done = await services.extraction.getRun(GPT, run.id, null)
          if (done.status !== 'done') throw new Error(`run ${done.id} ended ${done.status}: ${done.reason}`)
          tokensIn += done.tokens_in
          tokensOut += done.tokens_out
          runs++
          batch = []
        }
        const report = {
          turns: context.turns,
          everyTurns,
          runs,
          tokensIn,
          tokensOut,
          tokensPer100Turns: Math.round(((tokensIn + tokensOut) * 100) / context.turns),
          note: 'fake provider: ~4 characters a token; the prompt grows with the known memories shown (up to 12)',
        }
        context.log(`every ${everyTurns} turns: ${runs} runs, ${tokensIn} in + ${tokensOut} out`)
        reports.push(report)
      } finally {
        await app.close()
        await embeddings.provider.close?.()
        await store.close()
        await events.close()
        await database.close()
        await rm(dir, { recursive: true, force: true })
      }
    }
  } finally {
    await fake.close()
  }
  return reports
}
