import type { JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'
import type { ExtractionService } from './extraction.service.js'

export const EXTRACTION_SWEEP_JOB = 'extraction.sweep'
/** Every 15 minutes: a waiting run starts within 15 minutes of its budget freeing even if its delayed job was lost. */
export const EXTRACTION_SWEEP_SCHEDULE = '*/15 * * * *'

/** Dispatches again the runs waiting for their budget and the queued runs whose job was lost. */
export function extractionSweepJob(deps: { extraction: ExtractionService; logger: JobLogger }): JobDefinition {
  return {
    name: EXTRACTION_SWEEP_JOB,
    schedule: EXTRACTION_SWEEP_SCHEDULE,
    retryLimit: 0,
    timeoutSeconds: 300,
    policy: 'singleton',
    async handler() {
      const dispatched = await deps.extraction.sweep()
      if (dispatched > 0) deps.logger.info({ job: EXTRACTION_SWEEP_JOB, dispatched }, 'dispatched waiting extraction runs again')
      return { dispatched }
    },
  }
}
