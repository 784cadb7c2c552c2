import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import type { AuditEvent } from '../../platform/audit/audit.js'
import type { AuditRepository, EncodedAuditRow } from './audit.repo.js'
import { AuditWriter } from './audit.writer.js'

class FakeRepo {
  batches: EncodedAuditRow[][] = []
  down = false
  async insertMany(rows: EncodedAuditRow[]): Promise<void> {
    if (this.down) throw new Error('database down')
    this.batches.push(rows)
  }
}

const event = (n: number): AuditEvent => ({
  gptId: 'g',
  accountId: null,
  principal: { kind: 'key', id: 'k' },
  action: `action-${n}`,
  targets: {},
  status: 200,
  durationMs: 1,
  requestId: null,
  ip: null,
  userAgent: null,
  request: null,
})

function writer(repo: FakeRepo, options: { batchSize: number; maxBuffer: number }) {
  const registry = new Registry()
  const errors: unknown[] = []
  const made = new AuditWriter(repo as unknown as AuditRepository, { flushMs: 600_000, registry, onError: (error) => errors.push(error), ...options })
  const metric = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0]!.value
  return { writer: made, errors, metric }
}

const actions = (repo: FakeRepo) => repo.batches.map((batch) => batch.map((row) => (JSON.parse(row) as unknown[])[5]))

describe('AuditWriter', () => {
  it('writes a full batch at once, as one insert, and the rest on flush', async () => {
    const repo = new FakeRepo()
    const { writer: w, metric } = writer(repo, { batchSize: 3, maxBuffer: 100 })
    for (let i = 0; i < 4; i++) w.record(event(i))
    expect(actions(repo)).toEqual([['action-0', 'action-1', 'action-2']])
    await w.flush()
    expect(actions(repo)).toEqual([['action-0', 'action-1', 'action-2'], ['action-3']])
    expect(await metric('agentstore_audit_rows_written_total')).toBe(4)
  })

  it('keeps rows while the database is down, drops the oldest past the bound, counts them, and writes the rest at close', async () => {
    const repo = new FakeRepo()
    repo.down = true
    const { writer: w, errors, metric } = writer(repo, { batchSize: 2, maxBuffer: 5 })
    for (let i = 0; i < 10; i++) w.record(event(i))
    await w.flush()
    expect(errors.length).toBeGreaterThan(0)
    expect(await metric('agentstore_audit_rows_dropped_total')).toBe(5)
    expect(await metric('agentstore_audit_buffered_rows')).toBe(5)
    repo.down = false
    await w.close()
    expect(actions(repo).flat()).toEqual(['action-5', 'action-6', 'action-7', 'action-8', 'action-9'])
    expect(await metric('agentstore_audit_buffered_rows')).toBe(0)
  })

  it('never throws into the caller when a write fails', async () => {
    const repo = new FakeRepo()
    repo.down = true
    const { writer: w, metric } = writer(repo, { batchSize: 1, maxBuffer: 10 })
    expect(() => w.record(event(1))).not.toThrow()
    await expect(w.close()).resolves.toBeUndefined()
    expect(await metric('agentstore_audit_write_failures_total')).toBeGreaterThan(0)
  })

  it('stores each row with the time it was recorded, not the time it was encoded or written, and counts unencoded rows as buffered', async () => {
    const repo = new FakeRepo()
    const { writer: w, metric } = writer(repo, { batchSize: 500, maxBuffer: 1000 })
    const before = Date.now()
    w.record(event(1))
    const after = Date.now()
    expect(await metric('agentstore_audit_buffered_rows')).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 20))
    await w.flush()
    const [row] = repo.batches.flat().map((text) => JSON.parse(text) as unknown[])
    expect(row![13]).toBeGreaterThanOrEqual(before)
    expect(row![13]).toBeLessThanOrEqual(after)
    // The id's own time may run ahead (ids of a process never go back), so only its version is checked.
    expect(row![1]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it('keeps the order of recording across encoded chunks, and ids that increase', async () => {
    const repo = new FakeRepo()
    const { writer: w } = writer(repo, { batchSize: 1000, maxBuffer: 2000 })
    for (let i = 0; i < 150; i++) w.record(event(i))
    await w.close()
    expect(actions(repo).flat()).toEqual(Array.from({ length: 150 }, (_, i) => `action-${i}`))
    const ids = repo.batches.flat().map((text) => (JSON.parse(text) as unknown[])[1] as string)
    expect([...ids].sort()).toEqual(ids)
  })
})
