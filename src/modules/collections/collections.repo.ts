import { sql, type Kysely, type Selectable } from 'kysely'
import type { CollectionsTable, JsonObject, Tables } from '../../platform/db/tables.js'
import type { PageRequest } from '../../platform/http/pagination.js'

export type CollectionRow = Selectable<CollectionsTable>

export class CollectionsRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  /** Creates the collection, or updates its schema when `schema` is given; tells which happened. */
  async upsertCollection(
    gptId: string,
    name: string,
    schema: JsonObject | null | undefined,
  ): Promise<{ row: CollectionRow; created: boolean }> {
    const json = schema === undefined || schema === null ? null : JSON.stringify(schema)
    const row = await this.db
      .insertInto('collections')
      .values({ gpt_id: gptId, name, schema: json })
      .onConflict((oc) =>
        oc.columns(['gpt_id', 'name']).doUpdateSet(
          schema === undefined ? { name: (eb) => eb.ref('excluded.name') } : { schema: json, updated_at: sql`now()` },
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
    return (
      (await this.db
        .selectFrom('collections')
        .selectAll()
        .where('gpt_id', '=', gptId)
        .where('name', '=', name)
        .executeTakeFirst()) ?? null
    )
  }

  async updateSchema(gptId: string, name: string, schema: JsonObject | null): Promise<CollectionRow | null> {
    return (
      (await this.db
        .updateTable('collections')
        .set({ schema: schema === null ? null : JSON.stringify(schema), updated_at: sql`now()` })
        .where('gpt_id', '=', gptId)
        .where('name', '=', name)
        .returningAll()
        .executeTakeFirst()) ?? null
    )
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
