import { sql, type Kysely } from 'kysely'
import type { Tables } from '../../platform/db/tables.js'
import type { JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'

export const PURGE_EXPIRED_KEYS_JOB = 'keys.purge-expired'
export const DEFAULT_KEY_RETENTION_DAYS = 30
/** Daily at 03:17 UTC: off the hour, when many schedules pile up. */
export const PURGE_EXPIRED_KEYS_SCHEDULE = '17 3 * * *'

/** A manual run (`enqueue`) may override the retention. */
export interface PurgeExpiredKeysData {
  retentionDays?: number
}

export interface PurgeExpiredKeysDeps {
  db: Kysely<Tables>
  logger: JobLogger
  retentionDays?: number
  schedule?: string
}

function checkRetentionDays(days: unknown): number {
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 0) {
    throw new Error(`retentionDays must be a whole number of days >= 0, got ${JSON.stringify(days)}`)
  }
  return days
}

/**
 * Deletes the keys that have been unusable (revoked, or past their expiry) for more than
 * `retentionDays`. They are kept that long so that an operator can still see why a client fails.
 */
export async function purgeExpiredKeys(db: Kysely<Tables>, retentionDays: number): Promise<number> {
  // The database clock decides, as it does when the keys are checked.
  const cutoff = sql<Date>`now() - make_interval(days => ${checkRetentionDays(retentionDays)})`
  const result = await db
    .deleteFrom('api_keys')
    .where((eb) => eb.or([eb('revoked_at', '<', cutoff), eb('expires_at', '<', cutoff)]))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

export function purgeExpiredKeysJob(deps: PurgeExpiredKeysDeps): JobDefinition<PurgeExpiredKeysData> {
  const defaultDays = checkRetentionDays(deps.retentionDays ?? DEFAULT_KEY_RETENTION_DAYS)
  return {
    name: PURGE_EXPIRED_KEYS_JOB,
    schedule: deps.schedule ?? PURGE_EXPIRED_KEYS_SCHEDULE,
    retryLimit: 3,
    retryDelaySeconds: 60,
    timeoutSeconds: 600,
    // One purge at a time is enough; a second one waiting behind it would find nothing to do.
    policy: 'short',
    async handler(data) {
      const retentionDays = checkRetentionDays(data.retentionDays ?? defaultDays)
      const deleted = await purgeExpiredKeys(deps.db, retentionDays)
      deps.logger.info({ job: PURGE_EXPIRED_KEYS_JOB, deleted, retentionDays }, 'purged expired API keys')
      return { deleted, retentionDays }
    },
  }
}
