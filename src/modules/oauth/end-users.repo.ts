import { sql, type Kysely, type Selectable } from 'kysely'
import type { OAuthEndUsersTable, Tables } from '../../platform/db/tables.js'

export type EndUserRow = Selectable<OAuthEndUsersTable>

/** The end users of GPTs: people who signed in on a consent page. Emails are unique per GPT, regardless of case. */
export class EndUsersRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  /** Null when the email is taken in this GPT. */
  async insertEndUser(user: { gpt_id: string; id: string; email: string; password_hash: string }): Promise<EndUserRow | null> {
    const row = await this.db
      .insertInto('oauth_end_users')
      .values(user)
      .onConflict((oc) => oc.expression(sql`gpt_id, lower(email)`).doNothing())
      .returningAll()
      .executeTakeFirst()
    return row ?? null
  }

  async findByEmail(gptId: string, email: string): Promise<EndUserRow | null> {
    const row = await this.db
      .selectFrom('oauth_end_users')
      .selectAll()
      .where('gpt_id', '=', gptId)
      .where(sql`lower(email)`, '=', email.toLowerCase())
      .executeTakeFirst()
    return row ?? null
  }
}
