import { BusCache, broadcastInvalidation } from '../../platform/events/bus-cache.js'
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
  private readonly entries: BusCache<KeyRow>
  /** Ids known not to exist. */
  private readonly unknown: BusCache<null>
  private unsubscribe: (() => void) | null = null

  constructor(
    ttlMs: number,
    private readonly bus: EventBus | null,
    private readonly log: KeyCacheLogger,
  ) {
    this.entries = new BusCache({ bus, ttlMs, maxEntries: MAX_ENTRIES })
    this.unknown = new BusCache({ bus, ttlMs, maxEntries: MAX_UNKNOWN })
    this.unsubscribe =
      bus?.subscribe(CHANNEL, (message) => {
        if (typeof message.key_id === 'string') this.entries.delete(message.key_id)
        if (typeof message.gpt_id === 'string') this.entries.deleteWhere((row) => row.gpt_id === message.gpt_id)
        if (typeof message.agent_id === 'string') this.entries.deleteWhere((row) => row.agent_id === message.agent_id)
      }) ?? null
  }

  /** The cached row, null for an id known not to exist, undefined when the database must be asked. */
  get(keyId: string, now: number): KeyRow | null | undefined {
    return this.entries.get(keyId, now) ?? this.unknown.get(keyId, now)
  }

  /**
   * Records what the database said. An id that does not exist stays unknown until its entry expires:
   * ids are random UUIDv7s made at creation, so none is asked for before its key exists.
   */
  set(keyId: string, row: KeyRow | null, now: number): void {
    if (row) this.entries.set(keyId, row, now)
    else this.unknown.set(keyId, null, now)
  }

  /** Records a last_used_at write so that the cached row does not ask for it again. */
  markUsed(keyId: string, usedAt: Date): void {
    this.entries.update(keyId, (row) => ({ ...row, last_used_at: usedAt }))
  }

  async forgetKey(keyId: string): Promise<void> {
    this.entries.delete(keyId)
    await this.broadcast({ key_id: keyId })
  }

  async forgetGpt(gptId: string): Promise<void> {
    this.entries.deleteWhere((row) => row.gpt_id === gptId)
    await this.broadcast({ gpt_id: gptId })
  }

  /** The keys bound to a deleted agent went with it. */
  async forgetAgent(agentId: string): Promise<void> {
    this.entries.deleteWhere((row) => row.agent_id === agentId)
    await this.broadcast({ agent_id: agentId })
  }

  close(): void {
    this.unsubscribe?.()
    this.entries.clear()
    this.unknown.clear()
  }

  private broadcast(message: Record<string, string>): Promise<void> {
    return broadcastInvalidation(this.bus, CHANNEL, message, this.log, 'a key')
  }
}
