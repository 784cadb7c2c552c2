import type { JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'
import { retentionPurgeJob, type RetentionPurgeData } from '../../platform/jobs/retention.job.js'
import type { AccountsService } from './accounts.service.js'

export const PURGE_DELETED_ACCOUNTS_JOB = 'accounts.purge-deleted'
/** Daily at 03:47 UTC: off the hour, and apart from the key purge. */
export const PURGE_DELETED_ACCOUNTS_SCHEDULE = '47 3 * * *'

/**
 * Removes accounts deleted more than ACCOUNT_RETENTION_DAYS ago, with their GPTs and all their data
 * (until then the operator can restore them); on the way, login sessions ended over a day ago and
 * failed-login counts that delay no one any more.
 */
export function purgeDeletedAccountsJob(deps: {
  accounts: AccountsService
  logger: JobLogger
  retentionDays: number
  schedule?: string
}): JobDefinition<RetentionPurgeData> {
  return retentionPurgeJob({
    name: PURGE_DELETED_ACCOUNTS_JOB,
    schedule: deps.schedule ?? PURGE_DELETED_ACCOUNTS_SCHEDULE,
    retentionDays: deps.retentionDays,
    timeoutSeconds: 3600,
    logger: deps.logger,
    message: 'purged deleted accounts',
    purge: async (days) => ({ deleted: await deps.accounts.purgeDeleted(days), ...(await deps.accounts.sessions.purgeEnded()) }),
  })
}
