/**
 * Background jobs as the rest of the service sees them. Features (backups, retention, embeddings)
 * depend on this interface only, so the backend (pg-boss today) stays replaceable.
 *
 * Delivery is at least once: a job whose process dies or stops mid-run is run again, so handlers
 * must be idempotent.
 */

/** A job's life: created → active → completed, or → retry → active … → failed; cancelled by an operator. */
export type JobState = 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed'

/**
 * How many jobs of one name may exist at once, keyed by `singletonKey` (no key counts as one key):
 * - `standard`: no limit (the key is informational).
 * - `short`: at most one waiting job per key; enqueuing another returns null.
 * - `singleton`: at most one running job per key; others wait.
 * - `stately`: at most one waiting and one running job per key.
 */
export type JobPolicy = 'standard' | 'short' | 'singleton' | 'stately'

/** What a handler logs through: pino's logger fits. */
export interface JobLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export const silentJobLogger: JobLogger = { info() {}, warn() {}, error() {} }

export interface JobContext {
  readonly id: string
  readonly name: string
  /** 0 on the first run, n on the n-th retry. */
  readonly retryCount: number
  /** Aborted when the job outlives its timeout or the queue's stop grace period: stop work and return. */
  readonly signal: AbortSignal
  readonly logger: JobLogger
}

/**
 * Data is a JSON object: it is stored as JSONB, so a Date arrives in the handler as an ISO string.
 * Arrays are refused because the driver would send them as PostgreSQL arrays, not JSON.
 */
export interface JobDefinition<T extends object = object> {
  /** Unique; letters, digits, `.`, `_`, `-`. */
  readonly name: string
  /** Cron expression, evaluated in UTC; at most one run per schedule slot across all replicas. */
  readonly schedule?: string
  /** The data of scheduled runs (default `{}`). */
  readonly scheduleData?: T
  /** Runs after the first failure (default 2). */
  readonly retryLimit?: number
  /** Whole seconds before a retry (default 30). */
  readonly retryDelaySeconds?: number
  /** Doubles the delay on each retry, with jitter (default true). */
  readonly retryBackoff?: boolean
  /** A run longer than this fails (and is retried); below 24 h (default 900). */
  readonly timeoutSeconds?: number
  /** Jobs of this name run at once in this process (default 1). */
  readonly concurrency?: number
  readonly policy?: JobPolicy
  // Method syntax on purpose: it lets a JobDefinition<Specific> stand in a JobDefinition[] list.
  /** Its return value is stored as the job's output. Throwing fails the run. */
  handler(data: T, ctx: JobContext): Promise<unknown>
}

export interface EnqueueOptions {
  /** Not before this many milliseconds from now (database clock). */
  startAfterMs?: number
  /** Deduplication key; only has an effect on a definition with a non-standard `policy`. */
  singletonKey?: string
  /** Overrides the definition's retry limit for this job. */
  retryLimit?: number
}

export interface JobInfo {
  id: string
  name: string
  state: JobState
  data: unknown
  retryCount: number
  retryLimit: number
  /** The handler's return value, or the error of the last failed run. */
  output: unknown
  createdOn: Date
  startAfter: Date
  startedOn: Date | null
  completedOn: Date | null
}

export interface ScheduledJob {
  name: string
  cron: string
  timezone: string
}

export interface JobQueue {
  /** Before start() only. */
  register<T extends object>(definition: JobDefinition<T>): void
  /**
   * Stores a job of a registered name; resolves to its id, or to null when the definition's policy
   * already holds a job with that singleton key. Only after start().
   */
  enqueue<T extends object>(name: string, data: T, options?: EnqueueOptions): Promise<string | null>
  /** Creates the queue storage if needed, saves schedules and starts the workers. */
  start(): Promise<void>
  /**
   * Stops taking jobs and waits for running handlers up to the grace period; handlers still running
   * then are aborted and their jobs left to be retried. The database stays open: close it afterwards.
   */
  stop(): Promise<void>
  getJob(name: string, id: string): Promise<JobInfo | null>
  schedules(): Promise<ScheduledJob[]>
}

export function validateDefinition(definition: JobDefinition<object>): void {
  const { name, retryLimit, retryDelaySeconds, timeoutSeconds, concurrency } = definition
  if (!/^[\w.-]{1,100}$/.test(name)) throw new Error(`invalid job name ${JSON.stringify(name)}`)
  const checks: Array<[string, number | undefined, (value: number) => boolean]> = [
    ['retryLimit', retryLimit, (v) => Number.isInteger(v) && v >= 0],
    ['retryDelaySeconds', retryDelaySeconds, (v) => Number.isInteger(v) && v >= 0],
    ['timeoutSeconds', timeoutSeconds, (v) => Number.isInteger(v) && v >= 1 && v < 24 * 3600],
    ['concurrency', concurrency, (v) => Number.isInteger(v) && v >= 1],
  ]
  for (const [field, value, valid] of checks) {
    if (value !== undefined && !valid(value)) throw new Error(`job ${name}: invalid ${field} ${value}`)
  }
}

export function assertJobData(name: string, data: unknown): void {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new Error(`job ${name}: data must be a JSON object`)
  }
}

export function registerJobs(queue: JobQueue, definitions: readonly JobDefinition[]): void {
  for (const definition of definitions) queue.register(definition)
}
