import { sql, type Insertable, type Kysely, type Selectable } from 'kysely'
import type { OAuthAppsTable, Tables } from '../../platform/db/tables.js'
import type { PageRequest } from '../../platform/http/pagination.js'
import { ownerNotDeleted } from '../gpts/gpts.repo.js'

export type AppRow = Selectable<OAuthAppsTable>

/** OAuth apps (clients) of GPTs. */
export class AppsRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  async insertApp(app: Insertable<OAuthAppsTable>): Promise<AppRow> {
    return this.db.insertInto('oauth_apps').values(app).returningAll().executeTakeFirstOrThrow()
  }

  /** The app of a client_id, unless its GPT is hidden (owner account deleted). */
  async findByClientId(clientId: string): Promise<AppRow | null> {
    const row = await this.db
      .selectFrom('oauth_apps as p')
      .innerJoin('gpts', 'gpts.id', 'p.gpt_id')
      .selectAll('p')
      .where('p.client_id', '=', clientId)
      .where(ownerNotDeleted)
      .executeTakeFirst()
    return row ?? null
  }

  async findById(appId: string): Promise<AppRow | null> {
    return (await this.db.selectFrom('oauth_apps').selectAll().where('id', '=', appId).executeTakeFirst()) ?? null
  }

  async findApp(appId: string, gptId: string | null, ownerAccountId: string | null): Promise<AppRow | null> {
    let query = this.db.selectFrom('oauth_apps').selectAll().where('id', '=', appId)
    if (gptId !== null) query = query.where('gpt_id', '=', gptId)
    if (ownerAccountId !== null) {
      query = query.where('gpt_id', 'in', (eb) => eb.selectFrom('gpts').select('id').where('owner_account_id', '=', ownerAccountId).where(ownerNotDeleted))
    }
    return (await query.executeTakeFirst()) ?? null
  }

  async listApps(gptId: string, page: PageRequest & { after: [Date, string] | null }): Promise<AppRow[]> {
    const cmp = page.order === 'asc' ? '>' : '<'
    let query = this.db.selectFrom('oauth_apps').selectAll().where('gpt_id', '=', gptId)
    if (page.after) {
      const [createdAt, id] = page.after
      query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), cmp, eb.tuple(createdAt, id)))
    }
    return query.orderBy('created_at', page.order).orderBy('id', page.order).limit(page.limit + 1).execute()
  }

  async hasApp(gptId: string): Promise<boolean> {
    return (await this.db.selectFrom('oauth_apps').select('id').where('gpt_id', '=', gptId).limit(1).executeTakeFirst()) !== undefined
  }

  async updateApp(appId: string, change: Partial<Pick<AppRow, 'name' | 'redirect_uris' | 'scopes' | 'rate_limit_per_minute'>>): Promise<AppRow> {
    return this.db.updateTable('oauth_apps').set(change).where('id', '=', appId).returningAll().executeTakeFirstOrThrow()
  }

  async deleteApp(appId: string): Promise<void> {
    await this.db.deleteFrom('oauth_apps').where('id', '=', appId).execute()
  }

  async touchApp(appId: string): Promise<void> {
    await this.db.updateTable('oauth_apps').set({ last_used_at: sql`now()` }).where('id', '=', appId).execute()
  }
}
