import { sql, type Kysely } from 'kysely'
import type { Tables } from '../../platform/db/tables.js'

/** A refresh token with what its exchange must check. */
export interface RefreshTokenRow {
  account_id: string
  session_id: string
  used_at: Date | null
  /** The session is not revoked, not expired, and its account not deleted. */
  session_live: boolean
}

/** Login sessions (families of refresh tokens). */
export class AccountSessionsRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  async insertSession(session: { account_id: string; id: string; expires_at: Date }, tokenHash: Buffer): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('account_sessions').values(session).execute()
      await trx.insertInto('account_refresh_tokens').values({ token_hash: tokenHash, account_id: session.account_id, session_id: session.id }).execute()
    })
  }

  /** Whether the session of an access token still holds (one primary-key read with its account). */
  async sessionLive(accountId: string, sessionId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('account_sessions as s')
      .innerJoin('accounts as a', 'a.id', 's.account_id')
      .select(sql<boolean>`s.revoked_at is null and s.expires_at > now() and a.deleted_at is null`.as('live'))
      .where('s.account_id', '=', accountId)
      .where('s.id', '=', sessionId)
      .executeTakeFirst()
    return row?.live ?? false
  }

  async findRefreshToken(tokenHash: Buffer): Promise<RefreshTokenRow | null> {
    const row = await this.db
      .selectFrom('account_refresh_tokens as t')
      .innerJoin('account_sessions as s', (join) => join.onRef('s.account_id', '=', 't.account_id').onRef('s.id', '=', 't.session_id'))
      .innerJoin('accounts as a', 'a.id', 't.account_id')
      .select(['t.account_id', 't.session_id', 't.used_at'])
      .select(sql<boolean>`s.revoked_at is null and s.expires_at > now() and a.deleted_at is null`.as('session_live'))
      .where('t.token_hash', '=', tokenHash)
      .executeTakeFirst()
    return row ?? null
  }

  /**
   * Marks the token used and adds its successor, extending the session; false when the token was
   * used meanwhile (a concurrent exchange: the caller treats it as a reuse).
   */
  async rotate(tokenHash: Buffer, next: { account_id: string; session_id: string; token_hash: Buffer }, expiresAt: Date): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const used = await trx
        .updateTable('account_refresh_tokens')
        .set({ used_at: sql`now()` })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      if (used.numUpdatedRows === 0n) return false
      await trx.insertInto('account_refresh_tokens').values(next).execute()
      await trx
        .updateTable('account_sessions')
        .set({ expires_at: expiresAt })
        .where('account_id', '=', next.account_id)
        .where('id', '=', next.session_id)
        .execute()
      return true
    })
  }

  async revokeSession(accountId: string, sessionId: string): Promise<void> {
    await this.db
      .updateTable('account_sessions')
      .set({ revoked_at: sql`now()` })
      .where('account_id', '=', accountId)
      .where('id', '=', sessionId)
      .where('revoked_at', 'is', null)
      .execute()
  }

  /** Ends every session of the account but `keep` (null: all of them). */
  async revokeOtherSessions(accountId: string, keep: string | null): Promise<number> {
    let query = this.db.updateTable('account_sessions').set({ revoked_at: sql`now()` }).where('account_id', '=', accountId).where('revoked_at', 'is', null)
    if (keep !== null) query = query.where('id', '<>', keep)
    const result = await query.executeTakeFirst()
    return Number(result.numUpdatedRows)
  }

  /** Deletes sessions (with their refresh tokens) that ended more than a day ago. */
  async deleteEndedSessions(): Promise<number> {
    const dayAgo = sql<Date>`now() - interval '1 day'`
    const result = await this.db
      .deleteFrom('account_sessions')
      .where((eb) => eb.or([eb('expires_at', '<', dayAgo), eb('revoked_at', '<', dayAgo)]))
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}
