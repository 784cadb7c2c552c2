import { sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable, type Updateable } from 'kysely'
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

  /** Changes what is given (the exposure as JSON text; null: back to the defaults); null when there is no such GPT (or it is hidden). */
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

  /** How much the GPT holds, one count per kind, in one round trip (each counts by the table's gpt_id index). */
  async counts(gptId: string): Promise<GptCounts> {
    const count = (table: 'objects' | 'memories' | 'chat_sessions' | 'agents') =>
      this.db.selectFrom(table).select(sql<number>`count(*)::int`.as('n')).where('gpt_id', '=', gptId)
    const row = await this.db
      .selectNoFrom((eb) => [
        eb.selectFrom(count('objects').as('c')).select('c.n').as('documents'),
        eb.selectFrom(count('memories').as('c')).select('c.n').as('memories'),
        eb.selectFrom(count('chat_sessions').as('c')).select('c.n').as('sessions'),
        eb.selectFrom(count('agents').as('c')).select('c.n').as('agents'),
        eb
          .selectFrom('mail_recipients')
          .select(sql<number>`count(*)::int`.as('n'))
          .where('gpt_id', '=', gptId)
          .where('read_at', 'is', null)
          .as('unread_mail'),
      ])
      .executeTakeFirstOrThrow()
    return {
      documents: Number(row.documents ?? 0),
      memories: Number(row.memories ?? 0),
      sessions: Number(row.sessions ?? 0),
      agents: Number(row.agents ?? 0),
      unread_mail: Number(row.unread_mail ?? 0),
    }
  }
}

export interface GptCounts {
  documents: number
  memories: number
  sessions: number
  agents: number
  unread_mail: number
}
