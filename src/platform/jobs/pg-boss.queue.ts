import type pg from 'pg'
import PgBoss from 'pg-boss'
import { declareQueues, QUEUE_DEFAULTS } from './pg-boss.declare.js'
import { PoolExecutor } from './pool-executor.js'
import {
  assertJobData,
  silentJobLogger,
  validateDefinition,
  type EnqueueOptions,
  type JobContext,
  type JobDefinition,
  type JobInfo,
  type JobLogger,
  type JobQueue,
  type JobState,
  type ScheduledJob,
} from './jobs.queue.js'

export interface PgBossJobQueueOptions {
  /** The service's database: pg-boss keeps its tables in their own schema there. */
  database: { readonly pool: pg.Pool }
  logger?: JobLogger
  /** How often an idle worker looks for jobs other processes enqueued (default 2). Local enqueues wake it at once. */
  pollingIntervalSeconds?: number
  /** How often schedules are checked, 1–45 (default 30). */
  cronMonitorIntervalSeconds?: number
  /** How often due schedules are turned into jobs, 1–45 (default 5). */
  cronWorkerIntervalSeconds?: number
  /** How often stuck jobs are expired and old ones archived (default 120). */
  maintenanceIntervalSeconds?: number
  /** How long stop() waits for running handlers (default 30 000). */
  stopTimeoutMs?: number
  /** Default `pgboss`. */
  schema?: string
}


interface RunningJob {
  readonly name: string
  readonly controller: AbortController
  abandoned: boolean
}

type QueueState = 'idle' | 'starting' | 'started' | 'stopping' | 'stopped'

/**
 * JobQueue on pg-boss 10. pg-boss stores jobs, retries, schedules (one run per slot across replicas)
 * and maintenance; the workers are our own loops over fetch/complete/fail rather than `boss.work()`,
 * because work() does not await a job's completion (a failed write becomes an unhandled rejection)
 * and its stop() cannot abort a handler that outlives the grace period.
 */
export class PgBossJobQueue implements JobQueue {
  private readonly boss: PgBoss
  private readonly executor: PoolExecutor
  private readonly logger: JobLogger
  private readonly pollMs: number
  private readonly stopTimeoutMs: number
  private readonly definitions = new Map<string, JobDefinition<object>>()
  private readonly sleepers = new Map<string, Set<() => void>>()
  private readonly running = new Map<string, RunningJob>()
  private readonly loops: Promise<void>[] = []
  private state: QueueState = 'idle'
  private starting: Promise<void> | null = null
  private stopping: Promise<void> | null = null

  constructor(options: PgBossJobQueueOptions) {
    this.logger = options.logger ?? silentJobLogger
    this.pollMs = (options.pollingIntervalSeconds ?? 2) * 1000
    this.stopTimeoutMs = options.stopTimeoutMs ?? 30_000
    this.executor = new PoolExecutor(options.database.pool)
    this.boss = new PgBoss({
      db: this.executor,
      schema: options.schema ?? 'pgboss',
      cronMonitorIntervalSeconds: options.cronMonitorIntervalSeconds ?? 30,
      cronWorkerIntervalSeconds: options.cronWorkerIntervalSeconds ?? 5,
      maintenanceIntervalSeconds: options.maintenanceIntervalSeconds ?? 120,
    })
    // An EventEmitter 'error' without a listener would throw and end the process.
    this.boss.on('error', (error) => this.logger.error({ err: error }, 'job queue error'))
  }

  register<T extends object>(definition: JobDefinition<T>): void {
    if (this.state !== 'idle') throw new Error('register jobs before starting the queue')
    validateDefinition(definition)
    if (this.definitions.has(definition.name)) throw new Error(`job ${definition.name} is registered twice`)
    this.definitions.set(definition.name, definition)
    this.sleepers.set(definition.name, new Set())
  }

  start(): Promise<void> {
    if (this.state === 'idle') {
      this.state = 'starting'
      this.starting = this.doStart()
    }
    if (this.state === 'stopping' || this.state === 'stopped') return Promise.reject(new Error('the job queue was stopped'))
    return this.starting ?? Promise.resolve()
  }

  private async doStart(): Promise<void> {
    try {
      await this.boss.start()
      await declareQueues(this.boss, this.definitions.values())
    } catch (error) {
      this.state = 'stopped'
      await this.boss.stop({ graceful: false }).catch(() => {})
      throw error
    }
    this.state = 'started'
    for (const definition of this.definitions.values()) {
      for (let i = 0; i < (definition.concurrency ?? QUEUE_DEFAULTS.concurrency); i++) this.loops.push(this.work(definition))
    }
  }

  /**
   * The service starts the queue after it listens (pg-boss's start is not needed to answer); a
   * request in that window waits for the start instead of failing. A failed start fails it too.
   */
  private async untilStarted(): Promise<void> {
    if (this.state === 'starting') await this.starting
  }

  async enqueue<T extends object>(name: string, data: T, options: EnqueueOptions = {}): Promise<string | null> {
    await this.untilStarted()
    if (this.state !== 'started' && this.state !== 'stopping') throw new Error('the job queue is not running')
    if (!this.definitions.has(name)) throw new Error(`no job is registered as ${name}`)
    assertJobData(name, data)
    const sendOptions: PgBoss.SendOptions = {}
    // A number is read by pg-boss as seconds after the database's now(), which avoids clock skew.
    if (options.startAfterMs !== undefined && options.startAfterMs > 0) sendOptions.startAfter = options.startAfterMs / 1000
    if (options.singletonKey !== undefined) sendOptions.singletonKey = options.singletonKey
    if (options.retryLimit !== undefined) sendOptions.retryLimit = options.retryLimit
    const id = await this.boss.send(name, data, sendOptions)
    if (id !== null && sendOptions.startAfter === undefined) this.wake(name)
    return id
  }

  async getJob(name: string, id: string): Promise<JobInfo | null> {
    await this.untilStarted()
    if (this.state === 'stopped') throw new Error('the job queue is stopped')
    const job = await this.boss.getJobById<unknown>(name, id, { includeArchive: true })
    if (!job) return null
    return {
      id: job.id,
      name: job.name,
      state: job.state as JobState,
      data: job.data,
      retryCount: job.retryCount,
      retryLimit: job.retryLimit,
      output: job.output ?? null,
      createdOn: job.createdOn,
      startAfter: job.startAfter,
      startedOn: job.startedOn ?? null,
      completedOn: job.completedOn ?? null,
    }
  }

  async schedules(): Promise<ScheduledJob[]> {
    await this.untilStarted()
    // The rows carry `timezone`, which pg-boss's typings leave out.
    const rows = (await this.boss.getSchedules()) as Array<PgBoss.Schedule & { timezone?: string }>
    return rows.map((row) => ({ name: row.name, cron: row.cron, timezone: row.timezone ?? 'UTC' }))
  }

  /** Runs pg-boss maintenance now (expire stuck jobs, archive and drop old ones); it also runs on its own. */
  async maintain(): Promise<void> {
    await this.boss.maintain()
  }

  stop(): Promise<void> {
    if (this.stopping) return this.stopping
    if (this.state === 'idle') {
      this.state = 'stopped'
      return Promise.resolve()
    }
    this.stopping = this.doStop()
    return this.stopping
  }

  private async doStop(): Promise<void> {
    await this.starting?.catch(() => {})
    this.state = 'stopping'
    for (const sleepers of this.sleepers.values()) for (const wake of [...sleepers]) wake()
    let timer: NodeJS.Timeout | undefined
    const graceOver = await Promise.race([
      Promise.allSettled(this.loops).then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.stopTimeoutMs))),
    ])
    clearTimeout(timer)
    if (graceOver) await this.abandonRunning()
    await this.boss.stop({ graceful: true, timeout: 1000 })
    await this.executor.close()
    this.state = 'stopped'
  }

  /** Past the grace period: tells handlers to stop and fails their jobs now, so another start retries them. */
  private async abandonRunning(): Promise<void> {
    for (const [id, job] of this.running) {
      job.abandoned = true
      const reason = new Error('the job queue stopped while the job was running')
      job.controller.abort(reason)
      this.logger.warn({ job: job.name, id }, 'job abandoned at shutdown')
      await this.record(job.name, id, () => this.boss.fail(job.name, id, reason))
    }
  }

  private wake(name: string): void {
    for (const wake of [...(this.sleepers.get(name) ?? [])]) wake()
  }

  private idle(name: string): Promise<void> {
    // stop() wakes the sleepers it finds; a loop that goes to sleep after that must not delay it.
    if (this.state !== 'started') return Promise.resolve()
    const sleepers = this.sleepers.get(name)!
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        sleepers.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, this.pollMs)
      sleepers.add(wake)
    })
  }

  private async work(definition: JobDefinition<object>): Promise<void> {
    // The first look waits one polling interval (an enqueue here wakes it at once): the service starts
    // the queue just after it listens, and one fetch per worker at once, queued on PGlite's single
    // connection, held its first answers (/ready's among them) 0.6–0.9 s on a warm start.
    await this.idle(definition.name)
    while (this.state === 'started') {
      try {
        // pg-boss's fetch answers [] on database errors, so an outage only slows the loop down.
        const [job] = await this.boss.fetch<object>(definition.name, { includeMetadata: true, batchSize: 1 })
        // A job fetched while stop() began is already active in the database: run it rather than strand it.
        if (job) await this.run(definition, job)
        else await this.idle(definition.name)
      } catch (error) {
        this.logger.error({ err: error, job: definition.name }, 'job worker error')
        await this.idle(definition.name)
      }
    }
  }

  private async run(definition: JobDefinition<object>, job: PgBoss.JobWithMetadata<object>): Promise<void> {
    const controller = new AbortController()
    const entry: RunningJob = { name: definition.name, controller, abandoned: false }
    this.running.set(job.id, entry)
    const timeoutMs = (definition.timeoutSeconds ?? QUEUE_DEFAULTS.timeoutSeconds) * 1000
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`job ${definition.name} timed out after ${timeoutMs} ms`)
        controller.abort(error)
        reject(error)
      }, timeoutMs)
    })
    const ctx: JobContext = { id: job.id, name: definition.name, retryCount: job.retryCount, signal: controller.signal, logger: this.logger }
    const handled = Promise.resolve().then(() => definition.handler(job.data, ctx))
    // After a timeout or abandonment nobody awaits the handler; its late failure must not crash the process.
    handled.catch(() => {})
    try {
      const output = await Promise.race([handled, timedOut])
      if (entry.abandoned) return
      await this.record(definition.name, job.id, () =>
        output === undefined || output === null
          ? this.boss.complete(definition.name, job.id)
          : this.boss.complete(definition.name, job.id, typeof output === 'object' && !Array.isArray(output) ? output : { value: output }),
      )
    } catch (caught) {
      if (entry.abandoned) return
      const error = caught instanceof Error ? caught : new Error(String(caught))
      this.logger.warn({ err: error, job: definition.name, id: job.id, retryCount: job.retryCount }, 'job failed')
      await this.record(definition.name, job.id, () => this.boss.fail(definition.name, job.id, error))
    } finally {
      clearTimeout(timer)
      this.running.delete(job.id)
    }
  }

  /** A result that cannot be written leaves the job active; pg-boss expires and retries it later. */
  private async record(name: string, id: string, write: () => Promise<unknown>): Promise<void> {
    try {
      await write()
    } catch (error) {
      this.logger.error({ err: error, job: name, id }, 'could not record the job result')
    }
  }
}
