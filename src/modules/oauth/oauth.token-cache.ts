import { BusCache, broadcastInvalidation } from '../../platform/events/bus-cache.js'
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
}

/**
 * Whether the grant (`sid`) and the id (`jti`) of an OAuth access token still hold (and its app's
 * request budget), remembered for a
 * short TTL so that a request does not read them every time. A revocation (of a token, a grant, a
 * whole app) drops the entries here at once and in every other process through the event bus; while
 * the bus is not live every check reads the database.
 */
export class OAuthTokenCache {
  private readonly entries: BusCache<Entry>

  constructor(
    ttlMs: number,
    private readonly bus: EventBus | null,
    private readonly log: OAuthTokenCacheLogger,
  ) {
    this.entries = new BusCache({ bus, ttlMs, maxEntries: MAX_ENTRIES })
    bus?.subscribe(CHANNEL, (message) => {
      if (typeof message.client_id === 'string') this.dropApp(message.client_id)
      if (typeof message.key === 'string') this.dropPrefix(message.key)
      if (message.all === true) this.entries.clear()
    })
  }

  /** The cached answer for a token's grant and id, or undefined when the database must be asked. */
  state(grantId: string | null, jti: string, now: number): TokenState | undefined {
    return this.entries.get(entryKey(grantId, jti), now)?.state
  }

  set(grantId: string | null, jti: string, clientId: string, state: TokenState, now: number): void {
    this.entries.set(entryKey(grantId, jti), { clientId, state }, now)
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

  /** Forgets every token (an account was deleted: all its GPTs' apps stop at once), everywhere. */
  async forgetAll(): Promise<void> {
    this.entries.clear()
    await this.broadcast({ all: true })
  }

  private async forgetKey(prefix: string): Promise<void> {
    this.dropPrefix(prefix)
    await this.broadcast({ key: prefix })
  }

  private broadcast(message: Record<string, string | boolean>): Promise<void> {
    return broadcastInvalidation(this.bus, CHANNEL, message, this.log, 'an OAuth token')
  }

  private dropApp(clientId: string): void {
    this.entries.deleteWhere((entry) => entry.clientId === clientId)
  }

  private dropPrefix(part: string): void {
    this.entries.deleteWhere((_entry, key) => key.split('|').includes(part))
  }
}

function entryKey(grantId: string | null, jti: string): string {
  return grantId === null ? `jti:${jti}` : `sid:${grantId}|jti:${jti}`
}
