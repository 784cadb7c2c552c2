import { BusCache, broadcastInvalidation } from '../../platform/events/bus-cache.js'
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
}

/**
 * Recently checked account keys and login sessions, so that a request does not read them every time.
 * A change of an account (key rotated, password changed, session ended, account deleted or restored)
 * drops its entries here at once and in every other process through the event bus, like the GPT key
 * cache; the TTL bounds how stale an entry can be should a message be lost.
 */
export class AccountAuthCache {
  private readonly keys: BusCache<Entry<AccountKeyRow | null>>
  private readonly sessions: BusCache<Entry<boolean>>

  constructor(
    ttlMs: number,
    private readonly bus: EventBus | null,
    private readonly log: AccountAuthCacheLogger,
  ) {
    this.keys = new BusCache({ bus, ttlMs, maxEntries: MAX_ENTRIES })
    this.sessions = new BusCache({ bus, ttlMs, maxEntries: MAX_ENTRIES })
    bus?.subscribe(CHANNEL, (message) => {
      if (typeof message.account_id === 'string') this.drop(message.account_id)
    })
  }

  /** The cached key row (null: known not to exist), or undefined when the database must be asked. */
  key(keyId: string, now: number): AccountKeyRow | null | undefined {
    return this.keys.get(keyId, now)?.value
  }

  setKey(keyId: string, row: AccountKeyRow | null, now: number): void {
    this.keys.set(keyId, { accountId: row?.account_id ?? null, value: row }, now)
  }

  sessionLive(accountId: string, sessionId: string, now: number): boolean | undefined {
    return this.sessions.get(`${accountId}/${sessionId}`, now)?.value
  }

  setSession(accountId: string, sessionId: string, live: boolean, now: number): void {
    this.sessions.set(`${accountId}/${sessionId}`, { accountId, value: live }, now)
  }

  /** Forgets everything about the account, here and in every other process. */
  async forgetAccount(accountId: string): Promise<void> {
    this.drop(accountId)
    await broadcastInvalidation(this.bus, CHANNEL, { account_id: accountId }, this.log, 'an account')
  }

  private drop(accountId: string): void {
    for (const cache of [this.keys, this.sessions] as BusCache<Entry<unknown>>[]) cache.deleteWhere((entry) => entry.accountId === accountId)
  }
}
