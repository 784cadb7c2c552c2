import type { JobDefinition, JobLogger, JobQueue } from '../../platform/jobs/jobs.queue.js'
import type { MemoryEmbedQueue } from './memories.service.js'
import type { EmbeddingWorker } from '../search/embedding-worker.js'

export const EMBED_MEMORIES_JOB = 'memories.embed'
/** Five retries with doubling delays from 5 s: a provider that is down for a few minutes loses nothing. */
export const EMBED_MEMORIES_RETRY_LIMIT = 5

export interface EmbedMemoriesData {
  gpt_id: string
  ids: string[]
}

/** Makes the vectors of memories written while the embeddings provider is remote. */
export function embedMemoriesJob(deps: { worker: EmbeddingWorker; logger: JobLogger }): JobDefinition<EmbedMemoriesData> {
  return {
    name: EMBED_MEMORIES_JOB,
    retryLimit: EMBED_MEMORIES_RETRY_LIMIT,
    retryDelaySeconds: 5,
    retryBackoff: true,
    timeoutSeconds: 300,
    concurrency: 2,
    async handler(data, ctx) {
      if (typeof data.gpt_id !== 'string' || !Array.isArray(data.ids)) throw new Error('memories.embed: expected {gpt_id, ids}')
      const rows = await deps.worker.pendingMemories(data.gpt_id, data.ids)
      const final = ctx.retryCount >= EMBED_MEMORIES_RETRY_LIMIT
      const result = await deps.worker.embedMemories(rows, final, ctx.signal)
      if (result.failed > 0) deps.logger.warn({ job: EMBED_MEMORIES_JOB, gpt_id: data.gpt_id, failed: result.failed }, 'memories could not be embedded')
      return result
    },
  }
}

/** The memories service's way into the queue. */
export function memoryEmbedQueue(queue: JobQueue): MemoryEmbedQueue {
  return {
    async enqueue(gptId, ids) {
      await queue.enqueue<EmbedMemoriesData>(EMBED_MEMORIES_JOB, { gpt_id: gptId, ids })
    },
  }
}
