import type { JobDefinition, JobLogger } from './jobs.queue.js'

/** A manual run (`enqueue`) may override the retention. */
export interface RetentionPurgeData {
  retentionDays?: number
}

export interface RetentionPurge {
  name: string
  /** Daily cron (UTC). */
  schedule: string
  /** Days kept by a scheduled run. */
  retentionDays: number
  timeoutSeconds: number
  logger: JobLogger
  /** The log line of a run (its counts go with it). */
  message: string
  /** Deletes what is older than `retentionDays`; returns counts of what went. */
  purge(retentionDays: number): Promise<Record<string, number>>
}

export function checkRetentionDays(days: unknown): number {
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 0) {
    throw new Error(`retentionDays must be a whole number of days >= 0, got ${JSON.stringify(days)}`)
  }
  return days
}

/**
 * What every purge job shares: one run at a time (a second one waiting behind it would find nothing
 * to do), retried a minute apart.
 */
export function purgeJob<T extends object>(
  spec: { name: string; schedule: string; timeoutSeconds: number },
  handler: JobDefinition<T>['handler'],
): JobDefinition<T> {
  return { name: spec.name, schedule: spec.schedule, retryLimit: 3, retryDelaySeconds: 60, timeoutSeconds: spec.timeoutSeconds, policy: 'short', handler }
}

/**
 * A daily purge of what has been kept long enough (revoked keys, deleted accounts, audit rows), with
 * the retention overridable per run.
 */
export function retentionPurgeJob(spec: RetentionPurge): JobDefinition<RetentionPurgeData> {
  const defaultDays = checkRetentionDays(spec.retentionDays)
  return purgeJob<RetentionPurgeData>(spec, async (data) => {
    const retentionDays = checkRetentionDays(data.retentionDays ?? defaultDays)
    const counts = await spec.purge(retentionDays)
    spec.logger.info({ job: spec.name, ...counts, retentionDays }, spec.message)
    return { ...counts, retentionDays }
  })
}
