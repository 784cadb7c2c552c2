import type { JobContext, JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'
import type { PurgeCounts } from './retention.service.js'

/** A retention purge: one run at a time, retried a minute apart; a run cut short by its timeout is finished by the next. */
export function purgeJob(spec: {
  name: string
  schedule: string
  timeoutSeconds: number
  logger: JobLogger
  message: string
  purge: (signal: AbortSignal) => Promise<PurgeCounts>
}): JobDefinition {
  return {
    name: spec.name,
    schedule: spec.schedule,
    retryLimit: 3,
    retryDelaySeconds: 60,
    timeoutSeconds: spec.timeoutSeconds,
    // A second run waiting behind a running one would find nothing left to do.
    policy: 'short',
    async handler(_data: unknown, ctx: JobContext) {
      const counts = await spec.purge(ctx.signal)
      spec.logger.info({ job: spec.name, ...counts }, spec.message)
      return counts
    },
  }
}
