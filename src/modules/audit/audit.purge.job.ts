import type { JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'
import type { AuditService } from './audit.service.js'

export const PURGE_AUDIT_JOB = 'audit.purge'
export const DEFAULT_AUDIT_RETENTION_DAYS = 90
/** Daily at 04:07 UTC: after the other purges, off the hour. */
export const PURGE_AUDIT_SCHEDULE = '7 4 * * *'

/** A manual run (`enqueue`) may override the retention. */
export interface PurgeAuditData {
  retentionDays?: number
}

function checkRetentionDays(days: unknown): number {
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 0) {
    throw new Error(`retentionDays must be a whole number of days >= 0, got ${JSON.stringify(days)}`)
  }
  return days
}

/** Deletes the audit rows older than AUDIT_RETENTION_DAYS. */
export function purgeAuditJob(deps: { audit: AuditService; logger: JobLogger; retentionDays?: number }): JobDefinition<PurgeAuditData> {
  const defaultDays = checkRetentionDays(deps.retentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS)
  return {
    name: PURGE_AUDIT_JOB,
    schedule: PURGE_AUDIT_SCHEDULE,
    retryLimit: 3,
    retryDelaySeconds: 60,
    timeoutSeconds: 600,
    policy: 'short',
    async handler(data) {
      const retentionDays = checkRetentionDays(data.retentionDays ?? defaultDays)
      const deleted = await deps.audit.purge(retentionDays)
      deps.logger.info({ job: PURGE_AUDIT_JOB, deleted, retentionDays }, 'purged old audit rows')
      return { deleted, retentionDays }
    },
  }
}
