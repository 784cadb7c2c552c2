import type { JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'
import { EXTRACTION_RUN_JOB, type ExtractionJobData } from './extraction.dispatch.js'
import type { ExtractionService } from './extraction.service.js'

/**
 * Runs one extraction run. Its concurrency is EXTRACTION_CONCURRENCY per process: with the service's
 * own LLM slots, extraction never has more calls in flight than that. A run over budget, or held back
 * by another run of its session, is queued again with a delay (not failed).
 */
export function extractionRunJob(deps: { extraction: ExtractionService; logger: JobLogger; concurrency: number }): JobDefinition<ExtractionJobData> {
  return {
    name: EXTRACTION_RUN_JOB,
    retryLimit: 2,
    retryDelaySeconds: 30,
    timeoutSeconds: 600,
    concurrency: deps.concurrency,
    async handler(data, ctx) {
      if (typeof data.gpt_id !== 'string' || typeof data.run_id !== 'string') throw new Error('extraction.run: expected {gpt_id, run_id}')
      const outcome = await deps.extraction.execute(data.gpt_id, data.run_id, ctx.signal)
      if (outcome.kind === 'failed') deps.logger.warn({ job: EXTRACTION_RUN_JOB, run_id: data.run_id, reason: outcome.run.reason }, 'extraction run failed')
      return { outcome: outcome.kind }
    },
  }
}
