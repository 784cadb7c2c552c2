import type { Kysely, Selectable } from 'kysely'
import type { PageRequest } from '../../platform/http/pagination.js'
import type { GptsTable, Tables } from '../../platform/db/tables.js'

export type GptRow = Selectable<GptsTable>

export class GptsRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  /** Inserts unless the id is taken; returns null when it was. */
  async insertGpt(gpt: { id: string; name: string; description: string | null }): Promise<GptRow | null> {
    const row = await this.db
      .insertInto('gpts')
      .values(gpt)
      .onConflict((oc) => oc.column('id').doNothing())
      .returningAll()
      .executeTakeFirst()
    return row ?? null
  }

  async findGpt(gptId: string): Promise<GptRow | null> {
    return (await this.db.selectFrom('gpts').selectAll().where('id', '=', gptId).executeTakeFirst()) ?? null
  }

  async listGpts(page: PageRequest & { after: [Date, string] | null }): Promise<GptRow[]> {
    const cmp = page.order === 'asc' ? '>' : '<'
    let query = this.db.selectFrom('gpts').selectAll()
    if (page.after) {
      const [createdAt, id] = page.after
      query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), cmp, eb.tuple(createdAt, id)))
    }
    return query.orderBy('created_at', page.order).orderBy('id', page.order).limit(page.limit + 1).execute()
  }

  /** Deletes the GPT; every table owned by a GPT cascades from it. */
  async deleteGpt(gptId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('gpts').where('id', '=', gptId).executeTakeFirst()
    return result.numDeletedRows > 0n
  }
}
