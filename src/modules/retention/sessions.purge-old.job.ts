import type { JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'
import { batchedPurgeJob } from '../../platform/jobs/batched-purge.js'
import type { RetentionService } from './retention.service.js'

export const PURGE_OLD_SESSIONS_JOB = 'chat.purge-old-sessions'
/** Daily at 04:37 UTC, apart from the other purges. */
export const PURGE_OLD_SESSIONS_SCHEDULE = '37 4 * * *'

/** Deletes the chat sessions (with their messages) idle for longer than their GPT's `session_retention_days`. */
export function purgeOldSessionsJob(deps: { retention: RetentionService; logger: JobLogger }): JobDefinition {
  return batchedPurgeJob({
    name: PURGE_OLD_SESSIONS_JOB,
    schedule: PURGE_OLD_SESSIONS_SCHEDULE,
    timeoutSeconds: 600,
    logger: deps.logger,
    message: 'purged old chat sessions',
    purge: (signal) => deps.retention.purgeOldSessions(signal),
  })
}
