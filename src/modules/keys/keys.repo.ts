import { sql, type Insertable, type Kysely, type Selectable } from 'kysely'
import type { ApiKeysTable, Tables } from '../../platform/db/tables.js'
import type { PageRequest } from '../../platform/http/pagination.js'
import { ownerNotDeleted } from '../gpts/gpts.repo.js'

export type KeyRow = Selectable<ApiKeysTable>
/** A key as authentication sees it: also whether its GPT is hidden (its owner account is deleted). */
export type AuthKeyRow = KeyRow & { gpt_hidden: boolean }

export class KeysRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  async insertKey(key: Insertable<ApiKeysTable>): Promise<KeyRow> {
    return this.db.insertInto('api_keys').values(key).returningAll().executeTakeFirstOrThrow()
  }

  /** The per-request lookup: one primary-key read, with the state of the GPT's owner. */
  async findKey(keyId: string): Promise<AuthKeyRow | null> {
    const row = await this.db
      .selectFrom('api_keys as k')
      .innerJoin('gpts as g', 'g.id', 'k.gpt_id')
      .leftJoin('accounts as a', 'a.id', 'g.owner_account_id')
      .selectAll('k')
      .select(sql<boolean>`a.deleted_at is not null`.as('gpt_hidden'))
      .where('k.id', '=', keyId)
      .executeTakeFirst()
    return row ?? null
  }

  async listKeys(gptId: string, page: PageRequest & { after: [Date, string] | null }): Promise<KeyRow[]> {
    const cmp = page.order === 'asc' ? '>' : '<'
    let query = this.db.selectFrom('api_keys').selectAll().where('gpt_id', '=', gptId)
    if (page.after) {
      const [createdAt, id] = page.after
      query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), cmp, eb.tuple(createdAt, id)))
    }
    return query.orderBy('created_at', page.order).orderBy('id', page.order).limit(page.limit + 1).execute()
  }

  /**
   * Revokes a key (of one GPT when `gptId` is given, of a GPT the account owns when `ownerAccountId`
   * is); an already revoked key keeps its first revocation time.
   */
  async revokeKey(keyId: string, gptId: string | null, ownerAccountId: string | null = null): Promise<KeyRow | null> {
    let query = this.db
      .updateTable('api_keys')
      .set({ revoked_at: sql`coalesce(revoked_at, now())` })
      .where('id', '=', keyId)
    if (gptId !== null) query = query.where('gpt_id', '=', gptId)
    if (ownerAccountId !== null) {
      query = query.where('gpt_id', 'in', (eb) => eb.selectFrom('gpts').select('id').where('owner_account_id', '=', ownerAccountId).where(ownerNotDeleted))
    }
    return (await query.returningAll().executeTakeFirst()) ?? null
  }

  async touchKey(keyId: string): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: sql`now()` }).where('id', '=', keyId).execute()
  }
}
