import { AppError } from '../../platform/errors.js'
import type { JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'
import type { BackupService } from './backups.service.js'

export const BACKUP_JOB = 'backups.create'

/**
 * The scheduled backup (BACKUP_CRON). The schedule runs it once per slot across replicas; the
 * service's lock keeps it from overlapping a backup started from the CLI, which it then leaves be.
 */
export function backupJob(deps: { backups: BackupService; logger: JobLogger; schedule: string | null }): JobDefinition {
  return {
    name: BACKUP_JOB,
    ...(deps.schedule === null ? {} : { schedule: deps.schedule }),
    retryLimit: 2,
    retryDelaySeconds: 300,
    retryBackoff: false,
    timeoutSeconds: 6 * 3600,
    policy: 'short',
    async handler() {
      try {
        const backup = await deps.backups.create()
        const { file, size_bytes, duration_ms, sha256, schema_version, pruned } = backup
        deps.logger.info({ job: BACKUP_JOB, file, size_bytes, duration_ms, sha256, schema_version, pruned }, 'backup made')
        return { file, size_bytes, duration_ms, sha256, pruned: pruned.length }
      } catch (error) {
        if (error instanceof AppError && error.status === 409) {
          deps.logger.info({ job: BACKUP_JOB }, error.message)
          return { skipped: error.message }
        }
        deps.logger.error({ job: BACKUP_JOB, err: error }, 'backup failed')
        throw error
      }
    },
  }
}
