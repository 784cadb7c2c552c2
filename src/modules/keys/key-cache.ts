import type { EventBus } from '../../platform/events/event-bus.js'
import type { KeyRow } from './keys.repo.js'

const CHANNEL = 'keys.invalidate'
const MAX_ENTRIES = 10_000

export interface KeyCacheLogger {
  warn(object: object, message: string): void
}

/**
 * Recently used key rows, so that a request does not pay a database round trip for its key. A
 * revocation or a GPT's deletion drops the entries here at once and in every other process through
 * the event bus; the TTL bounds how stale an entry can be should a message be lost.
 */
export class KeyCache {
  private readonly entries = new Map<string, { row: KeyRow; at: number }>()
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

  get(keyId: string, now: number): KeyRow | null {
    const entry = this.entries.get(keyId)
    if (!entry) return null
    if (now - entry.at >= this.ttlMs) {
      this.entries.delete(keyId)
      return null
    }
    return entry.row
  }

  set(row: KeyRow, now: number): void {
    if (this.ttlMs <= 0) return
    if (this.entries.size >= MAX_ENTRIES && !this.entries.has(row.id)) {
      this.entries.delete(this.entries.keys().next().value!)
    }
    this.entries.set(row.id, { row, at: now })
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
