import { sql, type Kysely } from 'kysely'
import type { Tables } from '../../platform/db/tables.js'

export interface ConsoleSessionRow {
  kind: 'account' | 'operator'
  account_id: string | null
  account_session_id: string | null
  csrf_token: string
  expires_at: Date
}

/** Console sign-ins, found by the SHA-256 of their cookie token. */
export class ConsoleSessionsRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  async insert(tokenHash: Buffer, row: ConsoleSessionRow): Promise<void> {
    await this.db.insertInto('console_sessions').values({ token_hash: tokenHash, ...row }).execute()
  }

  /** The session of a token, unless it has expired. */
  async findLive(tokenHash: Buffer): Promise<ConsoleSessionRow | null> {
    const row = await this.db
      .selectFrom('console_sessions')
      .select(['kind', 'account_id', 'account_session_id', 'csrf_token', 'expires_at'])
      .where('token_hash', '=', tokenHash)
      .where('expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst()
    return row ?? null
  }

  async delete(tokenHash: Buffer): Promise<ConsoleSessionRow | null> {
    const row = await this.db
      .deleteFrom('console_sessions')
      .where('token_hash', '=', tokenHash)
      .returning(['kind', 'account_id', 'account_session_id', 'csrf_token', 'expires_at'])
      .executeTakeFirst()
    return row ?? null
  }

  /** Expired sessions are never accepted; this only keeps the table small. */
  async deleteExpired(): Promise<number> {
    const result = await this.db.deleteFrom('console_sessions').where('expires_at', '<=', sql<Date>`now()`).executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}
