import type { JobDefinition } from './jobs.queue.js'

export interface JobRunSummary {
  name: string
  /** Runs that ended (completed or failed) in this process since it started. */
  runs: number
  failures: number
  last_run_at: string | null
  last_outcome: 'completed' | 'failed' | null
}

/**
 * What the background jobs did in this process since it started, for the console's overview. Each
 * replica counts the runs it took itself; pg-boss holds the whole history in the database.
 */
export class JobRuns {
  private readonly byName = new Map<string, JobRunSummary>()

  constructor(private readonly now: () => number = Date.now) {}

  /** Counts the runs of a job, changing nothing else about it. */
  counted<T extends object>(definition: JobDefinition<T>): JobDefinition<T> {
    this.entry(definition.name)
    return {
      ...definition,
      handler: async (data, ctx) => {
        try {
          const output = await definition.handler(data, ctx)
          this.record(definition.name, 'completed')
          return output
        } catch (error) {
          this.record(definition.name, 'failed')
          throw error
        }
      },
    }
  }

  record(name: string, outcome: 'completed' | 'failed'): void {
    const entry = this.entry(name)
    entry.runs++
    if (outcome === 'failed') entry.failures++
    entry.last_run_at = new Date(this.now()).toISOString()
    entry.last_outcome = outcome
  }

  /** Every counted job, by name, those that never ran included. */
  summary(): JobRunSummary[] {
    return [...this.byName.values()].map((entry) => ({ ...entry })).sort((a, b) => a.name.localeCompare(b.name))
  }

  private entry(name: string): JobRunSummary {
    let entry = this.byName.get(name)
    if (!entry) {
      entry = { name, runs: 0, failures: 0, last_run_at: null, last_outcome: null }
      this.byName.set(name, entry)
    }
    return entry
  }
}
