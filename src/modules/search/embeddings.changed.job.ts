import type { JobDefinition, JobLogger, JobQueue } from '../../platform/jobs/jobs.queue.js'
import type { EmbeddingWorker } from './embedding-worker.js'

export const EMBED_CHANGED_JOB = 'embeddings.embed-changed'
/** Ids per job: one embedding request's worth (about a second with the local model). */
export const EMBED_CHANGED_BATCH = 128
/** How long writes are gathered before they are handed to the queue: a burst becomes one job. */
export const EMBED_CHANGED_DELAY_MS = 200

type ChangedSource = 'objects' | 'messages'

export interface EmbedChangedData {
  source: ChangedSource
  gpt_id: string
  ids: string[]
}

/**
 * Embeds the documents or chat messages named by a write, if they still need it (a later write or
 * the minute backfill may have done it; a message still being generated is left for its completion).
 * A failure is retried; what is still missing after that is the backfill's.
 */
export function embedChangedJob(deps: { worker: EmbeddingWorker; logger: JobLogger }): JobDefinition<EmbedChangedData> {
  return {
    name: EMBED_CHANGED_JOB,
    retryLimit: 3,
    retryDelaySeconds: 5,
    retryBackoff: true,
    timeoutSeconds: 300,
    concurrency: 2,
    async handler(data, ctx) {
      const { source, gpt_id: gptId, ids } = data
      if ((source !== 'objects' && source !== 'messages') || typeof gptId !== 'string' || !Array.isArray(ids)) {
        throw new Error(`${EMBED_CHANGED_JOB}: expected {source, gpt_id, ids}`)
      }
      return { embedded: await deps.worker.embedStale(source, gptId, ids.length, { signal: ctx.signal, ids }) }
    },
  }
}

/**
 * Gathers the ids of written documents and chat messages in memory and hands them to the queue as
 * a few jobs, EMBED_CHANGED_DELAY_MS after the first write of a burst. Writes pay for a map insert
 * only; any process running jobs embeds them. Ids still gathered when the process dies, or written
 * where no queue runs (JOBS_ENABLED=false), are left to the minute backfill.
 */
export class ChangedItems {
  private readonly pending = new Map<string, { source: ChangedSource; gptId: string; ids: Set<string> }>()
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly queue: () => JobQueue | null,
    private readonly log: { warn(object: object, message: string): void },
    private readonly delayMs = EMBED_CHANGED_DELAY_MS,
  ) {}

  add(source: ChangedSource, gptId: string, ids: readonly string[]): void {
    if (ids.length === 0 || this.queue() === null) return
    const key = `${source}\u0000${gptId}`
    let entry = this.pending.get(key)
    if (!entry) {
      entry = { source, gptId, ids: new Set() }
      this.pending.set(key, entry)
    }
    for (const id of ids) entry.ids.add(id)
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.delayMs)
      this.timer.unref()
    }
  }

  /** Enqueues what is gathered now (at shutdown, before the queue stops). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const entries = [...this.pending.values()]
    this.pending.clear()
    const queue = this.queue()
    if (!queue) return
    for (const { source, gptId, ids } of entries) {
      const all = [...ids]
      for (let start = 0; start < all.length; start += EMBED_CHANGED_BATCH) {
        const data: EmbedChangedData = { source, gpt_id: gptId, ids: all.slice(start, start + EMBED_CHANGED_BATCH) }
        await queue.enqueue(EMBED_CHANGED_JOB, data).catch((error: unknown) => this.log.warn({ err: error, job: EMBED_CHANGED_JOB }, 'could not enqueue embedding; the backfill will'))
      }
    }
  }
}
