import type { JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'
import type { AccountsService } from './accounts.service.js'

export const PURGE_DELETED_ACCOUNTS_JOB = 'accounts.purge-deleted'
/** Daily at 03:47 UTC: off the hour, and apart from the key purge. */
export const PURGE_DELETED_ACCOUNTS_SCHEDULE = '47 3 * * *'

/** A manual run (`enqueue`) may override the retention. */
export interface PurgeDeletedAccountsData {
  retentionDays?: number
}

function checkRetentionDays(days: unknown): number {
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 0) {
    throw new Error(`retentionDays must be a whole number of days >= 0, got ${JSON.stringify(days)}`)
  }
  return days
}

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
}): JobDefinition<PurgeDeletedAccountsData> {
  const defaultDays = checkRetentionDays(deps.retentionDays)
  return {
    name: PURGE_DELETED_ACCOUNTS_JOB,
    schedule: deps.schedule ?? PURGE_DELETED_ACCOUNTS_SCHEDULE,
    retryLimit: 3,
    retryDelaySeconds: 60,
    timeoutSeconds: 3600,
    policy: 'short',
    async handler(data) {
      const retentionDays = checkRetentionDays(data.retentionDays ?? defaultDays)
      const deleted = await deps.accounts.purgeDeleted(retentionDays)
      const ended = await deps.accounts.sessions.purgeEnded()
      deps.logger.info({ job: PURGE_DELETED_ACCOUNTS_JOB, deleted, retentionDays, ...ended }, 'purged deleted accounts')
      return { deleted, retentionDays, ...ended }
    },
  }
}
