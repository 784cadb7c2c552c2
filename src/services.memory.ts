import type { Config } from './config.js'
import type { Database } from './platform/db/database.js'
import type { EmbeddingsProvider } from './platform/embeddings/embeddings.provider.js'
import type { JobQueue } from './platform/jobs/jobs.queue.js'
import type { Registry } from 'prom-client'
import type { RecallMemories } from './modules/chat/generation.service.js'
import { memoryEmbedQueue } from './modules/memories/memories.embed.job.js'
import { MemoryHistoryRepository } from './modules/memories/memories.history.repo.js'
import { MemoriesRepository } from './modules/memories/memories.repo.js'
import { MemoriesService } from './modules/memories/memories.service.js'
import { Embedder } from './modules/search/embedder.js'
import { EmbeddingWorker } from './modules/search/embedding-worker.js'
import { SearchRepository } from './modules/search/search.repo.js'
import { SearchService } from './modules/search/search.service.js'
import { VectorStore, type VectorBackend } from './modules/search/vector-store.js'

export interface MemoryServices {
  store: VectorStore
  embedder: Embedder
  embeddingWorker: EmbeddingWorker
  memories: MemoriesService
  memoryHistory: MemoryHistoryRepository
  search: SearchService
  recall: RecallMemories
}

/** Memories, their history, search, and chat recall (pinned memories first, then the best matches). */
export function createMemory(deps: {
  database: Database
  config: Pick<Config, 'defaultPageSize' | 'memory' | 'hnsw'>
  embeddings: { provider: EmbeddingsProvider; backend: VectorBackend }
  registry: Registry
  jobs: () => JobQueue | null
  log: { warn(object: object, message: string): void }
}): MemoryServices {
  const { database, config, embeddings, log } = deps
  const store = new VectorStore(database.db, embeddings.backend, embeddings.provider.dimensions, embeddings.provider.model, {
    hnsw: config.hnsw,
    concurrentBuild: database.kind === 'postgres',
  })
  const embedder = new Embedder(embeddings.provider, store, deps.registry)
  const memoriesRepo = new MemoriesRepository(database.db)
  const memoryHistory = new MemoryHistoryRepository(database.db)
  const embeddingWorker = new EmbeddingWorker(database.db, memoriesRepo, embedder)
  const memories = new MemoriesService(database.db, memoriesRepo, memoryHistory, embedder, () => {
    const queue = deps.jobs()
    return queue ? memoryEmbedQueue(queue) : null
  }, { defaultPageSize: config.defaultPageSize, dedupSimilarity: config.memory.dedupSimilarity }, log)
  const search = new SearchService(new SearchRepository(database.db), embedder, log, { halfLifeDays: config.memory.halfLifeDays })
  // A character's top_k bounds both lists: its pinned memories come on top of the top_k best matches.
  const recall: RecallMemories = async (gptId, query, settings) => {
    const pinned = await memoriesRepo.pinnedMemories(gptId, settings.user_id, settings.entity_type, settings.top_k)
    const filters = { user_id: settings.user_id, ...(settings.entity_type !== null ? { entity_type: settings.entity_type } : {}) }
    const found = await search.search(gptId, { query, top_k: settings.top_k, mode: 'hybrid', sources: ['memories'], filters })
    const scores = new Map(found.results.map((result) => [result.id, result.score]))
    const pinnedIds = new Set(pinned.map((memory) => memory.id))
    return [
      ...pinned.map((memory) => ({ id: memory.id, content: memory.content, score: scores.get(memory.id) ?? 0, pinned: true })),
      ...found.results.filter((result) => !pinnedIds.has(result.id)).map((result) => ({ id: result.id, content: result.content, score: result.score })),
    ]
  }
  return { store, embedder, embeddingWorker, memories, memoryHistory, search, recall }
}
