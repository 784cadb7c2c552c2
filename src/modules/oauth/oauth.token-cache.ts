import type { EventBus } from '../../platform/events/event-bus.js'
import type { TokenState } from './oauth.repo.js'

const CHANNEL = 'oauth.invalidate'
const MAX_ENTRIES = 10_000

export interface OAuthTokenCacheLogger {
  warn(object: object, message: string): void
}

interface Entry {
  clientId: string
  state: TokenState
  at: number
}

/**
 * Whether the grant (`sid`) and the id (`jti`) of an OAuth access token still hold (and its app's
 * request budget), remembered for a
 * short TTL so that a request does not read them every time. A revocation (of a token, a grant, a
 * whole app) drops the entries here at once and in every other process through the event bus; while
 * the bus is not live every check reads the database.
 */
export class OAuthTokenCache {
  private readonly entries = new Map<string, Entry>()

  constructor(
    private readonly ttlMs: number,
    private readonly bus: EventBus | null,
    private readonly log: OAuthTokenCacheLogger,
  ) {
    bus?.subscribe(CHANNEL, (message) => {
      if (typeof message.client_id === 'string') this.dropApp(message.client_id)
      if (typeof message.key === 'string') this.dropPrefix(message.key)
    })
  }

  /** The cached answer for a token's grant and id, or undefined when the database must be asked. */
  state(grantId: string | null, jti: string, now: number): TokenState | undefined {
    if (this.bus && !this.bus.live) {
      this.entries.clear()
      return undefined
    }
    const key = entryKey(grantId, jti)
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (now - entry.at < this.ttlMs) return entry.state
    this.entries.delete(key)
    return undefined
  }

  set(grantId: string | null, jti: string, clientId: string, state: TokenState, now: number): void {
    if (this.ttlMs <= 0 || (this.bus && !this.bus.live)) return
    const key = entryKey(grantId, jti)
    if (this.entries.size >= MAX_ENTRIES && !this.entries.has(key)) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(key, { clientId, state, at: now })
  }

  async forgetToken(jti: string): Promise<void> {
    await this.forgetKey(`jti:${jti}`)
  }

  async forgetGrant(grantId: string): Promise<void> {
    await this.forgetKey(`sid:${grantId}`)
  }

  /** Forgets every token of an app (by its client_id), here and in every other process. */
  async forgetApp(clientId: string): Promise<void> {
    this.dropApp(clientId)
    await this.broadcast({ client_id: clientId })
  }

  private async forgetKey(prefix: string): Promise<void> {
    this.dropPrefix(prefix)
    await this.broadcast({ key: prefix })
  }

  private async broadcast(message: Record<string, string>): Promise<void> {
    try {
      await this.bus?.publish(CHANNEL, message)
    } catch (error) {
      // Other processes then drop their entries when the TTL runs out.
      this.log.warn({ err: error }, 'could not broadcast an OAuth token invalidation')
    }
  }

  private dropApp(clientId: string): void {
    for (const [key, entry] of this.entries) if (entry.clientId === clientId) this.entries.delete(key)
  }

  private dropPrefix(part: string): void {
    for (const key of this.entries.keys()) if (key.split('|').includes(part)) this.entries.delete(key)
  }
}

function entryKey(grantId: string | null, jti: string): string {
  return grantId === null ? `jti:${jti}` : `sid:${grantId}|jti:${jti}`
}
