import type { EventBus } from '../../platform/events/event-bus.js'
import type { AuthKeyRow as KeyRow } from './keys.repo.js'

const CHANNEL = 'keys.invalidate'
const MAX_ENTRIES = 10_000
/** Unknown ids have their own, smaller room: a flood of made-up ids must not evict real keys. */
const MAX_UNKNOWN = 5_000

export interface KeyCacheLogger {
  warn(object: object, message: string): void
}

/**
 * Recently looked-up keys, so that a request does not pay a database round trip for its key: found
 * rows (revoked ones too) and ids that do not exist, so that both answer from memory alike. A
 * revocation or a GPT's deletion drops the entries here at once and in every other process through
 * the event bus; the TTL bounds how stale an entry can be should a message be lost.
 */
export class KeyCache {
  private readonly entries = new Map<string, { row: KeyRow; at: number }>()
  private readonly unknown = new Map<string, number>()
  private unsubscribe: (() => void) | null = null

  constructor(
    private readonly ttlMs: number,
    private readonly bus: EventBus | null,
    private readonly log: KeyCacheLogger,
  ) {
    this.unsubscribe =
      bus?.subscribe(CHANNEL, (message) => {
        if (typeof message.key_id === 'string') this.entries.delete(message.key_id)
        if (typeof message.gpt_id === 'string') this.dropWhere((row) => row.gpt_id === message.gpt_id)
        if (typeof message.agent_id === 'string') this.dropWhere((row) => row.agent_id === message.agent_id)
      }) ?? null
  }

  /** The cached row, null for an id known not to exist, undefined when the database must be asked. */
  get(keyId: string, now: number): KeyRow | null | undefined {
    // While the bus is not live this process would miss revocations: every check reads the database.
    if (this.bus && !this.bus.live) {
      this.entries.clear()
      return undefined
    }
    const entry = this.entries.get(keyId)
    if (entry) {
      if (now - entry.at < this.ttlMs) return entry.row
      this.entries.delete(keyId)
    }
    const missingAt = this.unknown.get(keyId)
    if (missingAt !== undefined) {
      if (now - missingAt < this.ttlMs) return null
      this.unknown.delete(keyId)
    }
    return undefined
  }

  /**
   * Records what the database said. An id that does not exist stays unknown until its entry expires:
   * ids are random UUIDv7s made at creation, so none is asked for before its key exists.
   */
  set(keyId: string, row: KeyRow | null, now: number): void {
    if (this.ttlMs <= 0 || (this.bus && !this.bus.live)) return
    const map: Map<string, unknown> = row ? this.entries : this.unknown
    if (map.size >= (row ? MAX_ENTRIES : MAX_UNKNOWN) && !map.has(keyId)) map.delete(map.keys().next().value!)
    if (row) this.entries.set(keyId, { row, at: now })
    else this.unknown.set(keyId, now)
  }

  /** Records a last_used_at write so that the cached row does not ask for it again. */
  markUsed(keyId: string, usedAt: Date): void {
    const entry = this.entries.get(keyId)
    if (entry) entry.row = { ...entry.row, last_used_at: usedAt }
  }

  async forgetKey(keyId: string): Promise<void> {
    this.entries.delete(keyId)
    await this.broadcast({ key_id: keyId })
  }

  async forgetGpt(gptId: string): Promise<void> {
    this.dropWhere((row) => row.gpt_id === gptId)
    await this.broadcast({ gpt_id: gptId })
  }

  /** The keys bound to a deleted agent went with it. */
  async forgetAgent(agentId: string): Promise<void> {
    this.dropWhere((row) => row.agent_id === agentId)
    await this.broadcast({ agent_id: agentId })
  }

  close(): void {
    this.unsubscribe?.()
    this.entries.clear()
    this.unknown.clear()
  }

  private dropWhere(matches: (row: KeyRow) => boolean): void {
    for (const [id, entry] of this.entries) if (matches(entry.row)) this.entries.delete(id)
  }

  private async broadcast(message: Record<string, string>): Promise<void> {
    try {
      await this.bus?.publish(CHANNEL, message)
    } catch (error) {
      // Other processes then drop the entry when its TTL runs out.
      this.log.warn({ err: error }, 'could not broadcast a key invalidation')
    }
  }
}
