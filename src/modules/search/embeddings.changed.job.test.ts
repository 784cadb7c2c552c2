import { afterEach, describe, expect, it, vi } from 'vitest'
import type { JobQueue } from '../../platform/jobs/jobs.queue.js'
import { ChangedItems, EMBED_CHANGED_BATCH, EMBED_CHANGED_DELAY_MS, EMBED_CHANGED_JOB, type EmbedChangedData } from './embeddings.changed.job.js'

function recordingQueue(fail = false) {
  const sent: EmbedChangedData[] = []
  const queue = {
    async enqueue(name: string, data: EmbedChangedData) {
      expect(name).toBe(EMBED_CHANGED_JOB)
      if (fail) throw new Error('queue down')
      sent.push(data)
      return 'id'
    },
  } as unknown as JobQueue
  return { queue, sent }
}

const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`)

afterEach(() => {
  vi.useRealTimers()
})

describe('ChangedItems', () => {
  it('turns a burst of writes into one job per source and GPT, each id once, in batches', async () => {
    vi.useFakeTimers()
    const { queue, sent } = recordingQueue()
    const changed = new ChangedItems(() => queue, { warn: () => {} })
    changed.add('objects', 'g1', ['a', 'b'])
    changed.add('objects', 'g1', ['b', 'c'])
    changed.add('messages', 'g1', ['m'])
    changed.add('objects', 'g2', ids('x', EMBED_CHANGED_BATCH + 1))
    expect(sent).toEqual([])
    await vi.advanceTimersByTimeAsync(EMBED_CHANGED_DELAY_MS)
    expect(sent).toEqual([
      { source: 'objects', gpt_id: 'g1', ids: ['a', 'b', 'c'] },
      { source: 'messages', gpt_id: 'g1', ids: ['m'] },
      { source: 'objects', gpt_id: 'g2', ids: ids('x', EMBED_CHANGED_BATCH) },
      { source: 'objects', gpt_id: 'g2', ids: [`x-${EMBED_CHANGED_BATCH}`] },
    ])
    // Later writes start a new round.
    changed.add('objects', 'g1', ['a'])
    await vi.advanceTimersByTimeAsync(EMBED_CHANGED_DELAY_MS)
    expect(sent.at(-1)).toEqual({ source: 'objects', gpt_id: 'g1', ids: ['a'] })
    expect(sent).toHaveLength(5)
  })

  it('gathers nothing without a queue, and logs (does not throw) when the queue refuses', async () => {
    // Written where no queue runs: left to the backfill, not held until a queue appears.
    const later = recordingQueue()
    let current: JobQueue | null = null
    const none = new ChangedItems(() => current, { warn: () => {} })
    none.add('objects', 'g1', ['a'])
    current = later.queue
    await none.flush()
    expect(later.sent).toEqual([])

    const warnings: object[] = []
    const { queue } = recordingQueue(true)
    const failing = new ChangedItems(() => queue, { warn: (object) => warnings.push(object) })
    failing.add('messages', 'g1', ['m'])
    await failing.flush()
    expect(warnings).toEqual([expect.objectContaining({ job: EMBED_CHANGED_JOB })])
  })
})
