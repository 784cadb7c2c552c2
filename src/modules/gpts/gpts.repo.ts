import { sql, type ExpressionBuilder, type Kysely, type Selectable, type Updateable } from 'kysely'
import type { PageRequest } from '../../platform/http/pagination.js'
import type { GptsTable, Tables } from '../../platform/db/tables.js'

export type GptRow = Selectable<GptsTable>

/** A GPT whose owner account is deleted is hidden from everyone until it is restored or purged. */
export const ownerNotDeleted = (eb: ExpressionBuilder<Tables, 'gpts'>) =>
  eb.not(
    eb.exists(
      eb.selectFrom('accounts').select(sql`1`.as('one')).whereRef('accounts.id', '=', 'gpts.owner_account_id').where('accounts.deleted_at', 'is not', null),
    ),
  )

export class GptsRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  /** Inserts unless the id is taken (also by a hidden GPT); returns null when it was. */
  async insertGpt(gpt: { id: string; name: string; description: string | null; owner_account_id: string | null }): Promise<GptRow | null> {
    const row = await this.db
      .insertInto('gpts')
      .values(gpt)
      .onConflict((oc) => oc.column('id').doNothing())
      .returningAll()
      .executeTakeFirst()
    return row ?? null
  }

  async findGpt(gptId: string): Promise<GptRow | null> {
    return (await this.db.selectFrom('gpts').selectAll().where('id', '=', gptId).where(ownerNotDeleted).executeTakeFirst()) ?? null
  }

  /** Every GPT, or (with an owner) that account's GPTs. */
  async listGpts(page: PageRequest & { after: [Date, string] | null }, ownerAccountId: string | null): Promise<GptRow[]> {
    const cmp = page.order === 'asc' ? '>' : '<'
    let query = this.db.selectFrom('gpts').selectAll().where(ownerNotDeleted)
    if (ownerAccountId !== null) query = query.where('owner_account_id', '=', ownerAccountId)
    if (page.after) {
      const [createdAt, id] = page.after
      query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), cmp, eb.tuple(createdAt, id)))
    }
    return query.orderBy('created_at', page.order).orderBy('id', page.order).limit(page.limit + 1).execute()
  }

  /** Changes what is given; null when there is no such GPT (or it is hidden). */
  async updateGpt(gptId: string, change: Updateable<GptsTable>): Promise<GptRow | null> {
    const row = await this.db
      .updateTable('gpts')
      .set({ ...change, updated_at: sql`now()` })
      .where('id', '=', gptId)
      .where(ownerNotDeleted)
      .returningAll()
      .executeTakeFirst()
    return row ?? null
  }

  /** The GPTs that keep sessions or mail for a limited time (for the purge jobs). */
  async withRetention(kind: 'session_retention_days' | 'mail_retention_days'): Promise<Array<{ id: string; days: number }>> {
    const rows = await this.db.selectFrom('gpts').select(['id', kind]).where(kind, 'is not', null).orderBy('id').execute()
    return rows.map((row) => ({ id: row.id, days: row[kind]! }))
  }

  /** The ids of an account's GPTs, hidden ones included. */
  async ownedGptIds(accountId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('gpts').select('id').where('owner_account_id', '=', accountId).execute()
    return rows.map((row) => row.id)
  }

  /** Deletes the GPT; every table owned by a GPT cascades from it. */
  async deleteGpt(gptId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('gpts').where('id', '=', gptId).where(ownerNotDeleted).executeTakeFirst()
    return result.numDeletedRows > 0n
  }
}
