import type { JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'
import { batchedPurgeJob } from '../../platform/jobs/batched-purge.js'
import type { RetentionService } from './retention.service.js'

export const PURGE_OLD_MAIL_JOB = 'mail.purge-old'
/** Daily at 04:53 UTC, apart from the other purges. */
export const PURGE_OLD_MAIL_SCHEDULE = '53 4 * * *'

/** Deletes the mail sent longer ago than its GPT's `mail_retention_days`. */
export function purgeOldMailJob(deps: { retention: RetentionService; logger: JobLogger }): JobDefinition {
  return batchedPurgeJob({
    name: PURGE_OLD_MAIL_JOB,
    schedule: PURGE_OLD_MAIL_SCHEDULE,
    timeoutSeconds: 600,
    logger: deps.logger,
    message: 'purged old mail',
    purge: (signal) => deps.retention.purgeOldMail(signal),
  })
}
