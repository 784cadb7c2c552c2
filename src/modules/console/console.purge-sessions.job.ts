import type { JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'
import type { ConsoleSessionsService } from './console-sessions.service.js'

export const PURGE_CONSOLE_SESSIONS_JOB = 'console.purge-sessions'
/** Hourly at minute 41, off the hour and apart from the other purges. */
export const PURGE_CONSOLE_SESSIONS_SCHEDULE = '41 * * * *'

/**
 * Deletes console sign-ins past their expiry. They are refused from the moment they expire; this only
 * keeps the table small on a server where nobody signs in for a while (a sign-in purges them too).
 */
export function purgeConsoleSessionsJob(deps: { console: ConsoleSessionsService; logger: JobLogger }): JobDefinition {
  return {
    name: PURGE_CONSOLE_SESSIONS_JOB,
    schedule: PURGE_CONSOLE_SESSIONS_SCHEDULE,
    retryLimit: 3,
    retryDelaySeconds: 60,
    timeoutSeconds: 300,
    policy: 'short',
    async handler() {
      const deleted = await deps.console.purgeExpired()
      deps.logger.info({ job: PURGE_CONSOLE_SESSIONS_JOB, deleted }, 'purged expired console sessions')
      return { deleted }
    },
  }
}
