import type { Kysely } from 'kysely'
import type { JobDefinition, JobLogger } from '../jobs/jobs.queue.js'
import type { Tables } from './tables.js'
import { vacuumWhereDue } from './vacuum.js'

export const VACUUM_EMBEDDED_JOB = 'database.vacuum'
/** Every minute, as often as autovacuum's launcher looks (autovacuum_naptime); a run with nothing due reads two catalog views. */
export const VACUUM_EMBEDDED_SCHEDULE = '* * * * *'

/**
 * Autovacuum's work on embedded PGlite, which does none by itself (see vacuum.ts). Not scheduled on
 * PostgreSQL, whose own autovacuum does it in processes of its own.
 */
export function vacuumEmbeddedJob(deps: { db: Kysely<Tables>; logger: JobLogger; schedule?: string }): JobDefinition {
  return {
    name: VACUUM_EMBEDDED_JOB,
    schedule: deps.schedule ?? VACUUM_EMBEDDED_SCHEDULE,
    // The next minute's run looks again.
    retryLimit: 0,
    timeoutSeconds: 600,
    policy: 'singleton',
    async handler(_data, ctx) {
      const started = performance.now()
      const report = await vacuumWhereDue(deps.db, ctx.signal)
      if (report.vacuumed.length + report.analyzed.length > 0) {
        deps.logger.info({ job: VACUUM_EMBEDDED_JOB, ...report, ms: Math.round(performance.now() - started) }, 'vacuumed and analyzed the embedded database where due')
      }
      return report
    },
  }
}
