import type { JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'
import { retentionPurgeJob, type RetentionPurgeData } from '../../platform/jobs/retention.job.js'
import type { AuditService } from './audit.service.js'

export const PURGE_AUDIT_JOB = 'audit.purge'
export const DEFAULT_AUDIT_RETENTION_DAYS = 90
/** Daily at 04:07 UTC: after the other purges, off the hour. */
export const PURGE_AUDIT_SCHEDULE = '7 4 * * *'

/** Deletes the audit rows older than AUDIT_RETENTION_DAYS. */
export function purgeAuditJob(deps: { audit: AuditService; logger: JobLogger; retentionDays?: number }): JobDefinition<RetentionPurgeData> {
  return retentionPurgeJob({
    name: PURGE_AUDIT_JOB,
    schedule: PURGE_AUDIT_SCHEDULE,
    retentionDays: deps.retentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS,
    timeoutSeconds: 600,
    logger: deps.logger,
    message: 'purged old audit rows',
    purge: async (days) => ({ deleted: await deps.audit.purge(days) }),
  })
}
