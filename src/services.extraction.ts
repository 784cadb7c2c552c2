import type { Config } from './config.js'
import type { Database } from './platform/db/database.js'
import type { JobQueue } from './platform/jobs/jobs.queue.js'
import type { LlmProvider } from './platform/llm/index.js'
import type { Registry } from 'prom-client'
import type { MessagesService } from './modules/chat/messages.service.js'
import type { SessionsService } from './modules/chat/sessions.service.js'
import type { AutoExtractionCache } from './modules/extraction/extraction.auto-cache.js'
import { localDispatcher, queueDispatcher, Semaphore, type RunDispatcher } from './modules/extraction/extraction.dispatch.js'
import { ExtractionMetrics } from './modules/extraction/extraction.metrics.js'
import { ExtractionRepository } from './modules/extraction/extraction.repo.js'
import { ExtractionService } from './modules/extraction/extraction.service.js'
import type { MemoriesService } from './modules/memories/memories.service.js'
import type { SearchService } from './modules/search/search.service.js'

/** Extraction of memories from chats: through the job queue when there is one, else in this process. */
export function createExtraction(deps: {
  database: Database
  config: Pick<Config, 'extraction' | 'maxMemoryChars' | 'defaultPageSize'>
  llm: LlmProvider
  sessions: SessionsService
  messages: MessagesService
  auto: AutoExtractionCache
  memories: MemoriesService
  search: SearchService
  registry: Registry
  jobs: () => JobQueue | null
  log: { warn(object: object, message: string): void }
}): ExtractionService {
  const { config, log } = deps
  let local: RunDispatcher | null = null
  const extraction: ExtractionService = new ExtractionService({
    repo: new ExtractionRepository(deps.database.db),
    sessions: deps.sessions,
    messages: deps.messages,
    auto: deps.auto,
    ports: { memories: deps.memories, search: deps.search, log },
    llm: deps.llm,
    limits: { ...config.extraction, maxMemoryChars: config.maxMemoryChars },
    metrics: new ExtractionMetrics(deps.registry),
    llmSlots: new Semaphore(config.extraction.concurrency),
    defaultPageSize: config.defaultPageSize,
    log,
    dispatcher: () => {
      const queue = deps.jobs()
      if (queue) return queueDispatcher(queue)
      local ??= localDispatcher(async (gptId, runId) => {
        await extraction.execute(gptId, runId).catch((error: unknown) => log.warn({ err: error, run_id: runId }, 'extraction run failed'))
      })
      return local
    },
  })
  return extraction
}
