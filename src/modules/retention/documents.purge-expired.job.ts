import type { JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'
import { batchedPurgeJob } from '../../platform/jobs/batched-purge.js'
import type { RetentionService } from './retention.service.js'

export const PURGE_EXPIRED_DOCUMENTS_JOB = 'documents.purge-expired'
/** Every 5 minutes: expired documents are already invisible; this only frees their space. */
export const PURGE_EXPIRED_DOCUMENTS_SCHEDULE = '*/5 * * * *'

/** Deletes the documents past their collection's `ttl_seconds`. */
export function purgeExpiredDocumentsJob(deps: { retention: RetentionService; logger: JobLogger }): JobDefinition {
  return batchedPurgeJob({
    name: PURGE_EXPIRED_DOCUMENTS_JOB,
    schedule: PURGE_EXPIRED_DOCUMENTS_SCHEDULE,
    timeoutSeconds: 240,
    logger: deps.logger,
    message: 'purged expired documents',
    purge: (signal) => deps.retention.purgeExpiredDocuments(signal),
  })
}
