import type { EventBus } from '../../platform/events/event-bus.js'
import type { AccountKeyRow } from './accounts.repo.js'

const CHANNEL = 'accounts.invalidate'
const MAX_ENTRIES = 10_000

export interface AccountAuthCacheLogger {
  warn(object: object, message: string): void
}

interface Entry<T> {
  accountId: string | null
  value: T
  at: number
}

/**
 * Recently checked account keys and login sessions, so that a request does not read them every time.
 * A change of an account (key rotated, password changed, session ended, account deleted or restored)
 * drops its entries here at once and in every other process through the event bus, like the GPT key
 * cache; the TTL bounds how stale an entry can be should a message be lost.
 */
export class AccountAuthCache {
  private readonly keys = new Map<string, Entry<AccountKeyRow | null>>()
  private readonly sessions = new Map<string, Entry<boolean>>()

  constructor(
    private readonly ttlMs: number,
    private readonly bus: EventBus | null,
    private readonly log: AccountAuthCacheLogger,
  ) {
    bus?.subscribe(CHANNEL, (message) => {
      if (typeof message.account_id === 'string') this.drop(message.account_id)
    })
  }

  /** The cached key row (null: known not to exist), or undefined when the database must be asked. */
  key(keyId: string, now: number): AccountKeyRow | null | undefined {
    return this.read(this.keys, keyId, now)
  }

  setKey(keyId: string, row: AccountKeyRow | null, now: number): void {
    this.write(this.keys, keyId, { accountId: row?.account_id ?? null, value: row, at: now })
  }

  sessionLive(accountId: string, sessionId: string, now: number): boolean | undefined {
    return this.read(this.sessions, `${accountId}/${sessionId}`, now)
  }

  setSession(accountId: string, sessionId: string, live: boolean, now: number): void {
    this.write(this.sessions, `${accountId}/${sessionId}`, { accountId, value: live, at: now })
  }

  /** Forgets everything about the account, here and in every other process. */
  async forgetAccount(accountId: string): Promise<void> {
    this.drop(accountId)
    try {
      await this.bus?.publish(CHANNEL, { account_id: accountId })
    } catch (error) {
      // Other processes then drop their entries when the TTL runs out.
      this.log.warn({ err: error }, 'could not broadcast an account invalidation')
    }
  }

  private read<T>(map: Map<string, Entry<T>>, id: string, now: number): T | undefined {
    // While the bus is not live this process would miss invalidations: every check reads the database.
    if (this.bus && !this.bus.live) {
      map.clear()
      return undefined
    }
    const entry = map.get(id)
    if (!entry) return undefined
    if (now - entry.at < this.ttlMs) return entry.value
    map.delete(id)
    return undefined
  }

  private write<T>(map: Map<string, Entry<T>>, id: string, entry: Entry<T>): void {
    if (this.ttlMs <= 0 || (this.bus && !this.bus.live)) return
    if (map.size >= MAX_ENTRIES && !map.has(id)) map.delete(map.keys().next().value!)
    map.set(id, entry)
  }

  private drop(accountId: string): void {
    for (const map of [this.keys, this.sessions] as Map<string, Entry<unknown>>[]) {
      for (const [id, entry] of map) if (entry.accountId === accountId) map.delete(id)
    }
  }
}
