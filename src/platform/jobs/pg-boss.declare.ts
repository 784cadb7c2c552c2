import type PgBoss from 'pg-boss'
import type { JobDefinition } from './jobs.queue.js'
import { retryDeadlocks } from './pool-executor.js'

export const QUEUE_DEFAULTS = { retryLimit: 2, retryDelaySeconds: 30, retryBackoff: true, timeoutSeconds: 900, concurrency: 1 }

type QueueSettings = Required<Pick<PgBoss.Queue, 'name' | 'policy' | 'retryLimit' | 'retryDelay' | 'retryBackoff' | 'expireInSeconds'>>

function queueOf(definition: JobDefinition<object>): QueueSettings {
  return {
    name: definition.name,
    policy: definition.policy ?? 'standard',
    retryLimit: definition.retryLimit ?? QUEUE_DEFAULTS.retryLimit,
    retryDelay: definition.retryDelaySeconds ?? QUEUE_DEFAULTS.retryDelaySeconds,
    retryBackoff: definition.retryBackoff ?? QUEUE_DEFAULTS.retryBackoff,
    expireInSeconds: definition.timeoutSeconds ?? QUEUE_DEFAULTS.timeoutSeconds,
  }
}

/** JSON with its object members sorted: jsonb keeps its own key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (typeof value !== 'object' || value === null) return JSON.stringify(value)
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonical(member)}`).join(',')}}`
}

interface StoredSchedule {
  name: string
  cron: string
  timezone: string
  data: unknown
  options: unknown
}

/**
 * Creates or updates each definition's queue and schedule, so that changed settings apply on the
 * next start. What the database already holds as declared is left alone: a warm start reads two
 * tables instead of writing three or four rows per job (a quarter second of each embedded start).
 */
export async function declareQueues(boss: PgBoss, definitions: Iterable<JobDefinition<object>>): Promise<void> {
  const queues = new Map((await boss.getQueues()).map((queue) => [queue.name, queue]))
  const schedules = new Map(((await boss.getSchedules()) as unknown as StoredSchedule[]).map((schedule) => [schedule.name, schedule]))
  for (const definition of definitions) {
    const wanted = queueOf(definition)
    const stored = queues.get(definition.name)
    const same = stored !== undefined && (Object.keys(wanted) as (keyof QueueSettings)[]).every((key) => stored[key] === wanted[key])
    const data = definition.scheduleData ?? {}
    const options = { tz: 'UTC' }
    const schedule = schedules.get(definition.name)
    await retryDeadlocks(async () => {
      if (!stored) await boss.createQueue(definition.name, wanted)
      else if (!same) await boss.updateQueue(definition.name, wanted)
      if (definition.schedule) {
        const current =
          schedule !== undefined &&
          schedule.cron === definition.schedule &&
          schedule.timezone === 'UTC' &&
          canonical(schedule.data) === canonical(data) &&
          canonical(schedule.options) === canonical(options)
        if (!current) await boss.schedule(definition.name, definition.schedule, data, options)
      } else if (schedule) {
        // A schedule dropped from the code must not keep firing from the database.
        await boss.unschedule(definition.name)
      }
    })
  }
}
