import { sql, type Insertable, type Kysely, type Selectable } from 'kysely'
import type { ApiKeysTable, Tables } from '../../platform/db/tables.js'
import type { PageRequest } from '../../platform/http/pagination.js'

export type KeyRow = Selectable<ApiKeysTable>

export class KeysRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  async insertKey(key: Insertable<ApiKeysTable>): Promise<KeyRow> {
    return this.db.insertInto('api_keys').values(key).returningAll().executeTakeFirstOrThrow()
  }

  /** The per-request lookup: one primary-key read. */
  async findKey(keyId: string): Promise<KeyRow | null> {
    return (await this.db.selectFrom('api_keys').selectAll().where('id', '=', keyId).executeTakeFirst()) ?? null
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

  /** Revokes a key (of one GPT when `gptId` is given); an already revoked key keeps its first revocation time. */
  async revokeKey(keyId: string, gptId: string | null): Promise<KeyRow | null> {
    let query = this.db
      .updateTable('api_keys')
      .set({ revoked_at: sql`coalesce(revoked_at, now())` })
      .where('id', '=', keyId)
    if (gptId !== null) query = query.where('gpt_id', '=', gptId)
    return (await query.returningAll().executeTakeFirst()) ?? null
  }

  async touchKey(keyId: string): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: sql`now()` }).where('id', '=', keyId).execute()
  }
}
