import { sql, type Kysely } from 'kysely'
import type { Tables } from '../../platform/db/tables.js'
import type { JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'
import { checkRetentionDays, retentionPurgeJob, type RetentionPurgeData } from '../../platform/jobs/retention.job.js'

export const PURGE_EXPIRED_KEYS_JOB = 'keys.purge-expired'
export const DEFAULT_KEY_RETENTION_DAYS = 30
/** Daily at 03:17 UTC: off the hour, when many schedules pile up. */
export const PURGE_EXPIRED_KEYS_SCHEDULE = '17 3 * * *'

export interface PurgeExpiredKeysDeps {
  db: Kysely<Tables>
  logger: JobLogger
  retentionDays?: number
  schedule?: string
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

export function purgeExpiredKeysJob(deps: PurgeExpiredKeysDeps): JobDefinition<RetentionPurgeData> {
  return retentionPurgeJob({
    name: PURGE_EXPIRED_KEYS_JOB,
    schedule: deps.schedule ?? PURGE_EXPIRED_KEYS_SCHEDULE,
    retentionDays: deps.retentionDays ?? DEFAULT_KEY_RETENTION_DAYS,
    timeoutSeconds: 600,
    logger: deps.logger,
    message: 'purged expired API keys',
    purge: async (days) => ({ deleted: await purgeExpiredKeys(deps.db, days) }),
  })
}
