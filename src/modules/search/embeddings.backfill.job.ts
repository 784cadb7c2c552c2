import type { JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'
import type { EmbeddingWorker } from './embedding-worker.js'

export const BACKFILL_EMBEDDINGS_JOB = 'embeddings.backfill'
/** Every minute: what the on-write jobs missed is searchable by meaning within about two minutes. */
export const BACKFILL_EMBEDDINGS_SCHEDULE = '* * * * *'
const BATCH = 64
/** A run stops starting batches after this long; the next run goes on where it stopped. */
const RUN_BUDGET_MS = 45_000
/** A pending memory younger than this still has its own job under way. */
const MEMORY_GRACE_MS = 60_000
/** A document or message changed more recently than this has its `embeddings.embed-changed` job under way. */
const CHANGED_GRACE_MS = 30_000

/**
 * Embeds what has no vector of the current model yet and its own job did not embed: documents and
 * chat messages written where no jobs run or whose job failed, and memories whose job was lost.
 * Remote failures are left for the next run.
 */
export function backfillEmbeddingsJob(deps: { worker: EmbeddingWorker; logger: JobLogger; schedule?: string }): JobDefinition {
  return {
    name: BACKFILL_EMBEDDINGS_JOB,
    schedule: deps.schedule ?? BACKFILL_EMBEDDINGS_SCHEDULE,
    retryLimit: 0,
    timeoutSeconds: 120,
    policy: 'singleton',
    async handler(_data, ctx) {
      const started = Date.now()
      const done = { memories: 0, objects: 0, messages: 0 }
      const more = () => Date.now() - started < RUN_BUDGET_MS && !ctx.signal.aborted
      const steps: [keyof typeof done, () => Promise<number>][] = [
        ['memories', async () => {
          const rows = await deps.worker.staleMemories(null, BATCH, { olderThanMs: MEMORY_GRACE_MS, includeFailed: false })
          await deps.worker.embedMemories(rows, false, ctx.signal)
          return rows.length
        }],
        ['objects', () => deps.worker.embedStale('objects', null, BATCH, { signal: ctx.signal, olderThanMs: CHANGED_GRACE_MS })],
        ['messages', () => deps.worker.embedStale('messages', null, BATCH, { signal: ctx.signal, olderThanMs: CHANGED_GRACE_MS })],
      ]
      for (const [source, step] of steps) {
        try {
          while (more()) {
            const count = await step()
            done[source] += count
            if (count < BATCH) break
          }
        } catch (error) {
          // One source failing (the provider down) must not starve the others; the next run retries.
          deps.logger.warn({ err: error, job: BACKFILL_EMBEDDINGS_JOB, source }, 'embedding backfill failed')
        }
      }
      if (done.memories + done.objects + done.messages > 0) deps.logger.info({ job: BACKFILL_EMBEDDINGS_JOB, ...done }, 'embedded new items')
      return done
    },
  }
}
