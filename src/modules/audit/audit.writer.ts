import { Counter, Gauge, type Registry } from 'prom-client'
import type { AuditEvent, AuditSink } from '../../platform/audit/audit.js'
import { uuidv7 } from '../../platform/uuidv7-pool.js'
import { encodeAuditRow, type AuditRepository, type EncodedAuditRow } from './audit.repo.js'

export interface AuditWriterOptions {
  /** How long a row may wait in memory before its batch is written. */
  flushMs: number
  /** Rows per INSERT; a full batch is written at once. */
  batchSize: number
  /** Most rows held in memory while the database does not take them; past it the oldest are dropped. */
  maxBuffer: number
  registry: Registry
  onError: (error: unknown) => void
}

/**
 * Events wait as objects until this many have come, then are encoded together: one short loop that
 * runs warm instead of the encoder cold on every request, and gone before a young-generation
 * collection would have to copy them (a chunk fills in about 10 ms at 6,000 requests per second).
 */
const ENCODE_CHUNK = 64

/**
 * Buffers audit rows in memory and writes them in batches, off the request path: every `flushMs`, or
 * at once when a batch is full. While the database refuses them the buffer is bounded (the oldest rows
 * are dropped and counted); close() writes what is left.
 */
export class AuditWriter implements AuditSink {
  private buffer: EncodedAuditRow[] = []
  private pending: AuditEvent[] = []
  /** When each pending event was recorded (epoch ms): its row's time and id. */
  private pendingAt: number[] = []
  private timer: NodeJS.Timeout | null = null
  private writing: Promise<void> | null = null
  /** The last write failed: wait for the timer rather than retry on every new row. */
  private failing = false
  private readonly written: Counter
  private readonly dropped: Counter
  private readonly failures: Counter

  constructor(
    private readonly repo: AuditRepository,
    private readonly options: AuditWriterOptions,
  ) {
    const registers = [options.registry]
    this.written = new Counter({ name: 'agentstore_audit_rows_written_total', help: 'Audit rows stored.', registers })
    this.dropped = new Counter({ name: 'agentstore_audit_rows_dropped_total', help: 'Audit rows dropped because the buffer was full (the database refused them for too long).', registers })
    this.failures = new Counter({ name: 'agentstore_audit_write_failures_total', help: 'Batch writes of audit rows that failed (the rows stay buffered).', registers })
    const writer = this
    new Gauge({
      name: 'agentstore_audit_buffered_rows',
      help: 'Audit rows waiting in memory to be written.',
      registers,
      collect() {
        this.set(writer.size)
      },
    })
  }

  record(event: AuditEvent): void {
    this.pending.push(event)
    this.pendingAt.push(Date.now())
    if (this.pending.length >= ENCODE_CHUNK) this.encodePending()
    if (this.size >= this.options.batchSize && !this.failing && this.writing === null) void this.flush()
    else this.schedule()
  }

  /** Writes every buffered row (one flush at a time); a failure keeps them buffered and is reported, never thrown. */
  async flush(): Promise<void> {
    while (this.writing !== null) await this.writing
    this.encodePending()
    if (this.buffer.length === 0) return
    this.writing = this.writeAll().finally(() => {
      this.writing = null
    })
    await this.writing
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await this.flush()
  }

  private async writeAll(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.options.batchSize)
      try {
        await this.repo.insertMany(batch)
        this.written.inc(batch.length)
        this.failing = false
      } catch (error) {
        this.buffer.unshift(...batch)
        this.bound()
        this.failing = true
        this.failures.inc()
        this.options.onError(error)
        this.schedule()
        return
      }
    }
  }

  /** Rows held: encoded, and recorded but not yet encoded. */
  private get size(): number {
    return this.buffer.length + this.pending.length
  }

  private encodePending(): void {
    if (this.pending.length === 0) return
    for (let i = 0; i < this.pending.length; i++) {
      const at = this.pendingAt[i]!
      this.buffer.push(encodeAuditRow(this.pending[i]!, uuidv7(at), at))
    }
    this.pending = []
    this.pendingAt = []
    this.bound()
  }

  private bound(): void {
    const over = this.buffer.length - this.options.maxBuffer
    if (over <= 0) return
    this.buffer.splice(0, over)
    this.dropped.inc(over)
  }

  private schedule(): void {
    if (this.timer !== null || this.size === 0) return
    this.timer = setTimeout(() => {
      this.timer = null
      void this.flush()
    }, this.options.flushMs)
    // A pending batch never keeps the process alive; close() writes it.
    this.timer.unref()
  }
}
