import type { JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'
import type { GenerationService } from './generation.service.js'

export const RECOVER_INTERRUPTED_JOB = 'chat.recover-interrupted'
/** Every minute: a generation whose process died is marked failed within a minute of its lease (GENERATION_LEASE_SECONDS) running out; resume need not wait for it. */
export const RECOVER_INTERRUPTED_SCHEDULE = '* * * * *'

/** Marks failed ("interrupted") the in-progress AI messages whose generating process stopped renewing its lease. */
export function recoverInterruptedJob(deps: { generation: GenerationService; logger: JobLogger; schedule?: string }): JobDefinition {
  return {
    name: RECOVER_INTERRUPTED_JOB,
    schedule: deps.schedule ?? RECOVER_INTERRUPTED_SCHEDULE,
    retryLimit: 0,
    timeoutSeconds: 60,
    policy: 'singleton',
    async handler() {
      const interrupted = await deps.generation.recoverInterrupted(false)
      if (interrupted > 0) deps.logger.warn({ job: RECOVER_INTERRUPTED_JOB, interrupted }, 'marked interrupted generations failed')
      return { interrupted }
    },
  }
}
