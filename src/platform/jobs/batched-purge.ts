import { Counter, Gauge, type Registry } from 'prom-client'
import type { JobContext, JobDefinition, JobLogger } from './jobs.queue.js'
import { purgeJob } from './retention.job.js'

/** Rows deleted per statement by a purge: small enough that no batch holds its locks for long. */
export const PURGE_BATCH_ROWS = 1000

export interface PurgeProgress {
  rows: number
  batches: number
}

/**
 * Runs `deleteBatch` (one bounded `DELETE … WHERE id IN (SELECT … LIMIT n)`, its own statement and
 * transaction) until a batch comes back short, or until `signal` aborts (the job's timeout): the
 * next run goes on from there.
 */
export async function deleteInBatches(
  deleteBatch: (limit: number) => Promise<number>,
  batchSize: number,
  signal?: AbortSignal,
): Promise<PurgeProgress> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a whole number >= 1, got ${batchSize}`)
  const progress = { rows: 0, batches: 0 }
  while (!signal?.aborted) {
    const deleted = await deleteBatch(batchSize)
    progress.rows += deleted
    progress.batches++
    if (deleted < batchSize) break
  }
  return progress
}

/**
 * What the purges deleted, by kind of row, and when each kind was last purged, in /metrics. Counted
 * by the process that ran the job (Prometheus sums the replicas).
 */
export class PurgeMetrics {
  private readonly purged: Counter<'kind'>
  private readonly lastRun: Gauge<'kind'>
  private readonly lastRows: Gauge<'kind'>

  constructor(registry: Registry) {
    const registers = [registry]
    this.purged = new Counter({ name: 'agentstore_retention_purged_rows_total', help: 'Rows deleted by the retention purges, by kind.', labelNames: ['kind'], registers })
    this.lastRun = new Gauge({
      name: 'agentstore_retention_last_run_timestamp_seconds',
      help: 'When a retention purge of this kind last finished in this process (Unix time).',
      labelNames: ['kind'],
      registers,
    })
    this.lastRows = new Gauge({ name: 'agentstore_retention_last_run_rows', help: 'Rows the last retention purge of this kind deleted.', labelNames: ['kind'], registers })
  }

  /** A finished purge of `kind` that deleted `rows` rows (0 included: the run is what is recorded). */
  record(kind: string, rows: number): void {
    this.purged.inc({ kind }, rows)
    this.lastRun.set({ kind }, Date.now() / 1000)
    this.lastRows.set({ kind }, rows)
  }
}

/**
 * A scheduled purge whose rules live in the data (per-GPT or per-collection retention, unlike the
 * fixed days of `retentionPurgeJob`).
 */
export function batchedPurgeJob(spec: {
  name: string
  schedule: string
  timeoutSeconds: number
  logger: JobLogger
  message: string
  purge: (signal: AbortSignal) => Promise<Record<string, number>>
}): JobDefinition {
  // A run cut short by its timeout is finished by the next one.
  return purgeJob(spec, async (_data: unknown, ctx: JobContext) => {
    const counts = await spec.purge(ctx.signal)
    spec.logger.info({ job: spec.name, ...counts }, spec.message)
    return counts
  })
}
