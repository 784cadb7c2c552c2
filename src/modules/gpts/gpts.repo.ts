import { sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable } from 'kysely'
import type { PageRequest } from '../../platform/http/pagination.js'
import type { GptsTable, Tables } from '../../platform/db/tables.js'

export type GptRow = Selectable<GptsTable>

/**
 * A GPT whose owner account is deleted is hidden from everyone until it is restored or purged. The
 * rule is written once, here: query builders take `ownerNotDeleted`, raw SQL takes `gptHidden`.
 */
const ownerDeleted = (ownerAccountId: Expression<string | null>) =>
  sql<boolean>`exists (select 1 from accounts deleted_owner where deleted_owner.id = ${ownerAccountId} and deleted_owner.deleted_at is not null)`

export const ownerNotDeleted = (eb: ExpressionBuilder<Tables, 'gpts'>) => sql<boolean>`not ${ownerDeleted(eb.ref('gpts.owner_account_id'))}`

/** Whether the GPT that `gptId` (a column of a row that points at a GPT) names is hidden. */
export const gptHidden = (gptId: Expression<string>) =>
  sql<boolean>`exists (select 1 from gpts hidden_gpt where hidden_gpt.id = ${gptId} and ${ownerDeleted(sql.ref('hidden_gpt.owner_account_id'))})`

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
