import type { JobQueue } from '../../platform/jobs/jobs.queue.js'

export const EXTRACTION_RUN_JOB = 'extraction.run'

export interface ExtractionJobData {
  gpt_id: string
  run_id: string
}

/** How a queued run reaches a worker: the job queue when the process has one, else this process. */
export interface RunDispatcher {
  dispatch(gptId: string, runId: string, delayMs?: number): Promise<void>
  /** Resolves once nothing dispatched without delay is running in this process. */
  idle(): Promise<void>
  close(): Promise<void>
}

/** At most `limit` holders at once; the others wait in arrival order (the queue that spares the provider). */
export class Semaphore {
  private active = 0
  private readonly waiting: (() => void)[] = []

  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.active++
    try {
      return await work()
    } finally {
      this.active--
      this.waiting.shift()?.()
    }
  }
}

/** Through the job queue: at least once, across processes; a delayed run waits in the queue. */
export function queueDispatcher(queue: JobQueue): RunDispatcher {
  return {
    async dispatch(gptId, runId, delayMs) {
      await queue.enqueue<ExtractionJobData>(EXTRACTION_RUN_JOB, { gpt_id: gptId, run_id: runId }, delayMs ? { startAfterMs: delayMs } : {})
    },
    async idle() {},
    async close() {},
  }
}

/**
 * In this process, for a service without a job queue (JOBS=off, tests): runs start at once, or after
 * their delay on an unref'd timer, and close() waits for those running. A run lost with the process is
 * taken up again by the next request for its session's GPT or by the sweep of a process with jobs.
 */
export function localDispatcher(execute: (gptId: string, runId: string) => Promise<void>): RunDispatcher {
  const running = new Set<Promise<void>>()
  const timers = new Set<NodeJS.Timeout>()
  let closed = false
  const start = (gptId: string, runId: string) => {
    if (closed) return
    const work = execute(gptId, runId).finally(() => running.delete(work))
    running.add(work)
  }
  const idle = async () => {
    // setImmediate dispatches of this tick start before the wait; a run may dispatch a follow-up.
    do {
      await new Promise((resolve) => setImmediate(resolve))
      await Promise.allSettled([...running])
    } while (running.size > 0)
  }
  return {
    async dispatch(gptId, runId, delayMs) {
      if (!delayMs) return void setImmediate(() => start(gptId, runId))
      const timer = setTimeout(() => {
        timers.delete(timer)
        start(gptId, runId)
      }, delayMs)
      timer.unref()
      timers.add(timer)
    },
    idle,
    async close() {
      closed = true
      for (const timer of timers) clearTimeout(timer)
      await idle()
    },
  }
}
