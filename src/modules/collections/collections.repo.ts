import { sql, type Kysely, type Selectable } from 'kysely'
import type { CollectionsTable, JsonObject, Tables } from '../../platform/db/tables.js'
import { compiledOnce } from '../../platform/db/prepared.js'
import type { PageRequest } from '../../platform/http/pagination.js'

export type CollectionRow = Selectable<CollectionsTable>

/** Named, not `*`, in the prepared read: a column another release adds must not change its result. */
const COLLECTION_COLUMNS = ['gpt_id', 'name', 'schema', 'per_user', 'ttl_seconds', 'created_at', 'updated_at'] as const satisfies readonly (keyof CollectionsTable)[]

/** What a create or update sets; an absent field is left as it is (or its default on create). */
export interface CollectionChange {
  schema?: JsonObject | null
  per_user?: boolean
  ttl_seconds?: number | null
}

function columnsOf(change: CollectionChange) {
  return {
    ...(change.schema === undefined ? {} : { schema: change.schema === null ? null : JSON.stringify(change.schema) }),
    ...(change.per_user === undefined ? {} : { per_user: change.per_user }),
    ...(change.ttl_seconds === undefined ? {} : { ttl_seconds: change.ttl_seconds }),
  }
}

export class CollectionsRepository {
  private readonly findCollectionQuery: (db: Kysely<Tables>, parameters: readonly unknown[]) => Promise<CollectionRow[]>

  constructor(private readonly db: Kysely<Tables>) {
    // Every document request reads its collection first.
    this.findCollectionQuery = compiledOnce(db.selectFrom('collections').select(COLLECTION_COLUMNS).where('gpt_id', '=', '').where('name', '=', '').compile())
  }

  /** Creates the collection, or updates what is given of an existing one; tells which happened. */
  async upsertCollection(gptId: string, name: string, change: CollectionChange): Promise<{ row: CollectionRow; created: boolean }> {
    const changes = columnsOf(change)
    const row = await this.db
      .insertInto('collections')
      .values({ gpt_id: gptId, name, schema: null, per_user: false, ttl_seconds: null, ...changes })
      .onConflict((oc) =>
        oc.columns(['gpt_id', 'name']).doUpdateSet(
          Object.keys(changes).length === 0 ? { name: (eb) => eb.ref('excluded.name') } : { ...changes, updated_at: sql`now()` },
        ),
      )
      .returningAll()
      // xmax is 0 only for a freshly inserted row version.
      .returning(sql<boolean>`xmax = 0`.as('created'))
      .executeTakeFirstOrThrow()
    const { created, ...collection } = row
    return { row: collection, created }
  }

  async findCollection(gptId: string, name: string): Promise<CollectionRow | null> {
    return (await this.findCollectionQuery(this.db, [gptId, name]))[0] ?? null
  }

  async updateCollection(gptId: string, name: string, change: CollectionChange): Promise<CollectionRow | null> {
    return (
      (await this.db
        .updateTable('collections')
        .set({ ...columnsOf(change), updated_at: sql`now()` })
        .where('gpt_id', '=', gptId)
        .where('name', '=', name)
        .returningAll()
        .executeTakeFirst()) ?? null
    )
  }

  /** Every collection whose documents expire, across GPTs (for the purge job). */
  async withTtl(): Promise<Array<{ gpt_id: string; name: string; ttl_seconds: number }>> {
    const rows = await this.db.selectFrom('collections').select(['gpt_id', 'name', 'ttl_seconds']).where('ttl_seconds', 'is not', null).execute()
    return rows.map((row) => ({ gpt_id: row.gpt_id, name: row.name, ttl_seconds: row.ttl_seconds! }))
  }

  async listCollections(gptId: string, page: PageRequest & { after: [Date, string] | null }): Promise<CollectionRow[]> {
    const cmp = page.order === 'asc' ? '>' : '<'
    let query = this.db.selectFrom('collections').selectAll().where('gpt_id', '=', gptId)
    if (page.after) {
      const [createdAt, name] = page.after
      query = query.where((eb) => eb(eb.refTuple('created_at', 'name'), cmp, eb.tuple(createdAt, name)))
    }
    return query.orderBy('created_at', page.order).orderBy('name', page.order).limit(page.limit + 1).execute()
  }

  /** Deletes the collection; its documents cascade. */
  async deleteCollection(gptId: string, name: string): Promise<boolean> {
    const result = await this.db.deleteFrom('collections').where('gpt_id', '=', gptId).where('name', '=', name).executeTakeFirst()
    return result.numDeletedRows > 0n
  }
}
