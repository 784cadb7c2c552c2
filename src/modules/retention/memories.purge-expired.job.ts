import type { JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'
import { batchedPurgeJob } from '../../platform/jobs/batched-purge.js'
import type { RetentionService } from './retention.service.js'

export const PURGE_EXPIRED_MEMORIES_JOB = 'memories.purge-expired'
/** Every 5 minutes: expired memories are already invisible; this only frees their space and vectors. */
export const PURGE_EXPIRED_MEMORIES_SCHEDULE = '*/5 * * * *'

/** Deletes the memories past their `expires_at`, each with an `expire` entry in its history. */
export function purgeExpiredMemoriesJob(deps: { retention: RetentionService; logger: JobLogger }): JobDefinition {
  return batchedPurgeJob({
    name: PURGE_EXPIRED_MEMORIES_JOB,
    schedule: PURGE_EXPIRED_MEMORIES_SCHEDULE,
    timeoutSeconds: 240,
    logger: deps.logger,
    message: 'purged expired memories',
    purge: (signal) => deps.retention.purgeExpiredMemories(signal),
  })
}
