import { sql, type Kysely, type Selectable } from 'kysely'
import type { AgentsTable, JsonObject, Tables } from '../../platform/db/tables.js'
import type { PageRequest } from '../../platform/http/pagination.js'

export type AgentRow = Selectable<AgentsTable>

const UNIQUE_VIOLATION = '23505'

export class AgentsRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  /** Null when the name is taken in this GPT. */
  async insertAgent(agent: { gpt_id: string; id: string; name: string; address: string | null; port: number | null; metadata: JsonObject }): Promise<AgentRow | null> {
    return (
      (await this.db
        .insertInto('agents')
        .values({ ...agent, metadata: JSON.stringify(agent.metadata) })
        .onConflict((oc) => oc.columns(['gpt_id', 'name']).doNothing())
        .returningAll()
        .executeTakeFirst()) ?? null
    )
  }

  async findAgent(gptId: string, id: string): Promise<AgentRow | null> {
    return (await this.db.selectFrom('agents').selectAll().where('gpt_id', '=', gptId).where('id', '=', id).executeTakeFirst()) ?? null
  }

  /** The ids among `ids` that are agents of the GPT. */
  async existingAgentIds(gptId: string, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set()
    const rows = await this.db.selectFrom('agents').select('id').where('gpt_id', '=', gptId).where('id', 'in', ids).execute()
    return new Set(rows.map((row) => row.id))
  }

  /** 'taken' when the new name belongs to another agent of the GPT. */
  async updateAgent(
    gptId: string,
    id: string,
    change: { name?: string; address?: string | null; port?: number | null; metadata?: JsonObject },
  ): Promise<AgentRow | null | 'taken'> {
    const { metadata, ...rest } = change
    try {
      return (
        (await this.db
          .updateTable('agents')
          .set({
            ...rest,
            // Metadata merges by top-level key, like PATCH everywhere in this API.
            ...(metadata ? { metadata: sql`metadata || ${JSON.stringify(metadata)}::jsonb` } : {}),
            updated_at: sql`now()`,
          })
          .where('gpt_id', '=', gptId)
          .where('id', '=', id)
          .returningAll()
          .executeTakeFirst()) ?? null
      )
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) return 'taken'
      throw error
    }
  }

  async listAgents(gptId: string, page: PageRequest & { after: [Date, string] | null }): Promise<AgentRow[]> {
    const cmp = page.order === 'asc' ? '>' : '<'
    let query = this.db.selectFrom('agents').selectAll().where('gpt_id', '=', gptId)
    if (page.after) {
      const [createdAt, id] = page.after
      query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), cmp, eb.tuple(createdAt, id)))
    }
    return query.orderBy('created_at', page.order).orderBy('id', page.order).limit(page.limit + 1).execute()
  }

  async deleteAgent(gptId: string, id: string): Promise<boolean> {
    return (await this.db.deleteFrom('agents').where('gpt_id', '=', gptId).where('id', '=', id).executeTakeFirst()).numDeletedRows > 0n
  }
}
